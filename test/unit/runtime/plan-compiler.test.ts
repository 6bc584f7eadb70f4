import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePlan, type CompileInput } from '../../../src/runtime/plan-compiler.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import { MS } from '../../../src/sys/kernel-constants.ts';
import type { Plan, PlanOp } from '../../../src/sys/plan-ops.ts';
import { formatPlan } from '../../../src/sys/plan-format.ts';
import { hostFacts, specWith } from './helpers.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';

function compile(spec: Spec, extra: Partial<CompileInput> = {}): Plan {
  return compilePlan({ spec, bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/s/c/exec.fifo', host: hostFacts(), ...extra });
}

const kinds = (plan: Plan): string[] => plan.map((o) => o.kind);
const indexOf = (plan: Plan, pred: (o: PlanOp) => boolean): number => plan.findIndex(pred);

function throwsField(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => err instanceof BerthError && err.where.field === field && err.message.includes(field.split('[')[0]!));
}

test('the default spec compiles into the runc order of operations', () => {
  const plan = compile(specWith());
  const k = kinds(plan);
  assert.deepEqual(k.slice(0, 3), ['mkfifo', 'open-fifo', 'clone'], 'the fifo is opened with the runtime\'s credentials');
  const clone = plan[2] as Extract<PlanOp, { kind: 'clone' }>;
  assert.deepEqual(clone.namespaces.sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.ok(k.indexOf('unshare') > k.indexOf('sync'), 'cgroup namespace after the cgroup is joined');
  const pivot = k.indexOf('pivot-root');
  assert.ok(pivot > k.lastIndexOf('mknod'), 'devices before pivot_root');
  assert.ok(k.indexOf('mask-path') > pivot);
  assert.ok(k.indexOf('setuid') < k.indexOf('chdir'));
  assert.ok(k.indexOf('wait-start') < k.indexOf('execve'));
  assert.equal(k.at(-1), 'execve');
  const created = plan.findIndex((o) => o.kind === 'sync' && o.point === 'created');
  assert.ok(created > k.indexOf('resolve-exec') && created < k.indexOf('wait-start'));
});

test('mounts resolve inside the root; bind mounts get a remount for their flags', () => {
  const spec = specWith((s) => s.mounts!.push({ destination: '/data', source: 'vol', type: 'bind', options: ['rbind', 'ro', 'nosuid', 'rprivate'] }));
  const plan = compile(spec, { host: hostFacts({ sources: new Map([['/b/vol', 'dir']]) }) });
  const ops = plan.filter((o) => o.origin?.startsWith('mounts[7]'));
  assert.deepEqual(
    ops.map((o) => (o.kind === 'mount' ? [o.kind, o.source, o.target, o.flags, o.inRoot] : [o.kind])),
    [
      ['mkdir'],
      ['mount', '/b/vol', '/data', MS.BIND | MS.REC, true],
      ['mount', null, '/data', MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID, true],
      ['mount', null, '/data', MS.PRIVATE | MS.REC, true],
    ],
  );
});

test('a bind of a file creates a file target, a missing source is an error naming the field', () => {
  const spec = specWith((s) => s.mounts!.push({ destination: '/etc/hosts', source: '/h/hosts', options: ['bind'] }));
  const plan = compile(spec, { host: hostFacts({ sources: new Map([['/h/hosts', 'file']]) }) });
  assert.ok(plan.some((o) => o.kind === 'mkfile' && o.path === '/etc/hosts'));
  throwsField(() => compile(spec), 'mounts[7].source');
});

test('in a user namespace devices are bind-mounted, not created with mknod', () => {
  const spec = specWith((s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  const plan = compile(spec);
  assert.ok(!plan.some((o) => o.kind === 'mknod'));
  assert.ok(plan.some((o) => o.kind === 'mount' && o.source === '/dev/null' && o.target === '/dev/null' && o.flags === MS.BIND));
  const clone = plan.find((o) => o.kind === 'clone') as Extract<PlanOp, { kind: 'clone' }>;
  assert.ok(clone.namespaces.includes('user'));
});

test('namespaces given by path are joined before the clone, user first', () => {
  const spec = specWith((s) => {
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'network', path: '/var/run/netns/x' }, { type: 'user', path: '/proc/9/ns/user' }];
    delete s.hostname;
  });
  const plan = compile(spec);
  assert.deepEqual(
    plan.slice(2, 5).map((o) => [o.kind, o.kind === 'setns' ? o.ns : '']),
    [['setns', 'user'], ['setns', 'network'], ['clone', '']],
  );
});

test('rlimits, user, capabilities and no_new_privs are compiled in order', () => {
  const spec = specWith((s) => {
    s.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o077 };
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }, { type: 'RLIMIT_CORE', soft: 2 ** 64, hard: 2 ** 64 }];
  });
  const plan = compile(spec);
  const k = kinds(plan);
  assert.ok(k.indexOf('setrlimit') < k.indexOf('setuid'));
  assert.ok(k.indexOf('keep-caps') < k.indexOf('setuid'));
  const capsets = plan.filter((o) => o.kind === 'capset') as Array<Extract<PlanOp, { kind: 'capset' }>>;
  assert.deepEqual(capsets.map((c) => c.phase), ['bounding', 'sets']);
  assert.ok(indexOf(plan, (o) => o === capsets[1]) > k.indexOf('setuid'));
  assert.equal(capsets[1]!.effective, (1n << 29n) | (1n << 5n) | (1n << 10n));
  assert.equal(capsets[1]!.ambient, 0n, 'ambient needs inheritable');
  const core = plan.find((o) => o.kind === 'setrlimit' && o.name === 'RLIMIT_CORE') as Extract<PlanOp, { kind: 'setrlimit' }>;
  assert.equal(core.hard, 0xffffffffffffffffn);
  assert.deepEqual(plan.find((o) => o.kind === 'setgroups'), { kind: 'setgroups', gids: [10, 20], origin: 'process.user.additionalGids' });
  assert.deepEqual(plan.find((o) => o.kind === 'umask'), { kind: 'umask', mask: 0o077, origin: 'process.user.umask' });
});

