// List responses whose entries are protobuf-encoded once and reused while they are unchanged: a
// kubelet relists pods and containers every second, and encoding 200 entries through protobufjs
// each time costs more than everything else in the call. A repeated message field is the
// concatenation of its entries, and a response holding only `field: [entry]` encodes to exactly
// that entry's bytes, so the list is the concatenation of cached one-entry encodings.

export interface Entry {
  /** What the entry is made from (a record kept in memory): the cache is held as long as it is. */
  source: object;
  /**
   * What of the message can change while `source` is the same object (a pod's or container's
   * state): a different version encodes the entry again. The rest must be fixed for the source.
   */
  version: string;
  message: object;
}

/** What a list handler answers with instead of a plain `{ [field]: messages }`. */
export class EncodedEntries {
  constructor(
    readonly field: string,
    readonly entries: readonly Entry[],
  ) {}
}

/**
 * A response serializer that encodes `EncodedEntries` from its cache and anything else with
 * `encode`. (Keying on the entry's JSON instead would cost as much as half the encoding.)
 */
export function cachingSerializer(encode: (value: object) => Buffer): (value: object) => Buffer {
  const cache = new WeakMap<object, { version: string; bytes: Buffer }>();
  return (value) => {
    if (!(value instanceof EncodedEntries)) return encode(value);
    const parts = value.entries.map(({ source, version, message }) => {
      const hit = cache.get(source);
      if (hit?.version === version) return hit.bytes;
      const bytes = encode({ [value.field]: [message] });
      cache.set(source, { version, bytes });
      return bytes;
    });
    return Buffer.concat(parts);
  };
}
