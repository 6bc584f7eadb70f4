// containerSpec: every part of a ContainerConfig that reaches the OCI spec, and every refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSpec } from '../../../src/cri/container-spec.ts';
import type { ContainerConfig, LinuxContainerSecurityContext, PodSandboxConfig } from '../../../src/cri/cri-types.ts';
import type { ContainerFacts } from '../../../src/cri/container-facts.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import type { ImageRunConfig } from '../../../src/oci/image-spec.ts';
import { validateSpec } from '../../../src/oci/runtime-spec-validate.ts';
import { DEFAULT_CONTAINER_CAPABILITIES } from '../../../src/runtime/default-spec.ts';
import { CAP_NAMES } from '../../../src/runtime/capabilities.ts';
import { CONTAINER_ID, POD_UID, RUNTIME_DEFAULT, SANDBOX_ID, containerConfig, device, facts, podConfig, withHostPaths } from './cri-fixtures.ts';

const IMAGE: ImageRunConfig = { Entrypoint: ['/entry'], Cmd: ['serve'], Env: ['PATH=/app/bin:/usr/bin', 'LANG=C.UTF-8'] };

function spec(config: ContainerConfig, opts: { pod?: PodSandboxConfig; image?: ImageRunConfig; facts?: ContainerFacts } = {}) {
  const plan = containerSpec(config, opts.pod ?? podConfig(), opts.image ?? IMAGE, opts.facts ?? facts());
  // Whatever the mapping makes, berth-runtime's own validator accepts.
  validateSpec(JSON.parse(JSON.stringify(plan.spec)));
  return plan;
}

const withSc = (sc: LinuxContainerSecurityContext, over: Partial<ContainerConfig> = {}): ContainerConfig =>
  containerConfig({ linux: { security_context: sc }, ...over });

const privilegedPod = (): PodSandboxConfig => {
  const p = podConfig();
  p.linux!.security_context!.privileged = true;
  return p;
};

