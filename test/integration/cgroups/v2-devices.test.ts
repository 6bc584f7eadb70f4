// cgroup v2 device rules on this machine's real kernel: the v2 manager compiles them into a
// BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to a cgroup on the unified hierarchy at
// /sys/fs/cgroup/unified (a hybrid host runs the attached program as well as the v1 devices
// controller, so the program's verdicts show). A probe process in the cgroup opens and mknods
// device nodes; what the kernel lets through must be what the rules say (the unit tests'
// reference model), before and after an update that swaps the program. bpftool shows what is
// attached. Everything is named berth-test-v2dev-<random>; after() kills the probe, removes the
// cgroups, the node directory, and the root's hugetlb enablement if this test added it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BerthError } from '../../../src/oci/errors.ts';
import type { DeviceCgroupRule } from '../../../src/oci/runtime-spec.ts';
import { cgroupManagerFromJSON, withDefaultDeviceRules } from '../../../src/runtime/cgroups/index.ts';
import { attachDeviceProgram, DEVICE_PROGRAM_NAME, deviceProgramsOf } from '../../../src/runtime/cgroups/device-program.ts';
import { BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE, bpfProgAttach, bpfProgLoad } from '../../../src/sys/bpf.ts';
import { mknod, S_IFBLK, S_IFCHR } from '../../../src/sys/mknod.ts';
import { rulesAllow, type DeviceRequest } from '../../unit/cgroups/device-reference-model.ts';
import { bpftoolShow, hostDisk, restoreRootControllers, rootControllers, UNIFIED, v2DeviceTestsSkip } from './v2-host.ts';

/** r0 = 1; exit */
const ALLOW_EVERYTHING = Uint8Array.from([0xb4, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const skip = v2DeviceTestsSkip();

const base = join(UNIFIED, `berth-test-v2dev-${randomBytes(4).toString('hex')}`);
const leaf = join(base, 'c1');
const nodes = mkdtempSync(join(tmpdir(), 'berth-test-v2dev-nodes-'));
const children = new Set<ChildProcess>();
const rootControlBefore = skip ? [] : rootControllers();

after(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));
  }
  for (const dir of [leaf, base]) {
    try {
      rmdirSync(dir);
    } catch {
      // already removed by the manager, or never made
    }
  }
  rmSync(nodes, { recursive: true, force: true });
  if (!skip) restoreRootControllers(rootControlBefore);
});

interface Node extends DeviceRequest {
  path: string;
}

/** Nodes made outside the cgroup (mknod there is not subject to the program). */
function makeNodes(): Node[] {
  const disk = hostDisk();
  const list: Array<Omit<Node, 'path' | 'access'>> = [
    { type: 'c', major: 1, minor: 3 }, // null
    { type: 'c', major: 1, minor: 5 }, // zero
    { type: 'c', major: 1, minor: 7 }, // full
    { type: 'c', major: 1, minor: 9 }, // urandom
    { type: 'b', ...disk },
  ];
  return list.map((d) => {
    const path = join(nodes, `${d.type}-${d.major}-${d.minor}`);
    mknod(path, (d.type === 'b' ? S_IFBLK : S_IFCHR) | 0o600, d.major, d.minor);
    return { ...d, path, access: '' };
  });
}

/** A process that opens or mknods what it is asked to and answers "ok" or the errno name. */
class Probe {
  private readonly child: ChildProcess & { pid: number };
  private readonly lines: AsyncIterator<string>;

  constructor() {
    const script = `
      import { closeSync, openSync, readSync } from 'node:fs';
      import { spawnSync } from 'node:child_process';
      import { createInterface } from 'node:readline';
      for await (const line of createInterface({ input: process.stdin })) {
        const q = JSON.parse(line);
        let out = 'ok';
        try {
          if (q.op === 'open') {
            const fd = openSync(q.path, q.flags);
            if (q.flags === 'r') readSync(fd, Buffer.alloc(512));
            closeSync(fd);
          } else {
            const r = spawnSync('mknod', [q.path, q.type, String(q.major), String(q.minor)], { encoding: 'utf8' });
            if (r.status !== 0) out = /Operation not permitted/.test(r.stderr) ? 'EPERM' : r.stderr.trim();
          }
        } catch (e) {
          out = e.code ?? String(e);
        }
        process.stdout.write(JSON.stringify(out) + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    if (child.pid === undefined) throw new Error('could not start the probe');
    children.add(child);
    this.child = child as ChildProcess & { pid: number };
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  get pid(): number {
    return this.child.pid;
  }

  async ask(q: Record<string, unknown>): Promise<string> {
    this.child.stdin!.write(`${JSON.stringify(q)}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the probe exited');
    return JSON.parse(value) as string;
  }

  stop(): void {
    this.child.stdin!.end();
  }
}

const OPEN_FLAGS: Record<string, string> = { r: 'r', w: 'w', rw: 'r+' };
let made = 0;

