// Typed errors shared by every layer. Each carries what was wrong and where, and maps to a CLI exit
// code and a gRPC status code in one place (see `exitCodeOf` and `grpcStatusOf`).

export type ErrorKind =
  | 'invalid-argument' // bad input: config.json, flags, a reference, a request
  | 'not-found' // a container, image, blob or file that does not exist
  | 'already-exists' // a duplicate container id, name or tag
  | 'failed-precondition' // the object is in the wrong state for the operation
  | 'permission-denied' // the kernel or a registry refused
  | 'unavailable' // a registry or peer cannot be reached
  | 'unimplemented' // a feature berth does not support (said plainly)
  | 'data-loss' // corrupted content: digest or size mismatch, truncated stream
  | 'resource-exhausted' // disk full, limits reached
  | 'deadline-exceeded' // a timeout the caller set passed (ExecSync's)
  | 'internal'; // a kernel operation failed for another reason

export interface ErrorWhere {
  /** The config field (`process.args`, `mounts[2].destination`) or request field at fault. */
  field?: string;
  /** The file or path at fault. */
  path?: string;
  /** The operation that failed (`mount`, `setns`, `open`...). */
  op?: string;
  /** The errno name the kernel returned (`EPERM`, `ENOENT`...). */
  errno?: string;
}

export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly where: ErrorWhere;

  constructor(kind: ErrorKind, message: string, where: ErrorWhere = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.kind = kind;
    this.where = where;
  }

  /** One line for a terminal: the message plus the location details not already in it. */
  describe(): string {
    const parts: string[] = [];
    const { field, path, op, errno } = this.where;
    if (field && !this.message.includes(field)) parts.push(field);
    if (path && !this.message.includes(path)) parts.push(path);
    if (op && !this.message.includes(op)) parts.push(op);
    if (errno && !this.message.includes(errno)) parts.push(errno);
    return parts.length ? `${this.message} (${parts.join(', ')})` : this.message;
  }
}

export const invalid = (message: string, where: ErrorWhere = {}): BerthError =>
  new BerthError('invalid-argument', message, where);
export const notFound = (message: string, where: ErrorWhere = {}): BerthError =>
  new BerthError('not-found', message, where);
export const alreadyExists = (message: string, where: ErrorWhere = {}): BerthError =>
  new BerthError('already-exists', message, where);
export const precondition = (message: string, where: ErrorWhere = {}): BerthError =>
  new BerthError('failed-precondition', message, where);
export const unimplemented = (message: string, where: ErrorWhere = {}): BerthError =>
  new BerthError('unimplemented', message, where);

/** Wraps a Node.js system error (`err.code` = errno name) with the operation and path. */
export function fromSystemError(err: unknown, op: string, path?: string): BerthError {
  if (err instanceof BerthError) return err;
  const e = err as NodeJS.ErrnoException;
  const errno = typeof e?.code === 'string' ? e.code : undefined;
  const kind: ErrorKind =
    errno === 'ENOENT' ? 'not-found'
    : errno === 'EEXIST' ? 'already-exists'
    : errno === 'EACCES' || errno === 'EPERM' ? 'permission-denied'
    : errno === 'ENOSPC' || errno === 'EDQUOT' ? 'resource-exhausted'
    : 'internal';
  const detail = errno ? systemMessage(e) : e instanceof Error ? e.message : String(err);
  return new BerthError(kind, `${op}${path ? ` ${path}` : ''}: ${detail}`, { op, path, errno }, { cause: err });
}

/** The C library's text of a Node system error ("no such file or directory"), without Node's prefix. */
function systemMessage(e: NodeJS.ErrnoException): string {
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(e.message ?? '');
  return m ? m[1]! : (e.code ?? 'error');
}

const exitCodes: Record<ErrorKind, number> = {
  'invalid-argument': 2,
  'not-found': 3,
  'already-exists': 4,
  'failed-precondition': 5,
  'permission-denied': 6,
  unavailable: 7,
  unimplemented: 8,
  'data-loss': 9,
  'resource-exhausted': 10,
  'deadline-exceeded': 11,
  internal: 1,
};

export function exitCodeOf(err: unknown): number {
  return err instanceof BerthError ? exitCodes[err.kind] : 1;
}

// gRPC status codes (grpc/status.proto).
const grpcCodes: Record<ErrorKind, number> = {
  'invalid-argument': 3,
  'not-found': 5,
  'already-exists': 6,
  'permission-denied': 7,
  'resource-exhausted': 8,
  'failed-precondition': 9,
  'deadline-exceeded': 4,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  'data-loss': 15,
};

export function grpcStatusOf(err: unknown): number {
  return err instanceof BerthError ? grpcCodes[err.kind] : 13;
}
