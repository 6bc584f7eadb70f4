// The data that lets berth-runtime's native front (native/front.c) answer `state`, `start`,
// `kill`, `delete` and `list` without starting Node: everything those commands would compute or
// print, precomputed here, where the policy is. The front only interprets it; when the file is
// missing or says a command needs Node (hooks), the front runs the Node CLI. See docs/fast-path.md.
//
// <state dir>/fast-path.v1 is a list of fields, each `<key> <length>\n<bytes>\n`, after the line
// `berth-runtime fast path v1\n`. Keys may repeat (cgroup.dir, cgroup.parent, remove). A change
// of the format gets a new file name, so that an older front never misreads a newer file.

import type { ContainerStatus } from '../oci/runtime-spec.ts';
import type { CgroupRemoval } from './cgroups/index.ts';
import { ociStateOf, startMessage, stateOutputOf, stateText } from './state-output.ts';
import type { ContainerRecord } from './state-store.ts';

export const FAST_PATH_FILE = 'fast-path.v1';
export const FAST_PATH_HEADER = 'berth-runtime fast path v1\n';
export const FIFO_FILE = 'exec.fifo';
export const STATE_FILE = 'state.json';

/** The statuses the front reports itself; `creating` and `paused` containers have no fast path. */
const STATUSES = ['created', 'running', 'stopped'] as const satisfies readonly ContainerStatus[];

/** `list`'s table columns for one container (the header is ID PID STATUS BUNDLE CREATED OWNER). */
export function listTableCells(s: { id: string; pid?: number; status: string; bundle: string; created: string; owner: string }): string[] {
  return [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created, s.owner || 'root'];
}

/** Which state.json the data was derived from: the front trusts it only while that one is in place. */
export interface StateFileIdentity {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

/**
 * The fast-path file for a record, or null when the front must leave every command to Node:
 * while the container is being created or is paused, or when its state can't be represented.
 */
export function encodeFastPath(record: ContainerRecord, cgroups: CgroupRemoval | null, stateFile: StateFileIdentity): Buffer | null {
  if (record.creating || record.paused || !(record.pid > 0)) return null;
  const fields: Array<[string, string | Buffer]> = [
    // An edit of state.json the front did not see (another berth version, a person) makes
    // the front leave the container to Node.
    ['state-file', `${stateFile.ino} ${stateFile.size} ${stateFile.mtimeNs}`],
    ['pid', String(record.pid)],
    ['start-time', String(record.pidStartTime)],
    ['fifo', FIFO_FILE],
  ];
  const needsNode: string[] = [];
  if (record.config.hooks?.poststart?.length) needsNode.push('start');
  if (record.config.hooks?.poststop?.length) needsNode.push('delete');
  fields.push(['needs-node', needsNode.join(' ')]);
  const states = STATUSES.map((status) => [status, stateOutputOf(record, status)] as const);
  for (const [status, state] of states) fields.push([`state.${status}`, stateText(state)], [`list.${status}`, JSON.stringify(state)]);
  // The front pads table columns by bytes, Node by UTF-16 units: the same only for ASCII.
  const tables = states.map(([status, state]) => [status, listTableCells(state)] as const);
  if (tables.every(([, cells]) => cells.every((c) => /^[\x20-\x7e]*$/.test(c)))) {
    for (const [status, cells] of tables) fields.push([`table.${status}`, cells.join('\0')]);
  }
  fields.push(['start.message', startMessage(ociStateOf(record, 'created'))]);
  if (cgroups) {
    if (cgroups.procsDir) fields.push(['cgroup.procs', cgroups.procsDir]);
    for (const d of cgroups.dirs) fields.push(['cgroup.dir', d]);
    for (const d of cgroups.parents) fields.push(['cgroup.parent', d]);
  }
  // What delete removes from the state directory, in this order; anything else there is a
  // reason to leave the delete to Node. This file goes first: from then on the front falls
  // through for this container, and Node sees what is left.
  for (const f of [FAST_PATH_FILE, STATE_FILE, FIFO_FILE]) fields.push(['remove', f]);
  return encodeFields(fields);
}

export function encodeFields(fields: ReadonlyArray<readonly [string, string | Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.from(FAST_PATH_HEADER)];
  for (const [key, value] of fields) {
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    parts.push(Buffer.from(`${key} ${bytes.length}\n`), bytes, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** The inverse of encodeFields (for tests and debugging). */
export function decodeFields(data: Buffer): Array<[string, Buffer]> {
  if (!data.subarray(0, FAST_PATH_HEADER.length).equals(Buffer.from(FAST_PATH_HEADER))) throw new Error('not a fast-path v1 file');
  const out: Array<[string, Buffer]> = [];
  let at = FAST_PATH_HEADER.length;
  while (at < data.length) {
    const nl = data.indexOf(0x0a, at);
    const [key, len] = data.subarray(at, nl).toString().split(' ');
    const start = nl + 1;
    const end = start + Number(len);
    if (!key || !/^\d+$/.test(len ?? '') || data[end] !== 0x0a) throw new Error(`bad field at byte ${at}`);
    out.push([key, data.subarray(start, end)]);
    at = end + 1;
  }
  return out;
}