test('a capability the runtime lacks is refused up front', () => {
  const spec = specWith((s) => s.process!.capabilities!.bounding!.push('CAP_SYS_RESOURCE'));
  assert.throws(() => compile(spec, { host: hostFacts({ heldCaps: ~(1n << 24n) & ((1n << 41n) - 1n) }) }), /CAP_SYS_RESOURCE/);
  // an unknown name is dropped with a warning (runtime-spec: warn, don't fail)
  const warnings: string[] = [];
  const plan = compile(specWith((s) => s.process!.capabilities!.effective!.push('CAP_BOGUS')), { warn: (m) => warnings.push(m) });
  assert.deepEqual(warnings, ['process.capabilities: ignoring unknown or unavailable capabilities: CAP_BOGUS']);
  assert.ok(plan.some((o) => o.kind === 'capset'));
});

test('bad combinations are refused with the field', () => {
  throwsField(() => compile(specWith((s) => (s.process!.terminal = true))), 'process.terminal');
  throwsField(() => compile(specWith((s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount')))), 'root.readonly');
  throwsField(() => compile(specWith((s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts')))), 'hostname');
  throwsField(() => compile(specWith((s) => (s.process!.apparmorProfile = 'docker-default'))), 'process.apparmorProfile');
  throwsField(() => compile(specWith((s) => s.linux!.namespaces!.push({ type: 'user' }))), 'linux.uidMappings');
  throwsField(() => compile(specWith((s) => s.mounts!.push({ destination: '/x/../../etc', type: 'tmpfs', source: 'tmpfs' }))), 'mounts[7].destination');
  throwsField(() => compile(specWith((s) => (s.linux!.rootfsPropagation = 'sideways'))), 'linux.rootfsPropagation');
});

test('terminal: console socket connected before pivot, pty set up after', () => {
  const plan = compile(specWith((s) => (s.process!.terminal = true)), { consoleSocket: '/tmp/console.sock' });
  const k = kinds(plan);
  assert.ok(k.indexOf('connect-console') < k.indexOf('clone'));
  assert.ok(k.indexOf('console') > k.indexOf('pivot-root'));
  assert.ok(plan.some((o) => o.kind === 'mkfile' && o.path === '/dev/console'));
});

test('no-pivot moves the root instead; read-only root uses mount_setattr', () => {
  const plan = compile(specWith(), { noPivot: true });
  assert.ok(plan.some((o) => o.kind === 'move-root') && !plan.some((o) => o.kind === 'pivot-root'));
  assert.ok(plan.some((o) => o.kind === 'mount-setattr' && o.path === '/' && o.origin === 'root.readonly'));
});

test('hooks add a sync point before pivot_root; startContainer hooks run after the fifo', () => {
  const spec = specWith((s) => {
    s.hooks = { createRuntime: [{ path: '/bin/true' }], startContainer: [{ path: '/bin/x', args: ['x', '1'], timeout: 3 }] };
  });
  const plan = compile(spec);
  const k = kinds(plan);
  const sync = plan.findIndex((o) => o.kind === 'sync' && o.point === 'create-runtime');
  assert.ok(sync > 0 && sync < k.indexOf('pivot-root'));
  const hook = plan.findIndex((o) => o.kind === 'hook');
  assert.ok(hook > k.indexOf('wait-start') && hook < k.indexOf('execve'));
  const late = kinds(compile(specWith((s) => {
    s.hooks = spec.hooks;
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ALLOW' }] };
  })));
  assert.ok(late.indexOf('hook') < late.indexOf('seccomp'), 'as runc: startContainer hooks run before the late filter');
  assert.deepEqual(plan[hook], { kind: 'hook', path: '/bin/x', args: ['x', '1'], env: [], timeout: 3, origin: 'hooks.startContainer[0]' });
});

test('seccomp: loaded near execve with no_new_privs, before setuid without', () => {
  const seccomp = { defaultAction: 'SCMP_ACT_ALLOW' as const, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' as const }] };
  const withNnp = kinds(compile(specWith((s) => (s.linux!.seccomp = seccomp))));
  assert.ok(withNnp.indexOf('seccomp') > withNnp.indexOf('wait-start'));
  const without = kinds(compile(specWith((s) => { s.linux!.seccomp = seccomp; s.process!.noNewPrivileges = false; })));
  assert.ok(without.indexOf('seccomp') < without.indexOf('setuid'));
});

test('seccomp: fds are marked close-on-exec before any filter; with no_new_privs only execve follows it', () => {
  const seccomp = { defaultAction: 'SCMP_ACT_ERRNO' as const, syscalls: [{ names: ['execve', 'exit_group'], action: 'SCMP_ACT_ALLOW' as const }] };
  for (const nnp of [true, false]) {
    const plan = compile(specWith((s) => { s.linux!.seccomp = seccomp; s.process!.noNewPrivileges = nnp; }), { preserveFds: 2 });
    const k = kinds(plan);
    assert.ok(k.indexOf('close-fds') >= 0 && k.indexOf('close-fds') < k.indexOf('seccomp'), `nnp=${nnp}`);
    assert.deepEqual(plan.find((o) => o.kind === 'close-fds'), { kind: 'close-fds', keep: 2, origin: '--preserve-fds' });
    if (nnp) assert.deepEqual(k.slice(k.indexOf('seccomp') + 1), ['execve']);
  }
  const none = kinds(compile(specWith()));
  assert.ok(none.includes('close-fds') && none.indexOf('close-fds') < none.indexOf('execve'));
});

test('rootfsPropagation shared: the mount holding the rootfs goes private for pivot_root, the propagation is applied after', () => {
  const mountOps = (plan: Plan) => plan.filter((o): o is Extract<PlanOp, { kind: 'mount' }> => o.kind === 'mount' && o.source === null && !o.inRoot);
  for (const [value, flags] of [['shared', MS.SHARED], ['rshared', MS.SHARED | MS.REC]] as const) {
    const plan = compile(specWith((s) => (s.linux!.rootfsPropagation = value)), { host: hostFacts({ rootfsMount: { mountpoint: '/b', shared: false } }) });
    const ops = mountOps(plan);
    const pivot = kinds(plan).indexOf('pivot-root');
    assert.deepEqual(ops.map((o) => [o.target, o.flags]), [['/', flags], ...(value === 'rshared' ? [['/b', MS.PRIVATE]] : []), ['/', flags]], value);
    assert.ok(plan.indexOf(ops.at(-1)!) > pivot && plan.indexOf(ops.at(-2)!) < pivot);
  }
  // non-recursive "shared" on "/" itself reaches the holder when it is "/"
  const onRoot = mountOps(compile(specWith((s) => (s.linux!.rootfsPropagation = 'shared'))));
  assert.deepEqual(onRoot.map((o) => o.target), ['/', '/', '/']);
  assert.equal(onRoot[1]!.flags, MS.PRIVATE);
  // a holder that is shared on the host and not reached by a non-recursive change
  const hostShared = mountOps(compile(specWith((s) => (s.linux!.rootfsPropagation = 'slave')), { host: hostFacts({ rootfsMount: { mountpoint: '/b/rootfs', shared: true } }) }));
  assert.deepEqual(hostShared.map((o) => o.target), ['/', '/b/rootfs', '/']);
  // the default (rslave) needs nothing
  assert.deepEqual(mountOps(compile(specWith())).map((o) => o.target), ['/']);
});

test('hostname: set in a joined uts namespace as in a new one; refused without one', () => {
  const joined = compile(specWith((s) => {
    s.hostname = 'joined';
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'uts' ? { type: 'uts', path: '/proc/1/ns/uts' } : n));
  }));
  assert.ok(joined.some((o) => o.kind === 'setns' && o.ns === 'uts'));
  assert.ok(joined.some((o) => o.kind === 'sethostname' && o.name === 'joined'));
  throwsField(() => compile(specWith((s) => { s.domainname = 'd'; s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts'); s.hostname = ''; })), 'domainname');
});

test('no mount namespace: the host mount table is left alone (chroot, no propagation change, no rootfs bind)', () => {
  const spec = specWith((s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
    s.root!.readonly = false;
  });
  const plan = compile(spec);
  const k = kinds(plan);
  assert.ok(k.includes('chroot') && !k.includes('pivot-root') && !k.includes('move-root'));
  assert.ok(!plan.some((o) => o.kind === 'mount' && !o.inRoot), 'no mount outside the rootfs');
  assert.ok(plan.some((o) => o.kind === 'mount' && o.fstype === 'proc' && o.inRoot), 'the config mounts are made (in the runtime namespace)');
  assert.ok(k.indexOf('open-root') < k.indexOf('chroot'));
  throwsField(() => compile(specWith((s) => { s.linux!.namespaces = spec.linux!.namespaces; s.root!.readonly = false; s.linux!.rootfsPropagation = 'rshared'; })), 'linux.rootfsPropagation');
});

test('cgroup mounts: one mount per v1 hierarchy, cgroup2 on v2', () => {
  const v1 = compile(specWith());
  assert.deepEqual(
    v1.filter((o) => o.kind === 'mount' && o.fstype === 'cgroup').map((o) => (o as { target: string; data: string }).target + ':' + (o as { data: string }).data),
    ['/sys/fs/cgroup/cpu:cpu', '/sys/fs/cgroup/memory:memory'],
  );
  const v2 = compile(specWith(), { host: hostFacts({ cgroup: { version: 2 } }) });
  assert.ok(v2.some((o) => o.kind === 'mount' && o.fstype === 'cgroup2' && o.target === '/sys/fs/cgroup'));
});

test('the printed plan is deterministic and names origins', () => {
  const a = formatPlan(compile(specWith()));
  const b = formatPlan(compile(specWith()));
  assert.equal(a, b);
  assert.match(a, /pivot-root\s+\/b\/rootfs\s+# root\.path/);
  assert.match(a, /mount\s+proc on root:\/proc type proc flags 0\s+# mounts\[0\]/);
  assert.match(a, /mknod\s+root:\/dev\/null mode 020666 dev 1:3 owner 0:0/);
});
