// The entry of an unpack worker thread (started by unpack-pool.ts): runs unpackLayer for each job
// berth posts, several at a time, on this thread's own event loop, so that layers are untarred and
// written on more than one core while the main thread downloads.
import { parentPort } from 'node:worker_threads';
import { BerthError } from '../oci/errors.ts';
import { unpackLayer } from './unpack-layer.ts';
import { serializeError, type FromWorker, type ToWorker, type UnpackJobSpec } from './unpack-messages.ts';

/** A job's compressed bytes as they arrive, as an async iterable for the decompressor. */
class Inbox implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(err: Error): void {
    this.failure = err;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.failure) throw this.failure;
      const next = this.chunks.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

const port = parentPort;
if (!port) throw new Error('unpack-worker.ts runs as a worker thread of berth');

const inboxes = new Map<number, Inbox>();
const post = (m: FromWorker): void => port.postMessage(m);

async function run(id: number, spec: UnpackJobSpec, inbox: Inbox): Promise<void> {
  let written = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of inbox) {
      post({ t: 'ack', id, consumed: chunk.length, written });
      yield chunk;
    }
  }
  try {
    const result = await unpackLayer(counted(), { ...spec, onBytes: (n) => (written = n) });
    post({ t: 'done', id, result });
  } catch (err) {
    post({ t: 'error', id, error: serializeError(err) });
  } finally {
    inboxes.delete(id);
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'start': {
      const inbox = new Inbox();
      inboxes.set(m.id, inbox);
      void run(m.id, m.spec, inbox);
      return;
    }
    case 'chunk':
      inboxes.get(m.id)?.push(m.data);
      return;
    case 'end':
      inboxes.get(m.id)?.end();
      return;
    case 'abort':
      inboxes.get(m.id)?.fail(new BerthError('internal', 'unpack cancelled', { op: 'unpack' }));
      return;
  }
});
