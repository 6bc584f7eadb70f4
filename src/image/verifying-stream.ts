// A pass-through stream that hashes what flows through it and fails at the end when the digest or
// size is wrong. The last chunk is held back until the check passes, so a consumer never receives
// a complete stream of corrupt content: it gets an error instead of the final bytes.
import { Transform, type TransformCallback } from 'node:stream';
import { BerthError } from '../oci/errors.ts';
import { Digester, type Digest } from '../oci/digest.ts';

export class VerifyingStream extends Transform {
  private readonly digester = new Digester();
  private held: Buffer | undefined;

  constructor(
    private readonly what: string,
    private readonly expected: { digest: Digest; size?: number },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.digester.update(chunk);
    if (this.expected.size !== undefined && this.digester.size > this.expected.size) {
      done(new BerthError('data-loss', `${this.what}: more than the expected ${this.expected.size} bytes`, { field: this.expected.digest }));
      return;
    }
    const previous = this.held;
    this.held = chunk;
    if (previous) this.push(previous);
    done();
  }

  override _flush(done: TransformCallback): void {
    const size = this.digester.size;
    if (this.expected.size !== undefined && size !== this.expected.size) {
      done(new BerthError('data-loss', `${this.what}: truncated: got ${size} of ${this.expected.size} bytes`, { field: this.expected.digest }));
      return;
    }
    const actual = this.digester.digest();
    if (actual !== this.expected.digest) {
      done(new BerthError('data-loss', `${this.what}: digest mismatch: expected ${this.expected.digest}, got ${actual}`, { field: this.expected.digest }));
      return;
    }
    if (this.held) this.push(this.held);
    done();
  }
}
