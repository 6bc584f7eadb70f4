// podPlan and infraSpec: what a PodSandboxConfig makes of a pod, and what it may not ask.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podPlan, POD_SHM_BYTES, type PodFacts } from '../../../src/cri/pod-plan.ts';
import { infraSpec, INFRA_OOM_SCORE_ADJ } from '../../../src/cri/pod-infra-spec.ts';
import { hostsFile } from '../../../src/cri/pod-files.ts';
import type { LinuxSandboxSecurityContext, PodSandboxConfig } from '../../../src/cri/cri-types.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import { validateSpec } from '../../../src/oci/runtime-spec-validate.ts';
import { POD_UID, RUNTIME_DEFAULT, SANDBOX_ID, podConfig } from './cri-fixtures.ts';

const FACTS: PodFacts = {
  nodeHostname: 'node-1',
  hostResolvConf: 'nameserver 192.168.1.1\nsearch lan\n',
  hostHosts: '127.0.0.1 localhost\n192.168.1.20 node-1\n',
  defaultCgroupParent: '/berth',
};

function withSc(sc: LinuxSandboxSecurityContext, over: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  const p = podConfig(over);
  p.linux = { ...p.linux, security_context: sc };
  return p;
}

function rejects(fn: () => unknown, kind: string, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BerthError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.equal(err.where.field, field, err.message);
    return true;
  });
}

test('a kubelet pod: pinned namespaces, its files, a 64 MiB /dev/shm, its cgroup parent', () => {
  const plan = podPlan(podConfig(), FACTS);
  assert.deepEqual(plan.metadata, { name: 'web', namespace: 'default', uid: POD_UID, attempt: 0 });
  assert.equal(plan.hostname, 'web');
  assert.deepEqual(plan.namespaces, { network: 'pinned', ipc: 'pinned', uts: 'pinned', pid: 'container' });
  assert.equal(plan.needsInfra, false, 'no shared PID namespace: no infra process');
  assert.deepEqual(plan.files, {
    hostname: 'web\n',
    hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n',
    resolvConf: 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  });
  assert.deepEqual(plan.shm, { sizeBytes: POD_SHM_BYTES });
  assert.equal(POD_SHM_BYTES, 67108864);
  assert.equal(plan.cgroupParent, `/kubepods/besteffort/pod${POD_UID}`);
  assert.equal(plan.logDirectory, `/var/log/pods/default_web_${POD_UID}`);
  assert.deepEqual(plan.sysctls, []);
  assert.equal(plan.privileged, false);
  assert.deepEqual(plan.seccomp, { kind: 'unconfined' });
});

test('host network, IPC and PID; UTS follows the network', () => {
  const plan = podPlan(withSc({ namespace_options: { network: 'NODE', ipc: 'NODE', pid: 'NODE' } }, { hostname: '' }), FACTS);
  assert.deepEqual(plan.namespaces, { network: 'host', ipc: 'host', uts: 'host', pid: 'host' });
  assert.equal(plan.hostname, 'node-1');
  assert.equal(plan.files.hosts, FACTS.hostHosts, 'a host-network pod gets the host\'s /etc/hosts');
  assert.equal(plan.shm, 'host');
  const shared = podPlan(withSc({ namespace_options: { network: 'POD', ipc: 'POD', pid: 'POD' } }), FACTS);
  assert.equal(shared.namespaces.pid, 'pod');
  assert.equal(shared.needsInfra, true);
  rejects(() => podPlan(podConfig({ hostname: '' }), FACTS), 'invalid-argument', 'config.hostname');
});

test('resolv.conf: the pod\'s DNS config, else the host\'s; injected lines refused', () => {
  assert.equal(podPlan(podConfig({ dns_config: null }), FACTS).files.resolvConf, FACTS.hostResolvConf);
  assert.equal(podPlan(podConfig({ dns_config: { servers: [], searches: [], options: [] } }), FACTS).files.resolvConf, FACTS.hostResolvConf);
  assert.equal(podPlan(podConfig({ dns_config: { servers: ['1.1.1.1', '2606:4700::1111'] } }), FACTS).files.resolvConf, 'nameserver 1.1.1.1\nnameserver 2606:4700::1111\n');
  rejects(() => podPlan(podConfig({ dns_config: { searches: ['svc.cluster.local\nnameserver 6.6.6.6'] } }), FACTS), 'invalid-argument', 'config.dns_config.searches[0]');
  rejects(() => podPlan(podConfig({ dns_config: { servers: ['10.0.0.1 6.6.6.6'] } }), FACTS), 'invalid-argument', 'config.dns_config.servers[0]');
  rejects(() => podPlan(podConfig({ dns_config: { servers: ['dns.example'] } }), FACTS), 'invalid-argument', 'config.dns_config.servers[0]');
  rejects(() => podPlan(podConfig({ dns_config: { options: ['ndots:5 attempts:9'] } }), FACTS), 'invalid-argument', 'config.dns_config.options[0]');
});