/** What the probe meets for each node and access, next to what the rules say. */
async function verdicts(probe: Probe, list: Node[], rules: DeviceCgroupRule[]): Promise<Array<{ what: string; got: string; allowed: boolean }>> {
  const out = [];
  for (const node of list) {
    // Never open the host's disk for writing, even where the rules would allow it.
    for (const access of node.type === 'b' ? ['r', 'm'] : ['r', 'w', 'rw', 'm']) {
      const req = { ...node, access };
      const got = access === 'm'
        ? await probe.ask({ op: 'mknod', path: join(nodes, `made-${made++}`), type: node.type, major: node.major, minor: node.minor })
        : await probe.ask({ op: 'open', path: node.path, flags: OPEN_FLAGS[access] });
      out.push({ what: `${node.type} ${node.major}:${node.minor} ${access}`, got, allowed: rulesAllow(rules, req) });
    }
  }
  return out;
}

function assertFollowsRules(results: Awaited<ReturnType<typeof verdicts>>): void {
  for (const r of results) {
    // An allowed open may still fail for the device's own reasons (ENXIO...), never with EPERM.
    if (r.allowed) assert.notEqual(r.got, 'EPERM', `${r.what} is allowed by the rules`);
    else assert.equal(r.got, 'EPERM', `${r.what} is denied by the rules`);
  }
}

test('v2 device rules: an attached eBPF program denies what the rules deny; update swaps it', { skip }, async () => {
  const list = makeNodes();
  const m = cgroupManagerFromJSON({ version: 1, mode: 'v2', mountpoint: UNIFIED, path: leaf, createdParents: [] });
  await m.create();
  // runc's defaults after a deny-all: mknod of anything, null/zero/full/urandom... but no block device.
  const first = withDefaultDeviceRules({ devices: [{ allow: false, access: 'rwm' }] }).devices!;
  assert.deepEqual(await m.set({ devices: first }), []);
  const shown = bpftoolShow(leaf);
  assert.equal(shown.length, 1, JSON.stringify(shown));
  assert.equal(shown[0]!.name, DEVICE_PROGRAM_NAME);
  assert.match(shown[0]!.attach_type, /device/);
  const [before] = deviceProgramsOf(leaf);

  const probe = new Probe();
  await m.apply(probe.pid);
  const results = await verdicts(probe, list, first);
  assertFollowsRules(results);
  const disk = list.find((d) => d.type === 'b')!;
  assert.ok(results.some((r) => r.what === `b ${disk.major}:${disk.minor} r` && r.got === 'EPERM'), 'reading the host disk is denied');
  assert.ok(results.some((r) => r.what === 'c 1:5 r' && r.got === 'ok'), '/dev/zero still reads');

  // An update: only /dev/null and /dev/zero, read-only zero, and the disk readable; no mknod at all.
  const second: DeviceCgroupRule[] = [
    { allow: true, access: 'rwm' },
    { allow: false, type: 'c', access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    { allow: true, type: 'c', major: 1, minor: 5, access: 'r' },
    { allow: false, type: 'b', access: 'wm' },
  ];
  await m.set({ devices: second });
  const after = deviceProgramsOf(leaf);
  assert.equal(after.length, 1, 'exactly one device program after the update');
  assert.equal(after[0]!.name, DEVICE_PROGRAM_NAME);
  assert.notEqual(after[0]!.id, before!.id, 'a new program replaced the old one');
  assert.equal(bpftoolShow(leaf).length, 1);
  const updated = await verdicts(probe, list, second);
  assertFollowsRules(updated);
  assert.ok(updated.some((r) => r.what === `b ${disk.major}:${disk.minor} r` && r.got !== 'EPERM'), 'the new rules allow reading the disk');
  assert.ok(updated.some((r) => r.what === 'c 1:5 w' && r.got === 'EPERM'), 'and no longer writing /dev/zero');

  // A program that is not berth's stays; berth's own is still replaced, not duplicated.
  probe.stop();
  const other = bpfProgLoad({ type: BPF_PROG_TYPE_CGROUP_DEVICE, insns: ALLOW_EVERYTHING, license: 'Apache-2.0', name: 'not_berth' });
  const dirFd = openSync(leaf, 'r');
  try {
    bpfProgAttach({ targetFd: dirFd, progFd: other, attachType: BPF_CGROUP_DEVICE, flags: BPF_F_ALLOW_MULTI });
  } finally {
    closeSync(dirFd);
    closeSync(other);
  }
  await m.set({ devices: first });
  assert.deepEqual(deviceProgramsOf(leaf).map((p) => p.name).sort(), [DEVICE_PROGRAM_NAME, 'not_berth']);

  await m.destroy();
  assert.deepEqual(readdirSync(UNIFIED).filter((e) => e === base.slice(UNIFIED.length + 1)), []);
});

test('a program the kernel refuses, or a directory that is not a cgroup, fails with the reason', { skip }, () => {
  // Unreachable code after an exit: the verifier refuses it and says why.
  const bad = Uint8Array.from([...ALLOW_EVERYTHING, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => bpfProgLoad({ type: BPF_PROG_TYPE_CGROUP_DEVICE, insns: bad, license: 'Apache-2.0', name: 'berth_test' }), (err: unknown) =>
    err instanceof BerthError && err.where.errno === 'EINVAL' && /verifier said: .*unreachable/.test(err.message));
  assert.throws(() => attachDeviceProgram(nodes, ALLOW_EVERYTHING), (err: unknown) =>
    err instanceof BerthError && err.where.field === 'linux.resources.devices' && err.where.errno === 'EBADF' && /not a cgroup v2 directory/.test(err.message));
});
