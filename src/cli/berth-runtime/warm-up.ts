// Runs berth-runtime's pure code paths once while the start-up snapshot is built, so that the
// snapshot carries them compiled: a command then starts with less to parse and compile.

import { defaultSpec } from '../../runtime/default-spec.ts';
import { parseSpec } from '../../oci/runtime-spec-validate.ts';
import { compilePlan } from '../../runtime/plan-compiler.ts';
import { encodePlan } from '../../sys/plan-wire.ts';
import { formatPlan } from '../../sys/plan-format.ts';
import { planCgroupWrites, withDefaultDeviceRules } from '../../runtime/cgroups/index.ts';
import { parseArgs } from '../argv.ts';
import { Runtime } from '../../runtime/container.ts';
import { COMMANDS, GLOBAL_FLAGS } from './commands.ts';
import { cgroupManagerFromJSON } from '../../runtime/cgroups/index.ts';
import { encodeFastPath } from '../../runtime/fast-path.ts';
import { StateStore, type ContainerRecord } from '../../runtime/state-store.ts';
import { gatherHostFacts } from '../../runtime/host-facts.ts';
import { compileExecPlan } from '../../runtime/exec-plan.ts';
import { processFromFlags } from '../../runtime/exec-process.ts';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function warmUp(): void {
  const spec = parseSpec(
    JSON.stringify({
      ...defaultSpec(),
      process: { ...defaultSpec().process!, terminal: false },
      linux: { ...defaultSpec().linux, seccomp: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] } },
    }),
  );
  const plan = compilePlan({
    spec,
    bundle: '/bundle',
    rootfs: '/bundle/rootfs',
    fifoPath: '/run/x/exec.fifo',
    host: { sources: new Map(), cgroup: { version: 1, hierarchies: [{ dir: 'cpu', options: 'cpu' }] }, hasKcore: false, lastCap: 40, heldCaps: (1n << 41n) - 1n, rootfsMount: { mountpoint: '/', shared: false } },
  });
  encodePlan(plan);
  formatPlan(plan);
  planCgroupWrites(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices), 'v1');
  parseArgs(['--root', '/run/x'], GLOBAL_FLAGS);
  for (const c of COMMANDS) parseArgs([], c.flags, c.stopAfterPositionals);
  const cgroup = { version: 1, mode: 'v1', paths: { cpu: '/sys/fs/cgroup/cpu/x' }, mountpoints: { cpu: '/sys/fs/cgroup/cpu' }, createdParents: [] };
  const record: ContainerRecord = { id: 'x', bundle: '/b', rootfs: '/b/rootfs', pid: 1, pidStartTime: 1, created: '', creating: false, owner: '', config: spec, cgroup };
  encodeFastPath(record, cgroupManagerFromJSON(cgroup).removal(), { ino: 1n, size: 1n, mtimeNs: 1n });
  JSON.stringify(record);
  const host = gatherHostFacts(spec, '/nonexistent/berth-warm-up', '/nonexistent/berth-warm-up/rootfs');
  encodePlan(compileExecPlan({ pid: 1, namespaces: (spec.linux?.namespaces ?? []).map((n) => n.type), process: spec.process!, seccomp: spec.linux?.seccomp, host }));
  processFromFlags(spec.process, { args: ['true'], tty: false, env: [], additionalGids: [], caps: [], noNewPrivs: false });
  void warmUpStateRoundTrip(record);
  const runtime = new Runtime({ root: '/nonexistent/berth-warm-up' });
  runtime.list();
  try {
    runtime.state('warm-up');
  } catch {
    // expected: no such container
  }
}

/**
 * A container's state written, listed and deleted with its "cgroup", all in a directory of its
 * own that goes again (the cgroup is a plain directory there). Asynchronous: the snapshot is
 * taken once it has run.
 */
async function warmUpStateRoundTrip(base: ContainerRecord): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'berth-warm-up-'));
  try {
    const mountpoint = join(root, 'cgroup');
    const cgroup = { version: 1, mode: 'v1', paths: { cpu: join(mountpoint, 'x') }, mountpoints: { cpu: mountpoint }, createdParents: [] };
    mkdirSync(cgroup.paths.cpu, { recursive: true });
    const store = new StateStore(join(root, 'state'));
    store.claim(base.id);
    // pid 0: no process is ever signalled (a stopped container)
    store.write({ ...base, pid: 0, pidStartTime: 0, cgroup });
    store.read(base.id);
    const runtime = new Runtime({ root: store.root });
    runtime.list();
    await runtime.delete(base.id, true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
