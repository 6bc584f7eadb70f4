// errno numbers -> names, from Node's own table of the platform's constants.

import { constants } from 'node:os';

const names = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!names.has(value)) names.set(value, name);

export function errnoName(n: number): string {
  return names.get(n) ?? `errno ${n}`;
}
