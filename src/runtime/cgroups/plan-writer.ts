// Carries out a cgroup write plan, in order, and turns kernel refusals into errors that name the
// config field, the file and the errno.
import { posix } from 'node:path';
import { BerthError, type ErrorKind } from '../../oci/errors.ts';
import { cgroupFileExists, errnoOf, readCgroupFile, writeCgroupFileRaw } from './cgroupfs.ts';
import type { CgroupPlan, CgroupWrite } from './resource-plan.ts';

/** Fails before any write when a controller the plan needs has no cgroup directory (not mounted). */
export function checkControllers(plan: CgroupPlan, dirOf: (controller: string) => string | undefined): void {
  for (const w of plan.writes) {
    if (dirOf(w.controller) === undefined) {
      throw new BerthError('failed-precondition', `${w.field} needs the ${w.controller} cgroup controller, which is not mounted on this host`, {
        field: w.field,
      });
    }
  }
}

function writeError(w: CgroupWrite, dir: string, err: unknown): BerthError {
  const errno = errnoOf(err);
  const path = posix.join(dir, w.file);
  const where = { field: w.field, path, op: 'write', errno };
  const why =
    errno === 'ENOENT' ? `${w.file} does not exist: the ${w.controller} controller or this feature is not available for the cgroup`
    : errno === 'EINVAL' || errno === 'ERANGE' ? 'the kernel refused the value'
    : errno === 'EBUSY' && w.file.startsWith('memory.') ? 'the cgroup already uses more memory than that'
    : errno === 'EBUSY' ? 'the cgroup is busy'
    : errno === 'EACCES' || errno === 'EPERM' ? 'permission denied'
    : String((err as Error)?.message ?? err);
  const kind: ErrorKind =
    errno === 'EINVAL' || errno === 'ERANGE' ? 'invalid-argument'
    : errno === 'ENOENT' || errno === 'EBUSY' ? 'failed-precondition'
    : errno === 'EACCES' || errno === 'EPERM' ? 'permission-denied'
    : 'internal';
  return new BerthError(kind, `cannot set ${w.field} to ${JSON.stringify(w.value)} (${w.file}): ${why}${errno ? ` [${errno}]` : ''}`, where, {
    cause: err,
  });
}

/** Writes every entry of the plan into the directory of its controller. */
export async function writePlan(plan: CgroupPlan, dirOf: (controller: string) => string | undefined): Promise<void> {
  checkControllers(plan, dirOf);
  for (const w of plan.writes) {
    const dir = dirOf(w.controller) as string;
    if (w.optional && !(await cgroupFileExists(dir, w.file))) continue;
    try {
      await writeCgroupFileRaw(dir, w.file, w.value);
    } catch (err) {
      if (w.tolerateEinval && errnoOf(err) === 'EINVAL') continue;
      throw writeError(w, dir, err);
    }
    if (w.verify) {
      const got = (await readCgroupFile(dir, w.file)).trim();
      if (got !== w.value) {
        const bound = /^\d+$/.test(got) && /^\d+$/.test(w.value) ? (BigInt(w.value) > BigInt(got) ? ' (the maximum allowed)' : ' (the minimum allowed)') : '';
        throw new BerthError(
          'invalid-argument',
          `${w.field} ${w.value} is out of range: the kernel set ${w.file} to ${got}${bound}`,
          { field: w.field, path: posix.join(dir, w.file) },
        );
      }
    }
  }
}
