// Reads the interface counters of a pod's network namespace through one of its processes.
import { readFile } from 'node:fs/promises';
import { fromSystemError, notFound } from '../../oci/errors.ts';
import { parseNetDev, type InterfaceCounters } from './net-dev.ts';

/** /proc/<pid>/net/dev, parsed; NotFound when the process is gone. */
export async function readNetDev(pid: number): Promise<InterfaceCounters[]> {
  const file = `/proc/${pid}/net/dev`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw notFound(`process ${pid} of the pod is gone; its network counters cannot be read`, { path: file });
    throw fromSystemError(err, 'read', file);
  }
  return parseNetDev(text, file);
}