test('hosts file with the pod\'s addresses after CNI', () => {
  const text = hostsFile({ hostNetwork: false, hostHosts: '', hostname: 'web', podIPs: ['10.244.1.7', 'fd00::7'] });
  assert.ok(text.endsWith('10.244.1.7\tweb\nfd00::7\tweb\n'));
  assert.throws(() => hostsFile({ hostNetwork: false, hostHosts: '', hostname: 'web', podIPs: ['10.0.0.1\n1.2.3.4 evil'] }), /not an IP address/);
});

test('hostname: RFC 1123, at most 64 bytes', () => {
  assert.equal(podPlan(podConfig({ hostname: 'web-0.web.default' }), FACTS).hostname, 'web-0.web.default');
  for (const bad of ['web\nx', '-web', 'a'.repeat(65), 'we_b', 'web.', 'a b']) {
    rejects(() => podPlan(podConfig({ hostname: bad }), FACTS), 'invalid-argument', 'config.hostname');
  }
});

test('sysctls: namespaced ones go to the pod; host ones and injections are refused (CVE-2022-0811)', () => {
  const plan = podPlan(podConfig({ linux: { ...podConfig().linux, sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', 'net/ipv4/ping_group_range': '0 2147483647' } } }), FACTS);
  assert.deepEqual(plan.sysctls, [
    { key: 'net.ipv4.ip_unprivileged_port_start', path: '/proc/sys/net/ipv4/ip_unprivileged_port_start', value: '0' },
    { key: 'kernel.shm_rmid_forced', path: '/proc/sys/kernel/shm_rmid_forced', value: '1' },
    { key: 'net.ipv4.ping_group_range', path: '/proc/sys/net/ipv4/ping_group_range', value: '0 2147483647' },
  ]);
  const sys = (sysctls: Record<string, string>, sc?: LinuxSandboxSecurityContext) => {
    const p = podConfig();
    p.linux = { ...p.linux, sysctls, ...(sc ? { security_context: sc } : {}) };
    return () => podPlan(p, FACTS);
  };
  rejects(sys({ 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/tmp/x' }), 'invalid-argument', 'config.linux.sysctls.kernel.shm_rmid_forced');
  rejects(sys({ 'net.ipv4.ip_forward': '1=1' }), 'invalid-argument', 'config.linux.sysctls.net.ipv4.ip_forward');
  rejects(sys({ 'kernel.core_pattern': '|/tmp/x' }), 'invalid-argument', 'config.linux.sysctls.kernel.core_pattern');
  rejects(sys({ 'vm.overcommit_memory': '1' }), 'invalid-argument', 'config.linux.sysctls.vm.overcommit_memory');
  rejects(sys({ 'net.ipv4.../../../kernel/core_pattern': '1' }), 'invalid-argument', 'config.linux.sysctls.net.ipv4.../../../kernel/core_pattern');
  rejects(sys({ 'net.ipv4.ip_forward': '1' }, { namespace_options: { network: 'NODE' } }), 'invalid-argument', 'config.linux.sysctls.net.ipv4.ip_forward');
  rejects(sys({ 'kernel.msgmax': '1' }, { namespace_options: { ipc: 'NODE' } }), 'invalid-argument', 'config.linux.sysctls.kernel.msgmax');
});

test('the pod\'s security context is checked', () => {
  const SC = 'config.linux.security_context';
  rejects(() => podPlan(withSc({ run_as_group: { value: '1' } }), FACTS), 'invalid-argument', `${SC}.run_as_group`);
  rejects(() => podPlan(withSc({ selinux_options: { type: 'container_t' } }), FACTS), 'unimplemented', `${SC}.selinux_options`);
  rejects(() => podPlan(withSc({ apparmor: { profile_type: 'Localhost', localhost_ref: 'p' } }), FACTS), 'unimplemented', `${SC}.apparmor`);
  rejects(() => podPlan(withSc({ namespace_options: { userns_options: { mode: 'POD' } } }), FACTS), 'unimplemented', `${SC}.namespace_options.userns_options`);
  rejects(() => podPlan(withSc({ namespace_options: { network: 'CONTAINER' } }), FACTS), 'invalid-argument', `${SC}.namespace_options.network`);
  rejects(() => podPlan(withSc({ namespace_options: { pid: 'TARGET' } }), FACTS), 'invalid-argument', `${SC}.namespace_options.pid`);
  rejects(() => podPlan(withSc({ supplemental_groups: ['-1'] }), FACTS), 'invalid-argument', `${SC}.supplemental_groups[0]`);
  assert.deepEqual(podPlan(withSc({ seccomp: { profile_type: 'RuntimeDefault' }, privileged: true }), FACTS).seccomp, { kind: 'runtime-default' });
});

test('metadata, cgroup parent, port mappings, sizes', () => {
  rejects(() => podPlan(podConfig({ metadata: null }), FACTS), 'invalid-argument', 'config.metadata');
  rejects(() => podPlan(podConfig({ metadata: { name: 'web', uid: '../x', namespace: 'default' } }), FACTS), 'invalid-argument', 'config.metadata.uid');
  rejects(() => podPlan(podConfig({ metadata: { name: 'web', uid: 'u', namespace: '' } }), FACTS), 'invalid-argument', 'config.metadata.namespace');
  const cg = (cgroup_parent: string) => podPlan(podConfig({ linux: { cgroup_parent } }), FACTS).cgroupParent;
  assert.equal(cg(''), '/berth');
  assert.equal(cg('/kubepods/burstable/podx/'), '/kubepods/burstable/podx');
  rejects(() => cg('kubepods-burstable-podx.slice'), 'invalid-argument', 'config.linux.cgroup_parent');
  rejects(() => cg('/kubepods/../../sys'), 'invalid-argument', 'config.linux.cgroup_parent');
  const ports = podPlan(podConfig({ port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 0 }, { protocol: 'UDP', container_port: 53, host_port: 5353, host_ip: '127.0.0.1' }] }), FACTS).portMappings;
  assert.deepEqual(ports, [{ protocol: 'UDP', containerPort: 53, hostPort: 5353, hostIP: '127.0.0.1' }], 'only mappings with a host port');
  rejects(() => podPlan(podConfig({ port_mappings: [{ container_port: 70000 }] }), FACTS), 'invalid-argument', 'config.port_mappings[0].container_port');
  rejects(() => podPlan(podConfig({ port_mappings: [{ container_port: 80, host_port: 8080, host_ip: 'localhost' }] }), FACTS), 'invalid-argument', 'config.port_mappings[0].host_ip');
  rejects(() => podPlan(podConfig({ port_mappings: [{ protocol: 4, container_port: 80 }] }), FACTS), 'invalid-argument', 'config.port_mappings[0].protocol');
  const huge = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`a${i}`, 'x'.repeat(400)]));
  rejects(() => podPlan(podConfig({ annotations: huge }), FACTS), 'invalid-argument', 'config.annotations');
});

test('the infra process of a pod-wide PID namespace', () => {
  const config = withSc({ namespace_options: { network: 'POD', ipc: 'POD', pid: 'POD' }, seccomp: { profile_type: 'RuntimeDefault' } });
  const plan = podPlan(config, FACTS);
  const ns = `/run/berth/pods/${SANDBOX_ID}/ns`;
  const infra = infraSpec(config, plan, {
    sandboxId: SANDBOX_ID,
    rootfs: '/usr/lib/berth/infra-rootfs',
    args: ['/pause'],
    namespaces: { network: { path: `${ns}/net` }, ipc: { path: `${ns}/ipc` }, uts: { path: `${ns}/uts` } },
    seccomp: { runtimeDefault: RUNTIME_DEFAULT, localhost: {} },
  });
  validateSpec(JSON.parse(JSON.stringify(infra)));
  assert.deepEqual(infra.linux!.namespaces, [{ type: 'pid' }, { type: 'network', path: `${ns}/net` }, { type: 'ipc', path: `${ns}/ipc` }, { type: 'uts', path: `${ns}/uts` }, { type: 'mount' }]);
  assert.deepEqual(infra.process!.user, { uid: 65535, gid: 65535, additionalGids: [] });
  assert.deepEqual(infra.process!.capabilities, { bounding: [], effective: [], permitted: [] });
  assert.equal(infra.process!.noNewPrivileges, true);
  assert.equal(infra.process!.oomScoreAdj, INFRA_OOM_SCORE_ADJ);
  assert.equal(infra.linux!.resources!.cpu!.shares, 2);
  assert.equal(infra.linux!.cgroupsPath, `/kubepods/besteffort/pod${POD_UID}/${SANDBOX_ID}`);
  assert.equal(infra.linux!.seccomp, RUNTIME_DEFAULT);
  assert.equal(infra.root!.readonly, true);
  assert.equal(infra.annotations!['io.kubernetes.cri.container-type'], 'sandbox');
  assert.equal(infra.annotations!['io.kubernetes.cri.sandbox-log-directory'], `/var/log/pods/default_web_${POD_UID}`);
  const asUser = withSc({ namespace_options: { pid: 'POD' }, run_as_user: { value: '1000' }, supplemental_groups: ['7', '3'] });
  const u = infraSpec(asUser, podPlan(asUser, FACTS), { sandboxId: SANDBOX_ID, rootfs: '/r', args: ['/pause'], namespaces: { network: 'host', ipc: 'host', uts: 'host' }, seccomp: { localhost: {} } });
  assert.deepEqual(u.process!.user, { uid: 1000, gid: 0, additionalGids: [3, 7] });
  assert.deepEqual(u.linux!.namespaces, [{ type: 'pid' }, { type: 'mount' }]);
  assert.equal(u.linux!.seccomp, undefined);
});
