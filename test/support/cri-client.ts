// A CRI client for tests: both runtime.v1 services over a unix socket with grpc-js, calls as
// promises (a failed call rejects with the grpc ServiceError: `.code`, `.details`), plus raw calls
// that send any bytes as the request message.
import * as grpc from '@grpc/grpc-js';
import { loadCri } from '../../src/cri/proto-load.ts';

export type CriService = 'RuntimeService' | 'ImageService';

const definitions = loadCri();

export class CriClient {
  private readonly clients: Record<CriService, grpc.Client>;
  private readonly raw: grpc.Client;

  constructor(readonly socket: string, options: grpc.ChannelOptions = {}) {
    const opts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024, ...options };
    const make = (def: grpc.ServiceDefinition) => new (grpc.makeGenericClientConstructor(def, 'cri'))(`unix:${socket}`, grpc.credentials.createInsecure(), opts);
    this.clients = { RuntimeService: make(definitions.runtimeService), ImageService: make(definitions.imageService) };
    this.raw = new grpc.Client(`unix:${socket}`, grpc.credentials.createInsecure(), opts);
  }

  /** A unary call by method name (`Version`, `PullImage`...). */
  call<T = any>(service: CriService, method: string, request: object = {}, deadlineMs = 60_000): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const client = this.clients[service] as unknown as Record<string, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: T) => void) => void>;
    const fn = client[method];
    if (!fn) throw new Error(`${service} has no method ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  runtime<T = any>(method: string, request: object = {}): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.call<T>('RuntimeService', method, request);
  }

  image<T = any>(method: string, request: object = {}, deadlineMs?: number): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.call<T>('ImageService', method, request, deadlineMs);
  }

  /** Every message of a server-streaming call. */
  stream<T = any>(service: CriService, method: string, request: object = {}): Promise<T[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const client = this.clients[service] as unknown as Record<string, (req: object) => grpc.ClientReadableStream<T>>;
    return new Promise((resolve, reject) => {
      const out: T[] = [];
      const call = client[method]!.call(client, request);
      call.on('data', (m: T) => out.push(m));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
  }

  /** A server-streaming call left open: each message to `onMessage`; `cancel` ends it. */
  subscribe<T = any>(service: CriService, method: string, request: object, onMessage: (m: T) => void): { cancel(): void; ended: Promise<void> } { // eslint-disable-line @typescript-eslint/no-explicit-any
    const client = this.clients[service] as unknown as Record<string, (req: object) => grpc.ClientReadableStream<T>>;
    const call = client[method]!.call(client, request);
    call.on('data', onMessage);
    const ended = new Promise<void>((resolve) => {
      call.on('error', () => resolve());
      call.on('end', () => resolve());
    });
    return { cancel: () => call.cancel(), ended };
  }

  /** Sends `bytes` as the request of `/runtime.v1.<service>/<method>`; resolves with the response bytes. */
  rawCall(service: CriService, method: string, bytes: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.raw.makeUnaryRequest(
        `/runtime.v1.${service}/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        new grpc.Metadata(),
        { deadline: Date.now() + 30_000 },
        (err, res) => (err ? reject(err) : resolve(res!)),
      );
    });
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
    this.raw.close();
  }
}

export const GrpcStatus = grpc.status;

/** The status code a call ends with (OK when it succeeds). */
export function statusCode(call: Promise<unknown>): Promise<number> {
  return call.then(
    () => grpc.status.OK,
    (err: { code: number }) => err.code,
  );
}
