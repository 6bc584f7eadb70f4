// The resize stream: client-go writes one JSON object per size change, `{"Width":80,"Height":24}`
// (Go's encoder, a newline after each), and the objects may arrive split or run together. The
// sizes queue up for the backend; one that does not keep up sees only the latest size.
import type { Readable } from 'node:stream';
import type { TerminalSize } from './backend.ts';

/** Splits a byte stream of concatenated JSON objects into objects. */
export class JsonObjectSplitter {
  private text = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  /** Complete objects so far; throws on text that is not a JSON object stream. */
  push(chunk: string): unknown[] {
    this.text += chunk;
    const out: unknown[] = [];
    for (let i = this.scanned; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') {
        this.inString = true;
      } else if (c === '{') {
        if (this.depth++ === 0) this.start = i;
      } else if (c === '}') {
        if (--this.depth < 0) throw new SyntaxError('resize: } without {');
        if (this.depth === 0) out.push(JSON.parse(this.text.slice(this.start, i + 1)));
      } else if (this.depth === 0 && !/\s/.test(c)) {
        throw new SyntaxError(`resize: ${JSON.stringify(c)} outside an object`);
      }
    }
    if (this.depth === 0) {
      this.text = '';
      this.scanned = 0;
    } else {
      this.text = this.text.slice(this.start);
      this.scanned = this.text.length;
      this.start = 0;
    }
    if (this.text.length > 64 * 1024) throw new SyntaxError('resize: an object larger than 64 KiB');
    return out;
  }
}

/** Go decodes {"Width","Height"} into uint16 fields, matching names in any case. */
export function toTerminalSize(value: unknown): TerminalSize | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const size: Partial<TerminalSize> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    if (key !== 'width' && key !== 'height') continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) return undefined;
    size[key] = v;
  }
  return { width: size.width ?? 0, height: size.height ?? 0 };
}

/** Reads sizes off `source` (always, so it never stalls the connection) for one consumer. */
export class TerminalSizeQueue implements AsyncIterable<TerminalSize> {
  private latest: TerminalSize | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(source: Readable) {
    const splitter = new JsonObjectSplitter();
    source.on('data', (chunk: Buffer) => {
      if (this.ended) return;
      let objects: unknown[];
      try {
        objects = splitter.push(chunk.toString('utf8'));
      } catch {
        // The kubelet stops reading sizes at the first undecodable one; so does berthd.
        return this.end();
      }
      for (const o of objects) {
        const size = toTerminalSize(o);
        if (!size) return this.end();
        this.latest = size;
      }
      this.notify();
    });
    source.on('end', () => this.end());
    source.on('close', () => this.end());
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TerminalSize> {
    for (;;) {
      if (this.latest) {
        const s = this.latest;
        this.latest = undefined;
        yield s;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
