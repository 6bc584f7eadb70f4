// The C library loaded once through koffi, for the few syscalls Node lacks, plus errno reporting.
import koffi from 'koffi';
import { constants } from 'node:os';
import { fromSystemError, type BerthError } from '../oci/errors.ts';

export const libc = koffi.load('libc.so.6');

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);

export function lastErrno(): number {
  return koffi.errno();
}

/** A BerthError for a failed libc call, from the thread's errno. */
export function errnoError(op: string, path?: string, errno: number = koffi.errno()): BerthError {
  const code = errnoNames.get(errno) ?? `errno ${errno}`;
  return fromSystemError(Object.assign(new Error(code), { code }), op, path);
}

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}
