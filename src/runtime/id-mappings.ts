// Writes uid_map / gid_map for a new user namespace while its first process waits.

import { writeFileSync } from 'node:fs';
import { fromSystemError } from '../oci/errors.ts';
import type { IdMapping, Spec } from '../oci/runtime-spec.ts';

export function formatIdMap(mappings: readonly IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

export function writeIdMappings(pid: number, spec: Spec): void {
  const linux = spec.linux ?? {};
  for (const [file, maps, field] of [
    ['uid_map', linux.uidMappings ?? [], 'linux.uidMappings'],
    ['gid_map', linux.gidMappings ?? [], 'linux.gidMappings'],
  ] as const) {
    const path = `/proc/${pid}/${file}`;
    try {
      writeFileSync(path, formatIdMap(maps));
    } catch (err) {
      const e = fromSystemError(err, `write ${field} to`, path);
      e.where.field = field;
      throw e;
    }
  }
}
