// errno numbers -> names and the C library's message (as runc's errors carry it, and as callers
// such as podman match on: "no such file or directory", "permission denied").

import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

const names = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!names.has(value)) names.set(value, name);

const messages = new Map<string, string>();
for (const [, [name, message]] of getSystemErrorMap()) messages.set(name, message);

export function errnoName(n: number): string {
  return names.get(n) ?? `errno ${n}`;
}

/** "no such file or directory" for ENOENT; the name itself when unknown. */
export function errnoMessage(name: string): string {
  return messages.get(name) ?? name;
}
