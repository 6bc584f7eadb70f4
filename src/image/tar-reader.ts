// Tar entries as an async iteration, for callers that read an archive entry by entry and may
// stop early (archive import): a pull adapter over the push parser in tar-parser.ts. Memory stays
// bounded by one input chunk's worth of parsed events.
import type { TarHeader } from './tar-format.ts';
import { TarParser, DEFAULT_TAR_LIMITS, type TarLimits } from './tar-parser.ts';

export { DEFAULT_TAR_LIMITS, type TarLimits } from './tar-parser.ts';

export interface TarEntry {
  header: TarHeader;
  /** The entry's data; must be consumed or `skip`ped before asking for the next entry. */
  body(): AsyncGenerator<Buffer>;
}

type TarEvent = { header: TarHeader } | { data: Buffer } | { end: true } | { error: unknown };

/** Reads entries one by one. Throws invalid-argument for malformed input, data-loss for truncation. */
export async function* readTar(source: AsyncIterable<Uint8Array>, limits: TarLimits = DEFAULT_TAR_LIMITS): AsyncGenerator<TarEntry> {
  let events: TarEvent[] = [];
  let next = 0;
  const parser = new TarParser(
    {
      entry: (header) => events.push({ header }),
      // The parser's views are only valid during the call; the events outlive it.
      data: (chunk) => events.push({ data: Buffer.from(chunk) }),
      end: () => events.push({ end: true }),
    },
    limits,
  );
  const input = source[Symbol.asyncIterator]();
  let inputDone = false;
  // Events are delivered in order, including those before an error in the same chunk.
  const event = async (): Promise<TarEvent | undefined> => {
    while (next === events.length) {
      if (inputDone || parser.done) return undefined;
      events = [];
      next = 0;
      try {
        const r = await input.next();
        if (r.done) {
          inputDone = true;
          parser.end();
        } else {
          parser.push(Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
        }
      } catch (error) {
        inputDone = true;
        events.push({ error });
      }
    }
    const e = events[next++]!;
    if ('error' in e) throw e.error;
    return e;
  };

  try {
    for (;;) {
      const e = await event();
      if (e === undefined) return;
      if (!('header' in e)) continue; // data of an entry whose body the caller skipped
      let consumed = false;
      const body = async function* (): AsyncGenerator<Buffer> {
        if (consumed) return;
        consumed = true;
        for (;;) {
          const d = await event();
          if (d === undefined || 'end' in d) return;
          if ('data' in d) yield d.data;
        }
      };
      yield { header: e.header, body };
      if (!consumed) for await (const _ of body()) void _;
    }
  } finally {
    if (!inputDone) await input.return?.();
  }
}
