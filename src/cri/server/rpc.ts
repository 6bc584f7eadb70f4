// The shape of berthd's RPC handlers and the one adapter between them and grpc-js: decoding
// failures become InvalidArgument (grpc-js would answer Internal), typed errors become status
// codes (grpcStatusOf, src/oci/errors.ts, is the only mapping), and every call is logged once.
import { status as Status, type Metadata, type ServerUnaryCall, type ServerWritableStream, type ServiceDefinition, type UntypedServiceImplementation, type sendUnaryData } from '@grpc/grpc-js';
import { BerthError, grpcStatusOf } from '../../oci/errors.ts';
import type { Logger } from './logger.ts';
import { cachingSerializer } from './encoded-entries.ts';

export interface RpcContext {
  /** Aborted when the client cancels the call or its deadline passes. */
  signal: AbortSignal;
  method: string;
}

/** A unary RPC: the decoded request in, the response object out (or a thrown error). */
export type UnaryRpc = (request: any, ctx: RpcContext) => Promise<object> | object; // eslint-disable-line @typescript-eslint/no-explicit-any
/** A server-streaming RPC: `send` writes one response message. */
export type StreamingRpc = (request: any, send: (message: object) => void, ctx: RpcContext) => Promise<void>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServiceHandlers {
  unary: Record<string, UnaryRpc>;
  streaming?: Record<string, StreamingRpc>;
}

/** What a request that did not decode turns into; the handler wrapper answers InvalidArgument. */
export class MalformedRequest {
  constructor(readonly message: string) {}
}

export interface RpcStatus {
  code: Status;
  details: string;
}

/** A thrown value as the status the client gets. */
export function statusOf(err: unknown): RpcStatus {
  const code = grpcStatusOf(err) as Status;
  const details = err instanceof BerthError ? err.describe() : err instanceof Error ? err.message : String(err);
  return { code, details };
}

const codeName = (code: Status): string => Status[code] ?? String(code);

/** A copy of the service definition whose request decoders never throw and whose list encoders cache (encoded-entries.ts). */
export function tolerantDefinition(def: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(def)) {
    const decode = method.requestDeserialize;
    const type = method.path.split('/').pop();
    out[name] = {
      ...method,
      responseSerialize: cachingSerializer(method.responseSerialize as (value: object) => Buffer),
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new MalformedRequest(`the ${type} request is not a valid protobuf message: ${(err as Error).message}`);
        }
      },
    };
  }
  return out as ServiceDefinition;
}

function context(call: { on(event: 'cancelled', fn: () => void): unknown; getPath(): string }): RpcContext {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort(new BerthError('unavailable', 'the client cancelled the call')));
  return { signal: controller.signal, method: call.getPath() };
}

/** grpc-js handlers for every method of `def`: ours where we have one, Unimplemented otherwise. */
export function grpcHandlers(def: ServiceDefinition, handlers: ServiceHandlers, log: Logger): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const done = (path: string, started: bigint, err: RpcStatus | undefined): void => {
      const fields = { method: path, duration_ms: Number(process.hrtime.bigint() - started) / 1e6, code: codeName(err?.code ?? Status.OK) };
      if (err) log.info('rpc failed', { ...fields, error: err.details });
      else log.debug('rpc', fields);
    };
    if (method.requestStream) {
      out[name] = (call: { emit(e: string, v: unknown): void }) => call.emit('error', { code: Status.UNIMPLEMENTED, details: `${method.path}: client streaming is not implemented` });
      continue;
    }
    if (method.responseStream) {
      const fn = handlers.streaming?.[name];
      out[name] = (call: ServerWritableStream<unknown, object>) => {
        const started = process.hrtime.bigint();
        const fail = (s: RpcStatus): void => {
          done(method.path, started, s);
          call.emit('error', { code: s.code, details: s.details, metadata: undefined as Metadata | undefined });
        };
        if (!fn) return fail({ code: Status.UNIMPLEMENTED, details: `${name} is not implemented by berthd yet` });
        if (call.request instanceof MalformedRequest) return fail({ code: Status.INVALID_ARGUMENT, details: call.request.message });
        Promise.resolve()
          .then(() => fn(call.request, (m) => call.write(m), context(call)))
          .then(
            () => {
              done(method.path, started, undefined);
              call.end();
            },
            (err) => fail(statusOf(err)),
          );
      };
      continue;
    }
    const fn = handlers.unary[name];
    out[name] = (call: ServerUnaryCall<unknown, object>, callback: sendUnaryData<object>) => {
      const started = process.hrtime.bigint();
      const fail = (s: RpcStatus): void => {
        done(method.path, started, s);
        callback({ code: s.code, details: s.details });
      };
      if (!fn) return fail({ code: Status.UNIMPLEMENTED, details: `${name} is not implemented by berthd yet` });
      if (call.request instanceof MalformedRequest) return fail({ code: Status.INVALID_ARGUMENT, details: call.request.message });
      Promise.resolve()
        .then(() => fn(call.request, context(call)))
        .then(
          (res) => {
            done(method.path, started, undefined);
            callback(null, res);
          },
          (err) => fail(statusOf(err)),
        );
    };
  }
  return out;
}
