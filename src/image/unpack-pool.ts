// Unpacks layers on worker threads (unpack-worker.ts). Untarring and the many small file writes
// of a layer are synchronous work (layer-applier.ts says why); on one thread they used one core
// while the other idled. Here each worker takes whole layers, several at a time, while the main
// thread downloads, hashes and stores the compressed bytes and feeds them to the worker with a
// bounded window. Where no worker can be started (a build without the worker script,
// BERTH_UNPACK_THREADS=0), layers unpack on the calling thread with the same code.
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BerthError, invalid } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import { unpackLayer, type UnpackOptions, type UnpackResult } from './unpack-layer.ts';
import { deserializeError, type FromWorker, type ToWorker, type UnpackJobSpec } from './unpack-messages.ts';

export interface LayerUnpacker {
  unpack(source: AsyncIterable<Uint8Array>, opts: UnpackOptions): Promise<UnpackResult>;
  /** Stops the workers; call once every unpack has settled. */
  close(): Promise<void>;
}

/** Compressed bytes posted to a worker and not yet taken by its decompressor, per layer. */
const WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * An unpacker for up to `layers` concurrent layers: min(layers, cores) threads, or the
 * BERTH_UNPACK_THREADS environment variable (0 = unpack on the calling thread).
 */
export function createLayerUnpacker(layers: number, env: NodeJS.ProcessEnv = process.env): LayerUnpacker {
  const threads = unpackThreads(layers, env);
  const script = threads > 0 ? workerScript() : undefined;
  if (!script) return { unpack: unpackLayer, close: async () => undefined };
  return new WorkerPool(script, threads);
}

function unpackThreads(layers: number, env: NodeJS.ProcessEnv): number {
  const raw = env.BERTH_UNPACK_THREADS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 64) throw invalid(`BERTH_UNPACK_THREADS=${quote(raw)} is not an integer from 0 to 64`, { field: 'BERTH_UNPACK_THREADS' });
    return n;
  }
  return Math.max(0, Math.min(layers, availableParallelism()));
}

/** The worker's entry next to this module: the TypeScript source, or the bundle's .mjs in dist/. */
function workerScript(): URL | undefined {
  const here = import.meta.url as string | undefined;
  if (!here) return undefined;
  const url = new URL(here.endsWith('.ts') ? './unpack-worker.ts' : './unpack-worker.mjs', here);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * Running from the TypeScript sources (tests, development): a worker does not inherit the
 * parent's `--import tsx` hooks, so it registers tsx itself before loading the worker module.
 */
function sourceWorker(script: URL): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script.href)}); });`;
  return new Worker(code, { eval: true });
}

interface Job {
  id: number;
  inflight: number;
  settled: boolean;
  onBytes?: (n: number) => void;
  /** Resolved when the window has room again or the job settled. */
  room?: () => void;
  resolve: (r: UnpackResult) => void;
  reject: (e: Error) => void;
}

class PoolWorker {
  readonly jobs = new Map<number, Job>();
  private dead: Error | undefined;
  private readonly worker: Worker;

  constructor(script: URL) {
    this.worker = script.pathname.endsWith('.ts') ? sourceWorker(script) : new Worker(script);
    this.worker.on('message', (m: FromWorker) => this.receive(m));
    this.worker.on('error', (err) => this.stop(err));
    this.worker.on('exit', (code) => this.stop(new Error(`exited with code ${code}`)));
  }

  private receive(m: FromWorker): void {
    const job = this.jobs.get(m.id);
    if (!job) return;
    switch (m.t) {
      case 'ack':
        job.inflight -= m.consumed;
        job.onBytes?.(m.written);
        if (job.inflight <= WINDOW_BYTES) this.wake(job);
        return;
      case 'done':
        this.settle(job);
        job.resolve(m.result);
        return;
      case 'error':
        this.settle(job);
        job.reject(deserializeError(m.error));
        return;
    }
  }

  private settle(job: Job): void {
    job.settled = true;
    this.jobs.delete(job.id);
    this.wake(job);
  }

  private wake(job: Job): void {
    const r = job.room;
    job.room = undefined;
    r?.();
  }

  private stop(err: Error): void {
    this.dead ??= err;
    for (const job of [...this.jobs.values()]) {
      this.settle(job);
      job.reject(new BerthError('internal', `unpack worker stopped: ${err.message}`, { op: 'unpack' }));
    }
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  start(id: number, spec: UnpackJobSpec, onBytes?: (n: number) => void): { job: Job; result: Promise<UnpackResult> } {
    let job!: Job;
    const result = new Promise<UnpackResult>((resolve, reject) => {
      job = { id, inflight: 0, settled: false, onBytes, resolve, reject };
    });
    // The caller awaits `result` only after feeding the source; a failure before that is not unhandled.
    result.catch(() => undefined);
    if (this.dead) {
      job.settled = true;
      job.reject(new BerthError('internal', `unpack worker stopped: ${this.dead.message}`, { op: 'unpack' }));
      return { job, result };
    }
    this.jobs.set(id, job);
    this.post({ t: 'start', id, spec });
    return { job, result };
  }

  /** Posts a copy of `chunk` (the caller's buffer may be pooled or still in use); waits while the window is full. */
  async send(job: Job, chunk: Uint8Array): Promise<void> {
    if (job.settled) return;
    const data = new Uint8Array(chunk);
    job.inflight += data.length;
    this.worker.postMessage({ t: 'chunk', id: job.id, data } satisfies ToWorker, [data.buffer]);
    if (job.inflight > WINDOW_BYTES) await new Promise<void>((r) => (job.room = r));
  }

  post(m: ToWorker): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

class WorkerPool implements LayerUnpacker {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;

  constructor(
    private readonly script: URL,
    private readonly size: number,
  ) {}

  /** The live worker with the fewest jobs; a new one while the pool is not full and all are busy. */
  private pick(): PoolWorker {
    const live = this.workers.filter((w) => w.alive);
    const idle = live.find((w) => w.jobs.size === 0);
    if (idle) return idle;
    if (live.length < this.size) {
      const w = new PoolWorker(this.script);
      this.workers.push(w);
      return w;
    }
    return live.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  }

  async unpack(source: AsyncIterable<Uint8Array>, opts: UnpackOptions): Promise<UnpackResult> {
    const { onBytes, ...spec } = opts;
    const worker = this.pick();
    const { job, result } = worker.start(this.nextId++, spec, onBytes);
    try {
      for await (const chunk of source) {
        if (job.settled) break; // the worker failed (a bad entry): stop reading
        await worker.send(job, chunk);
      }
      worker.post({ t: 'end', id: job.id });
    } catch (err) {
      // The source failed: the worker must stop writing before anyone removes its directory.
      worker.post({ t: 'abort', id: job.id });
      await result.catch(() => undefined);
      throw err;
    }
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