function rejects(fn: () => unknown, kind: string, field: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BerthError, `not a BerthError: ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (typeof field === 'string') assert.equal(err.where.field, field, err.message);
    else assert.match(err.where.field ?? '', field, err.message);
    return true;
  });
}

test('command and args against the image Entrypoint and Cmd (the kubelet rules)', () => {
  const args = (c: Partial<ContainerConfig>, image: ImageRunConfig = IMAGE) => spec(containerConfig(c), { image }).spec.process!.args;
  assert.deepEqual(args({}), ['/entry', 'serve'], 'neither: Entrypoint + Cmd');
  assert.deepEqual(args({ command: ['/bin/sh'] }), ['/bin/sh'], 'command replaces Entrypoint and drops Cmd');
  assert.deepEqual(args({ args: ['--port', '80'] }), ['/entry', '--port', '80'], 'args replace Cmd');
  assert.deepEqual(args({ command: ['/bin/sh'], args: ['-c', 'true'] }), ['/bin/sh', '-c', 'true']);
  assert.deepEqual(args({}, { Entrypoint: [''], Cmd: ['/bin/app'] }), ['/bin/app'], 'ENTRYPOINT [""] clears the entrypoint');
  assert.deepEqual(args({}, { Cmd: ['/bin/app'], Entrypoint: null }), ['/bin/app']);
  rejects(() => spec(containerConfig(), { image: {} }), 'invalid-argument', 'config.command');
  rejects(() => spec(containerConfig({ args: ['a\0b'] })), 'invalid-argument', 'config.args[0]');
  rejects(() => spec(containerConfig({ command: [''] })), 'invalid-argument', 'config.command');
});

test('env: PATH, HOSTNAME, then image Env, then the request envs, later values win in place', () => {
  const env = spec(containerConfig({ envs: [{ key: 'LANG', value: 'de_DE' }, { key: 'A', value: 'x=y' }, { key: 'A', value: 'z' }] })).spec.process!.env;
  assert.deepEqual(env, ['PATH=/app/bin:/usr/bin', 'HOSTNAME=web', 'LANG=de_DE', 'A=z']);
  const noPath = spec(containerConfig(), { image: { Cmd: ['x'], Env: ['FOO=1', 'HOSTNAME=img'] } }).spec.process!.env;
  assert.deepEqual(noPath, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=img', 'FOO=1']);
  const unset = spec(containerConfig(), { image: { Cmd: ['x'], Env: ['FOO=1', 'FOO'] } }).spec.process!.env;
  assert.ok(!unset!.some((e) => e.startsWith('FOO')), 'an image entry without = unsets');
  const hostNet = podConfig({ hostname: '' });
  hostNet.linux!.security_context!.namespace_options!.network = 'NODE';
  const f = facts();
  f.pod.namespaces.network = 'host';
  f.pod.namespaces.uts = 'host';
  const nsc = { namespace_options: { network: 'NODE' as const, pid: 'CONTAINER' as const, ipc: 'POD' as const } };
  assert.ok(spec(withSc(nsc), { pod: hostNet, facts: f }).spec.process!.env!.includes('HOSTNAME=node-1'), 'no pod hostname: the node\'s');
  rejects(() => spec(containerConfig({ envs: [{ key: 'A=B', value: 'c' }] })), 'invalid-argument', 'config.envs[0].key');
  rejects(() => spec(containerConfig({ envs: [{ key: '', value: 'c' }] })), 'invalid-argument', 'config.envs[0].key');
  rejects(() => spec(containerConfig({ envs: [{ key: 'A', value: 'c\0d' }] })), 'invalid-argument', 'config.envs[0]');
});

test('working_dir over the image WorkingDir; tty, stdin, log path, stop signal', () => {
  assert.equal(spec(containerConfig()).spec.process!.cwd, '/');
  assert.equal(spec(containerConfig(), { image: { ...IMAGE, WorkingDir: '/srv' } }).spec.process!.cwd, '/srv');
  assert.equal(spec(containerConfig({ working_dir: '/tmp' }), { image: { ...IMAGE, WorkingDir: '/srv' } }).spec.process!.cwd, '/tmp');
  rejects(() => spec(containerConfig({ working_dir: 'rel' })), 'invalid-argument', 'config.working_dir');
  rejects(() => spec(containerConfig(), { image: { ...IMAGE, WorkingDir: 'rel' } }), 'invalid-argument', 'image.config.WorkingDir');

  const plain = spec(containerConfig());
  assert.equal(plain.spec.process!.terminal, false);
  assert.deepEqual([plain.tty, plain.stdin, plain.stdinOnce], [false, false, false]);
  const interactive = spec(containerConfig({ tty: true, stdin: true, stdin_once: true }));
  assert.equal(interactive.spec.process!.terminal, true);
  assert.deepEqual([interactive.tty, interactive.stdin, interactive.stdinOnce], [true, true, true]);

  assert.equal(plain.logPath, `/var/log/pods/default_web_${POD_UID}/app/0.log`);
  assert.equal(spec(containerConfig({ log_path: '' })).logPath, undefined, 'no log path: no log');
  assert.equal(spec(containerConfig(), { pod: podConfig({ log_directory: '' }) }).logPath, undefined);
  rejects(() => spec(containerConfig({ log_path: '../../../etc/cron.d/x' })), 'invalid-argument', 'config.log_path');
  rejects(() => spec(containerConfig({ log_path: '/etc/passwd' })), 'invalid-argument', 'config.log_path');
  rejects(() => spec(containerConfig(), { pod: podConfig({ log_directory: 'var/log' }) }), 'invalid-argument', 'sandbox_config.log_directory');

  assert.equal(plain.stopSignal, undefined);
  assert.equal(spec(containerConfig(), { image: { ...IMAGE, StopSignal: 'SIGQUIT' } }).stopSignal, 'SIGQUIT');
  assert.equal(spec(containerConfig({ stop_signal: 'SIGUSR1' }), { image: { ...IMAGE, StopSignal: 'SIGQUIT' } }).stopSignal, 'SIGUSR1');
  assert.equal(spec(containerConfig({ stop_signal: 'SIGRTMINPLUS3' })).stopSignal, 'SIGRTMIN+3');
  assert.equal(spec(containerConfig({ stop_signal: 'SIGRTMAXMINUS1' })).stopSignal, 'SIGRTMAX-1');
  rejects(() => spec(containerConfig({ stop_signal: 99 })), 'invalid-argument', 'config.stop_signal');
});

test('root, annotations, cgroup path; labels and annotations stay out of the spec', () => {
  const s = spec(containerConfig({ labels: { secret: 'x' }, annotations: { 'io.kubernetes.container.hash': '1' } })).spec;
  assert.deepEqual(s.root, { path: `/var/lib/berth/containers/${CONTAINER_ID}/rootfs`, readonly: false });
  assert.deepEqual(s.annotations, {
    'io.kubernetes.cri.sandbox-id': SANDBOX_ID,
    'io.kubernetes.cri.sandbox-namespace': 'default',
    'io.kubernetes.cri.sandbox-uid': POD_UID,
    'io.kubernetes.cri.sandbox-name': 'web',
    'io.kubernetes.cri.container-name': 'app',
    'io.kubernetes.cri.image-name': 'docker.io/library/app:latest',
    'io.kubernetes.cri.container-type': 'container',
  });
  assert.equal(spec(containerConfig({ image: { image: 'sha256:1', user_specified_image: 'app:v2' } })).spec.annotations!['io.kubernetes.cri.image-name'], 'app:v2');
  assert.equal(s.linux!.cgroupsPath, `/kubepods/besteffort/pod${POD_UID}/${CONTAINER_ID}`);
  assert.equal(s.hostname, undefined, 'the hostname lives in the pod\'s UTS namespace');
  assert.equal(s.process!.rlimits, undefined, 'no default rlimits (containerd removes them)');
  assert.equal(spec(withSc({ readonly_rootfs: true })).spec.root!.readonly, true);
});

test('metadata and request sizes are checked', () => {
  rejects(() => spec(containerConfig({ metadata: null })), 'invalid-argument', 'config.metadata');
  rejects(() => spec(containerConfig({ metadata: { name: '' } })), 'invalid-argument', 'config.metadata.name');
  rejects(() => spec(containerConfig({ metadata: { name: '../x' } })), 'invalid-argument', 'config.metadata.name');
  const huge = Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [`label-${i}`, 'v'.repeat(60)]));
  rejects(() => spec(containerConfig({ labels: huge })), 'invalid-argument', 'config.labels');
  rejects(() => spec(containerConfig({ annotations: huge })), 'invalid-argument', 'config.annotations');
  const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`label-${i}`, 'v']));
  const plan = spec(containerConfig({ labels: many }));
  assert.ok(!JSON.stringify(plan.spec).includes('label-1'), 'labels never reach the spec');
  rejects(() => spec(containerConfig({ CDI_devices: [{ name: 'vendor.com/gpu=0' }] })), 'unimplemented', 'config.CDI_devices');
});

test('user: run_as_user, run_as_username, run_as_group, the image User, supplemental groups', () => {
  const user = (sc: LinuxContainerSecurityContext, image: ImageRunConfig = IMAGE, f = facts()) => spec(withSc(sc), { image, facts: f }).spec.process!.user;
  assert.deepEqual(user({}), { uid: 0, gid: 0, additionalGids: [0, 50] }, 'root, and root\'s groups in /etc/group (staff)');
  assert.deepEqual(user({}, { ...IMAGE, User: 'app' }), { uid: 1000, gid: 1000, additionalGids: [4, 29, 1000] });
  assert.deepEqual(user({}, { ...IMAGE, User: 'nginx:www-data' }), { uid: 101, gid: 33, additionalGids: [33] });
  assert.deepEqual(user({ run_as_user: { value: '1000' } }, { ...IMAGE, User: 'nginx' }), { uid: 1000, gid: 1000, additionalGids: [4, 29, 1000] }, 'run_as_user wins over the image');
  assert.deepEqual(user({ run_as_user: { value: '4242' } }), { uid: 4242, gid: 0, additionalGids: [0] }, 'an id with no passwd entry: gid 0');
  assert.deepEqual(user({ run_as_user: { value: '1000' }, run_as_group: { value: '3000' } }), { uid: 1000, gid: 3000, additionalGids: [4, 29, 3000] });
  assert.deepEqual(user({ run_as_username: 'www-data' }), { uid: 33, gid: 33, additionalGids: [29, 33] });
  assert.deepEqual(user({ run_as_username: 'app', run_as_group: { value: '5' } }), { uid: 1000, gid: 5, additionalGids: [4, 5, 29] });
  assert.deepEqual(user({ run_as_user: { value: '1000' }, supplemental_groups: ['2000', '4', '2000'] }), { uid: 1000, gid: 1000, additionalGids: [4, 29, 1000, 2000] }, 'merged, sorted, unique');
  assert.deepEqual(user({ run_as_user: { value: '1000' }, supplemental_groups: ['2000'], supplemental_groups_policy: 'Strict' }), { uid: 1000, gid: 1000, additionalGids: [2000] }, 'Strict: the image\'s groups are not added');
  assert.deepEqual(user({ run_as_user: { value: '1000' } }, IMAGE, facts({ etcGroup: undefined, etcPasswd: undefined })), { uid: 1000, gid: 0, additionalGids: [0] }, 'no /etc/passwd or /etc/group in the image');

  const SC = 'config.linux.security_context';
  rejects(() => user({ run_as_group: { value: '3000' } }), 'invalid-argument', `${SC}.run_as_group`);
  rejects(() => user({ run_as_group: { value: '3000' } }, { ...IMAGE, User: 'app' }), 'invalid-argument', `${SC}.run_as_group`);
  rejects(() => user({ run_as_user: { value: '1' }, run_as_username: 'app' }), 'invalid-argument', `${SC}.run_as_username`);
  rejects(() => user({ run_as_username: 'nobody-here' }), 'invalid-argument', `${SC}.run_as_username`);
  rejects(() => user({}, { ...IMAGE, User: 'ghost' }), 'invalid-argument', 'image.config.User');
  rejects(() => user({ run_as_user: { value: '-1' } }), 'invalid-argument', `${SC}.run_as_user`);
  rejects(() => user({ run_as_user: { value: '4294967296' } }), 'invalid-argument', `${SC}.run_as_user`);
  rejects(() => user({ run_as_username: 'a:b' }), 'invalid-argument', `${SC}.run_as_username`);
  rejects(() => user({ supplemental_groups: ['-5'] }), 'invalid-argument', `${SC}.supplemental_groups[0]`);
  rejects(() => user({ supplemental_groups_policy: 7 }), 'invalid-argument', `${SC}.supplemental_groups_policy`);
});

test('capabilities: containerd\'s defaults, add/drop, ALL, prefixes and case, ambient', () => {
  const caps = (c: LinuxContainerSecurityContext['capabilities']) => spec(withSc({ capabilities: c })).spec.process!.capabilities!;
  assert.deepEqual(DEFAULT_CONTAINER_CAPABILITIES, [
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
    'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
  ]);
  const none = caps(null);
  assert.deepEqual(none, { bounding: DEFAULT_CONTAINER_CAPABILITIES, effective: DEFAULT_CONTAINER_CAPABILITIES, permitted: DEFAULT_CONTAINER_CAPABILITIES });
  assert.ok(!none.bounding!.includes('CAP_NET_ADMIN') && !none.bounding!.includes('CAP_SYS_ADMIN'));
  const added = caps({ add_capabilities: ['NET_ADMIN', 'cap_sys_time'], drop_capabilities: ['MKNOD', 'net_raw'] });
  assert.deepEqual(added.bounding, [...DEFAULT_CONTAINER_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD' && c !== 'CAP_NET_RAW'), 'CAP_NET_ADMIN', 'CAP_SYS_TIME']);
  assert.deepEqual(added.effective, added.bounding);
  assert.equal(added.ambient, undefined, 'no ambient capabilities unless asked');
  assert.deepEqual(caps({ drop_capabilities: ['ALL'] }).bounding, []);
  assert.deepEqual(caps({ drop_capabilities: ['all'], add_capabilities: ['NET_BIND_SERVICE'] }).bounding, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(caps({ add_capabilities: ['ALL'], drop_capabilities: ['CHOWN'] }).bounding, CAP_NAMES.filter((c) => c !== 'CAP_CHOWN'));
  const ambient = caps({ add_ambient_capabilities: ['NET_ADMIN'] });
  assert.deepEqual([ambient.ambient, ambient.inheritable, ambient.permitted!.includes('CAP_NET_ADMIN')], [['CAP_NET_ADMIN'], ['CAP_NET_ADMIN'], true]);
  const F = 'config.linux.security_context.capabilities';
  rejects(() => caps({ add_capabilities: ['SUPERPOWER'] }), 'invalid-argument', `${F}.add_capabilities[0]`);
  rejects(() => caps({ drop_capabilities: ['CHOWN', 'CAP_'] }), 'invalid-argument', `${F}.drop_capabilities[1]`);
  rejects(() => caps({ add_capabilities: ['NET_ADMIN\n'] }), 'invalid-argument', `${F}.add_capabilities[0]`);
});

test('no_new_privs, masked and readonly paths', () => {
  assert.equal(spec(containerConfig()).spec.process!.noNewPrivileges, false);
  assert.equal(spec(withSc({ no_new_privs: true })).spec.process!.noNewPrivileges, true);
  const defaults = spec(containerConfig()).spec.linux!;
  assert.ok(defaults.maskedPaths!.includes('/proc/kcore') && defaults.maskedPaths!.includes('/sys/devices/virtual/powercap'));
  assert.deepEqual(defaults.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  const given = spec(withSc({ masked_paths: ['/proc/kcore', '/proc/x'], readonly_paths: ['/proc/sys'] })).spec.linux!;
  assert.deepEqual([given.maskedPaths, given.readonlyPaths], [['/proc/kcore', '/proc/x'], ['/proc/sys']], 'the request\'s lists verbatim');
  rejects(() => spec(withSc({ masked_paths: ['/proc/../etc/shadow'] })), 'invalid-argument', 'config.linux.security_context.masked_paths[0]');
  rejects(() => spec(withSc({ readonly_paths: ['proc/sys'] })), 'invalid-argument', 'config.linux.security_context.readonly_paths[0]');
});

test('seccomp: unconfined, RuntimeDefault, Localhost, and the deprecated path', () => {
  const sec = (sc: LinuxContainerSecurityContext, f = facts()) => spec(withSc(sc), { facts: f }).spec.linux!.seccomp;
  assert.equal(sec({}), undefined, 'nothing asked: unconfined, as the CRI says');
  assert.equal(sec({ seccomp: { profile_type: 'Unconfined' } }), undefined);
  assert.equal(sec({ seccomp: { profile_type: 'RuntimeDefault' } }), RUNTIME_DEFAULT);
  assert.equal(sec({ seccomp_profile_path: 'runtime/default' }), RUNTIME_DEFAULT);
  assert.equal(sec({ seccomp_profile_path: 'docker/default' }), RUNTIME_DEFAULT);
  assert.equal(sec({ seccomp_profile_path: 'unconfined' }), undefined);
  const local = { defaultAction: 'SCMP_ACT_LOG' as const };
  const f = facts({ seccomp: { runtimeDefault: RUNTIME_DEFAULT, localhost: { '/var/lib/kubelet/seccomp/audit.json': local } } });
  assert.equal(sec({ seccomp: { profile_type: 'Localhost', localhost_ref: '/var/lib/kubelet/seccomp/audit.json' } }, f), local);
  assert.equal(sec({ seccomp_profile_path: 'localhost//var/lib/kubelet/seccomp/audit.json' }, f), local);
  assert.equal(sec({ seccomp: { profile_type: 'Unconfined' }, seccomp_profile_path: 'runtime/default' }), undefined, 'the message wins over the deprecated path');
  const F = 'config.linux.security_context';
  rejects(() => sec({ seccomp: { profile_type: 'Localhost', localhost_ref: 'audit.json' } }), 'invalid-argument', `${F}.seccomp.localhost_ref`);
  rejects(() => sec({ seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '/x.json' } }), 'invalid-argument', `${F}.seccomp.localhost_ref`);
  rejects(() => sec({ seccomp: { profile_type: 5 } }), 'invalid-argument', `${F}.seccomp.profile_type`);
  rejects(() => sec({ seccomp_profile_path: 'some/profile' }), 'invalid-argument', `${F}.seccomp_profile_path`);
  rejects(() => sec({ seccomp: { profile_type: 'Localhost', localhost_ref: '/never-read.json' } }), 'internal', `${F}.seccomp`);
  rejects(() => sec({ seccomp: { profile_type: 'RuntimeDefault' } }, facts({ seccomp: { localhost: {} } })), 'failed-precondition', `${F}.seccomp`);
});

test('AppArmor and SELinux are refused clearly; no-op settings pass', () => {
  const F = 'config.linux.security_context';
  assert.ok(spec(withSc({ apparmor: { profile_type: 'RuntimeDefault' } })));
  assert.ok(spec(withSc({ apparmor: { profile_type: 'Unconfined' }, apparmor_profile: 'localhost/x' })), 'the message wins over the deprecated string');
  assert.ok(spec(withSc({ apparmor_profile: 'runtime/default' })));
  assert.ok(spec(withSc({ selinux_options: { user: '', role: '', type: '', level: '' } })), 'an empty SELinux option is no label');
  rejects(() => spec(withSc({ apparmor: { profile_type: 'Localhost', localhost_ref: 'k8s-nginx' } })), 'unimplemented', `${F}.apparmor`);
  rejects(() => spec(withSc({ apparmor_profile: 'localhost/k8s-nginx' })), 'unimplemented', `${F}.apparmor_profile`);
  rejects(() => spec(withSc({ apparmor_profile: 'bogus' })), 'invalid-argument', `${F}.apparmor_profile`);
  rejects(() => spec(withSc({ selinux_options: { level: 's0:c123,c456' } })), 'unimplemented', `${F}.selinux_options`);
  assert.match(
    (() => {
      try {
        spec(withSc({ selinux_options: { type: 'spc_t' } }));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })(),
    /SELinux is not enabled on this host.*type=spc_t/,
  );
});

test('privileged: needs a privileged pod; all caps and devices, nothing masked, writable sysfs and cgroupfs, no seccomp', () => {
  rejects(() => spec(withSc({ privileged: true })), 'invalid-argument', 'config.linux.security_context.privileged');
  const p = spec(withSc({ privileged: true, seccomp: { profile_type: 'RuntimeDefault' }, capabilities: { drop_capabilities: ['ALL'] } }), { pod: privilegedPod() }).spec;
  assert.deepEqual(p.process!.capabilities!.bounding, CAP_NAMES);
  assert.deepEqual([p.linux!.maskedPaths, p.linux!.readonlyPaths], [[], []]);
  assert.equal(p.linux!.seccomp, undefined);
  assert.deepEqual(p.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(p.linux!.devices!.map((d) => d.path), ['/dev/null', '/dev/sda', '/dev/fuse']);
  assert.ok(p.mounts!.find((m) => m.destination === '/sys')!.options!.includes('rw'));
  assert.ok(!p.mounts!.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.ok(p.mounts!.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('rw'));
  const plain = spec(containerConfig()).spec;
  assert.ok(plain.mounts!.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.ok(plain.mounts!.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('ro'));
  assert.deepEqual(plain.linux!.resources!.devices, [{ allow: false, access: 'rwm' }]);
  assert.deepEqual(plain.linux!.devices, []);
});

test('resources: cpu, cpuset, memory and swap, hugepages, unified, oom_score_adj', () => {
  const res = (r: NonNullable<NonNullable<ContainerConfig['linux']>['resources']>, f = facts()) => spec(containerConfig({ linux: { resources: r } }), { facts: f }).spec;
  const s = res({ cpu_period: '100000', cpu_quota: '50000', cpu_shares: '512', memory_limit_in_bytes: '134217728', oom_score_adj: '-997', cpuset_cpus: '0-1,3', cpuset_mems: '0' });
  assert.deepEqual(s.linux!.resources, {
    devices: [{ allow: false, access: 'rwm' }],
    cpu: { period: 100000, quota: 50000, shares: 512, cpus: '0-1,3', mems: '0' },
    memory: { limit: 134217728, swap: 134217728 },
  });
  assert.equal(s.process!.oomScoreAdj, -997);
  assert.deepEqual(res({ memory_limit_in_bytes: '1000', memory_swap_limit_in_bytes: '3000' }).linux!.resources!.memory, { limit: 1000, swap: 3000 });
  const f = facts();
  f.host.swapAccounting = false;
  assert.deepEqual(res({ memory_limit_in_bytes: '1000', memory_swap_limit_in_bytes: '3000' }, f).linux!.resources!.memory, { limit: 1000 }, 'no swap accounting: no swap limit');
  const zeros = res({ cpu_shares: '2', oom_score_adj: '1000', hugepage_limits: [{ page_size: '2MB', limit: '0' }, { page_size: '1GB', limit: '0' }] });
  assert.deepEqual(zeros.linux!.resources, { devices: [{ allow: false, access: 'rwm' }], cpu: { shares: 2 }, hugepageLimits: [{ pageSize: '2MB', limit: 0 }, { pageSize: '1GB', limit: 0 }] });
  const noHugetlb = facts();
  noHugetlb.host.hugetlb = false;
  assert.equal(res({ hugepage_limits: [{ page_size: '2MB', limit: '0' }] }, noHugetlb).linux!.resources!.hugepageLimits, undefined, 'no hugetlb controller: dropped');
  assert.deepEqual(res({ unified: { 'memory.high': '1000000', 'io.weight': 'default 100' } }).linux!.resources!.unified, { 'memory.high': '1000000', 'io.weight': 'default 100' });
  assert.equal(spec(containerConfig()).spec.process!.oomScoreAdj, undefined, 'no resources: nothing set');
  const F = 'config.linux.resources';
  rejects(() => res({ cpu_shares: '-5' }), 'invalid-argument', `${F}.cpu_shares`);
  rejects(() => res({ cpu_quota: '-2' }), 'invalid-argument', `${F}.cpu_quota`);
  rejects(() => res({ memory_limit_in_bytes: '99999999999999999999' }), 'invalid-argument', `${F}.memory_limit_in_bytes`);
  rejects(() => res({ memory_limit_in_bytes: '12abc' }), 'invalid-argument', `${F}.memory_limit_in_bytes`);
  rejects(() => res({ oom_score_adj: '1001' }), 'invalid-argument', `${F}.oom_score_adj`);
  rejects(() => res({ cpuset_cpus: '0-1\n' }), 'invalid-argument', `${F}.cpuset_cpus`);
  rejects(() => res({ hugepage_limits: [{ page_size: '2M', limit: '1' }] }), 'invalid-argument', `${F}.hugepage_limits[0].page_size`);
  rejects(() => res({ unified: { '../../../release_agent': '/x' } }), 'invalid-argument', /unified/);
  rejects(() => res({ unified: { 'memory.max': '1\nmemory.high 2' } }), 'invalid-argument', /unified/);
});

test('devices: a node with its permissions, a directory of nodes; hostile paths refused', () => {
  const f = facts({ devices: { '/dev/fuse': [device('/dev/fuse', 10, 229)], '/dev/snd': [device('/dev/snd/pcmC0D0p', 116, 16), device('/dev/snd/controlC0', 116, 0)] } });
  const s = spec(containerConfig({ devices: [{ host_path: '/dev/fuse', container_path: '/dev/fuse', permissions: 'mrw' }, { host_path: '/dev/snd', container_path: '/dev/sound', permissions: 'r' }] }), { facts: f }).spec;
  assert.deepEqual(s.linux!.devices, [
    { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o660, uid: 0, gid: 0 },
    { type: 'c', path: '/dev/sound/pcmC0D0p', major: 116, minor: 16, fileMode: 0o660, uid: 0, gid: 0 },
    { type: 'c', path: '/dev/sound/controlC0', major: 116, minor: 0, fileMode: 0o660, uid: 0, gid: 0 },
  ]);
  assert.deepEqual(s.linux!.resources!.devices, [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
    { allow: true, type: 'c', major: 116, minor: 16, access: 'r' },
    { allow: true, type: 'c', major: 116, minor: 0, access: 'r' },
  ]);
  const noDest = spec(containerConfig({ devices: [{ host_path: '/dev/fuse', permissions: '' }] }), { facts: f }).spec;
  assert.equal(noDest.linux!.devices![0]!.path, '/dev/fuse', 'no container path: the host path');
  assert.equal(noDest.linux!.resources!.devices![1]!.access, 'rwm', 'no permissions: rwm');
  rejects(() => spec(containerConfig({ devices: [{ host_path: '/dev/fuse', container_path: '/dev/fuse', permissions: 'rwx' }] }), { facts: f }), 'invalid-argument', 'config.devices[0].permissions');
  rejects(() => spec(containerConfig({ devices: [{ host_path: '/dev/fuse', container_path: '/dev/../etc/fuse' }] }), { facts: f }), 'invalid-argument', 'config.devices[0].container_path');
  rejects(() => spec(containerConfig({ devices: [{ host_path: 'dev/fuse' }] }), { facts: f }), 'invalid-argument', 'config.devices[0].host_path');
  rejects(() => spec(containerConfig({ devices: [{ host_path: '/dev/kvm' }] }), { facts: f }), 'internal', 'config.devices[0].host_path');
  rejects(() => spec(containerConfig({ devices: [{ host_path: '/dev/empty' }] }), { facts: facts({ devices: { '/dev/empty': [] } }) }), 'invalid-argument', 'config.devices[0].host_path');
});

test('namespaces: POD, NODE, CONTAINER and TARGET for pid, network and ipc', () => {
  const ns = (options: NonNullable<LinuxContainerSecurityContext['namespace_options']>, f = facts()) => spec(withSc({ namespace_options: options }), { facts: f }).spec.linux!.namespaces!;
  const podNs = `/run/berth/pods/${SANDBOX_ID}/ns`;
  assert.deepEqual(ns({ network: 'POD', ipc: 'POD', pid: 'CONTAINER' }), [
    { type: 'pid' },
    { type: 'network', path: `${podNs}/net` },
    { type: 'ipc', path: `${podNs}/ipc` },
    { type: 'uts', path: `${podNs}/uts` },
    { type: 'mount' },
  ]);
  const shared = facts();
  shared.pod.namespaces.pid = { path: '/proc/4242/ns/pid' };
  assert.deepEqual(ns({ pid: 'POD' }, shared)[0], { type: 'pid', path: '/proc/4242/ns/pid' });
  rejects(() => ns({ pid: 'POD' }), 'invalid-argument', 'config.linux.security_context.namespace_options.pid');
  assert.deepEqual(spec(containerConfig()).spec.linux!.namespaces![0], { type: 'pid' }, 'no NamespaceOption (crictl): the pod\'s PID arrangement');
  assert.deepEqual(spec(containerConfig(), { facts: shared }).spec.linux!.namespaces![0], { type: 'pid', path: '/proc/4242/ns/pid' });
  const target = facts({ target: { id: 'd'.repeat(64), pid: '/proc/77/ns/pid' } });
  assert.deepEqual(ns({ pid: 'TARGET', target_id: 'd'.repeat(64) }, target)[0], { type: 'pid', path: '/proc/77/ns/pid' });
  rejects(() => ns({ pid: 'TARGET' }, target), 'invalid-argument', 'config.linux.security_context.namespace_options.target_id');
  rejects(() => ns({ pid: 'TARGET', target_id: 'other' }, target), 'invalid-argument', 'config.linux.security_context.namespace_options.target_id');
  rejects(() => ns({ pid: 'NODE' }), 'invalid-argument', 'config.linux.security_context.namespace_options.pid');
  rejects(() => ns({ network: 'NODE', pid: 'CONTAINER' }), 'invalid-argument', 'config.linux.security_context.namespace_options.network');
  rejects(() => ns({ ipc: 'NODE', pid: 'CONTAINER' }), 'invalid-argument', 'config.linux.security_context.namespace_options.ipc');
  rejects(() => ns({ ipc: 9, pid: 'CONTAINER' }), 'invalid-argument', 'config.linux.security_context.namespace_options.ipc');
  const host = facts();
  host.pod.namespaces = { network: 'host', ipc: 'host', uts: 'host', pid: 'host' };
  assert.deepEqual(ns({ network: 'NODE', ipc: 'NODE', pid: 'NODE' }, host), [{ type: 'mount' }], 'all host: only a mount namespace');
  assert.deepEqual(ns({ network: 'NODE', ipc: 'CONTAINER', pid: 'CONTAINER' }, host), [{ type: 'pid' }, { type: 'ipc' }, { type: 'mount' }]);
  const v2 = facts();
  v2.host.cgroupV2 = true;
  assert.deepEqual(ns({ pid: 'CONTAINER' }, v2).at(-1), { type: 'cgroup' }, 'cgroup v2: a cgroup namespace');
  assert.ok(!spec(withSc({ privileged: true, namespace_options: { pid: 'CONTAINER' } }), { pod: privilegedPod(), facts: v2 }).spec.linux!.namespaces!.some((n) => n.type === 'cgroup'), 'not for privileged ones');
  rejects(() => ns({ pid: 'CONTAINER', userns_options: { mode: 'POD', uids: [{ host_id: 100000, container_id: 0, length: 65536 }] } }), 'unimplemented', 'config.linux.security_context.namespace_options.userns_options');
  assert.ok(ns({ pid: 'CONTAINER', userns_options: { mode: 'NODE' } }).every((n) => n.type !== 'user'));
});

test('the mapping reads its inputs without changing them', () => {
  const freeze = <T>(o: T): T => {
    if (o && typeof o === 'object') {
      Object.values(o).forEach(freeze);
      Object.freeze(o);
    }
    return o;
  };
  const f = withHostPaths(facts({ devices: { '/dev/fuse': [device('/dev/fuse', 10, 229)] } }), { '/srv': '/srv' });
  const config = containerConfig({
    mounts: [{ container_path: '/srv', host_path: '/srv' }],
    devices: [{ host_path: '/dev/fuse' }],
    envs: [{ key: 'A', value: '1' }],
    linux: { resources: { cpu_shares: '2' }, security_context: { capabilities: { add_capabilities: ['NET_ADMIN'] }, privileged: true } },
  });
  const before = JSON.stringify([config, f]);
  const plan = containerSpec(freeze(config), freeze(privilegedPod()), freeze({ ...IMAGE, Volumes: { '/v': {} } }), freeze(f));
  assert.equal(JSON.stringify([config, f]), before);
  plan.spec.process!.capabilities!.bounding!.push('CAP_X');
  assert.ok(!DEFAULT_CONTAINER_CAPABILITIES.includes('CAP_X') && !CAP_NAMES.includes('CAP_X'), 'the spec shares no arrays with berth\'s constants');
  assert.equal(containerSpec(containerConfig({ command: ['/x'] }), podConfig(), undefined, facts()).spec.process!.args![0], '/x', 'no image config at all');
});
