// Realistic requests: a CreateContainerRequest as a kubelet sends it for an nginx pod (decoded
// from protobuf bytes, so every default the loader fills in is there), the image config the
// registry serves for nginx:1.27, and variants a kubelet makes for other pod specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { containerSpec } from '../../../src/cri/container-spec.ts';
import type { ContainerFacts } from '../../../src/cri/container-facts.ts';
import type { CreateContainerRequest } from '../../../src/cri/cri-types.ts';
import { podPlan } from '../../../src/cri/pod-plan.ts';
import { loadCri } from '../../../src/cri/proto-load.ts';
import type { ImageConfig } from '../../../src/oci/image-spec.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { validateSpec } from '../../../src/oci/runtime-spec-validate.ts';
import { DEFAULT_CONTAINER_CAPABILITIES } from '../../../src/runtime/default-spec.ts';
import { CAP_NAMES } from '../../../src/runtime/capabilities.ts';
import { ETC_GROUP, ETC_PASSWD, RUNTIME_DEFAULT, device } from './cri-fixtures.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/cri/${name}`, import.meta.url), 'utf8'));
const create = loadCri().runtimeService.CreateContainer!;
/** Through the wire and back, as berthd receives it. */
const decode = (request: object): CreateContainerRequest => create.requestDeserialize(create.requestSerialize(request)) as CreateContainerRequest;
const NGINX = fixture('kubelet-nginx-create.json') as CreateContainerRequest;
const IMAGE = (fixture('nginx-1.27-image-config.json') as ImageConfig).config!;

const UID = '0b5e8c1a-3f2d-4e6b-9a7c-1d2e3f4a5b6c';
const KUBELET_POD = `/var/lib/kubelet/pods/${UID}`;
const SANDBOX = NGINX.pod_sandbox_id!;
const ID = '9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d';
const POD_DIR = `/var/lib/berth/pods/${SANDBOX}`;
const NS = `/run/berth/pods/${SANDBOX}/ns`;

function factsFor(request: CreateContainerRequest): ContainerFacts {
  const plan = podPlan(request.sandbox_config!, { nodeHostname: 'node-1', hostResolvConf: '', hostHosts: '', defaultCgroupParent: '/berth' });
  const pinned = (type: string) => ({ path: `${NS}/${type}` });
  const hostPaths: ContainerFacts['hostPaths'] = {};
  for (const m of request.config!.mounts ?? []) hostPaths[m.host_path!] = { resolved: m.host_path!, mountPropagation: 'private' };
  hostPaths['/lib/modules'] = { resolved: '/usr/lib/modules', mountPropagation: 'private' };
  return {
    containerId: ID,
    sandboxId: SANDBOX,
    rootfs: `/var/lib/berth/containers/${ID}/rootfs`,
    imageName: 'docker.io/library/nginx:1.27',
    etcPasswd: ETC_PASSWD,
    etcGroup: ETC_GROUP,
    pod: {
      namespaces: {
        network: plan.namespaces.network === 'host' ? 'host' : pinned('net'),
        ipc: plan.namespaces.ipc === 'host' ? 'host' : pinned('ipc'),
        uts: plan.namespaces.uts === 'host' ? 'host' : pinned('uts'),
        pid: plan.namespaces.pid === 'host' ? 'host' : 'per-container',
      },
      files: { hostname: `${POD_DIR}/hostname`, hosts: `${POD_DIR}/hosts`, resolvConf: `${POD_DIR}/resolv.conf`, shm: plan.shm === 'host' ? '/dev/shm' : `/run/berth/pods/${SANDBOX}/shm` },
      cgroupParent: plan.cgroupParent,
      nodeHostname: 'node-1',
    },
    hostPaths,
    devices: {},
    hostDevices: [device('/dev/null', 1, 3), device('/dev/kmsg', 1, 11)],
    seccomp: { runtimeDefault: RUNTIME_DEFAULT, localhost: {} },
    imageVolumeDir: `/var/lib/berth/containers/${ID}/volumes`,
    host: { cgroupV2: false, swapAccounting: false, hugetlb: true, recursiveReadOnly: true },
  };
}

function specFor(request: CreateContainerRequest): Spec {
  const decoded = decode(request);
  const { spec } = containerSpec(decoded.config!, decoded.sandbox_config!, IMAGE, factsFor(decoded));
  validateSpec(JSON.parse(JSON.stringify(spec)));
  return spec;
}

const bind = (destination: string, source: string, mode = 'rw') => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate', mode] });

test('the kubelet\'s nginx container becomes the spec containerd would make', () => {
  const expected: Spec = {
    ociVersion: '1.2.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [0, 50] },
      args: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HOSTNAME=nginx',
        'NGINX_VERSION=1.27.3',
        'NJS_VERSION=0.8.7',
        'NJS_RELEASE=1~bookworm',
        'PKG_RELEASE=1~bookworm',
        'DYNPKG_RELEASE=1~bookworm',
        'KUBERNETES_SERVICE_PORT_HTTPS=443',
        'KUBERNETES_SERVICE_PORT=443',
        'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443',
        'KUBERNETES_PORT_443_TCP_PROTO=tcp',
        'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
        'KUBERNETES_SERVICE_HOST=10.96.0.1',
        'KUBERNETES_PORT=tcp://10.96.0.1:443',
        'KUBERNETES_PORT_443_TCP_PORT=443',
      ],
      cwd: '/',
      capabilities: { bounding: DEFAULT_CONTAINER_CAPABILITIES, effective: DEFAULT_CONTAINER_CAPABILITIES, permitted: DEFAULT_CONTAINER_CAPABILITIES },
      noNewPrivileges: false,
      oomScoreAdj: 1000,
    },
    root: { path: `/var/lib/berth/containers/${ID}/rootfs`, readonly: false },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      // depth 2, in order: the request's mounts, then the pod's files (stable sort by depth)
      bind('/etc/hosts', `${KUBELET_POD}/etc-hosts`),
      bind('/dev/termination-log', `${KUBELET_POD}/containers/nginx/2f4e1c7a`),
      bind('/etc/hostname', `${POD_DIR}/hostname`),
      bind('/etc/resolv.conf', `${POD_DIR}/resolv.conf`),
      bind('/dev/shm', `/run/berth/pods/${SANDBOX}/shm`),
      bind('/var/run/secrets/kubernetes.io/serviceaccount', `${KUBELET_POD}/volumes/kubernetes.io~projected/kube-api-access-x7k2p`, 'ro'),
    ],
    annotations: {
      'io.kubernetes.cri.sandbox-id': SANDBOX,
      'io.kubernetes.cri.sandbox-namespace': 'default',
      'io.kubernetes.cri.sandbox-uid': UID,
      'io.kubernetes.cri.sandbox-name': 'nginx',
      'io.kubernetes.cri.container-name': 'nginx',
      'io.kubernetes.cri.image-name': 'nginx:1.27',
      'io.kubernetes.cri.container-type': 'container',
    },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: `${NS}/net` }, { type: 'ipc', path: `${NS}/ipc` }, { type: 'uts', path: `${NS}/uts` }, { type: 'mount' }],
      devices: [],
      cgroupsPath: `/kubepods/besteffort/pod${UID}/${ID}`,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        cpu: { period: 100000, shares: 2 },
        hugepageLimits: [{ pageSize: '2MB', limit: 0 }, { pageSize: '1GB', limit: 0 }],
      },
      maskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      seccomp: RUNTIME_DEFAULT,
    },
  };
  assert.deepEqual(specFor(NGINX), expected);
  const decoded = decode(NGINX);
  const plan = containerSpec(decoded.config!, decoded.sandbox_config!, IMAGE, factsFor(decoded));
  assert.equal(plan.logPath, `/var/log/pods/default_nginx_${UID}/nginx/0.log`);
  assert.equal(plan.stopSignal, 'SIGQUIT', 'the image\'s StopSignal');
});

type Variant = { name: string; edit: (r: any) => void; check?: (s: Spec) => void; refused?: RegExp };

const variants: Variant[] = [
  {
    name: 'a restricted Burstable container (runAsUser 101, fsGroup 2000, read-only root, no escalation, drop ALL add NET_BIND_SERVICE, 500m/128Mi)',
    edit: (r) => {
      const sc = r.config.linux.security_context;
      sc.run_as_user = { value: '101' };
      sc.run_as_group = { value: '101' };
      sc.supplemental_groups = ['2000'];
      sc.readonly_rootfs = true;
      sc.no_new_privs = true;
      sc.capabilities = { add_capabilities: ['NET_BIND_SERVICE'], drop_capabilities: ['ALL'], add_ambient_capabilities: [] };
      Object.assign(r.config.linux.resources, { cpu_quota: '50000', cpu_shares: '102', memory_limit_in_bytes: '134217728', oom_score_adj: '968' });
      r.sandbox_config.linux.cgroup_parent = `/kubepods/burstable/pod${UID}`;
    },
    check: (s) => {
      assert.deepEqual(s.process!.user, { uid: 101, gid: 101, additionalGids: [101, 2000] });
      assert.equal(s.root!.readonly, true);
      assert.equal(s.process!.noNewPrivileges, true);
      assert.deepEqual(s.process!.capabilities, { bounding: ['CAP_NET_BIND_SERVICE'], effective: ['CAP_NET_BIND_SERVICE'], permitted: ['CAP_NET_BIND_SERVICE'] });
      assert.deepEqual(s.linux!.resources!.cpu, { period: 100000, quota: 50000, shares: 102 });
      assert.deepEqual(s.linux!.resources!.memory, { limit: 134217728 });
      assert.equal(s.process!.oomScoreAdj, 968);
      assert.equal(s.linux!.cgroupsPath, `/kubepods/burstable/pod${UID}/${ID}`);
      // /etc/hosts is the kubelet's mount (rw as it asked); the pod's own files go read-only
      assert.deepEqual(s.mounts!.find((m) => m.destination === '/etc/resolv.conf')!.options, ['rbind', 'rprivate', 'ro']);
      assert.deepEqual(s.mounts!.find((m) => m.destination === '/etc/hosts')!.options, ['rbind', 'rprivate', 'rw']);
    },
  },
  {
    name: 'a privileged host-network DaemonSet container (kube-proxy)',
    edit: (r) => {
      for (const ns of [r.config.linux.security_context.namespace_options, r.sandbox_config.linux.security_context.namespace_options]) ns.network = 'NODE';
      r.sandbox_config.hostname = '';
      r.sandbox_config.linux.security_context.privileged = true;
      r.config.linux.security_context.privileged = true;
      r.config.mounts.push({ container_path: '/lib/modules', host_path: '/lib/modules', readonly: true });
      r.config.command = ['/usr/local/bin/kube-proxy'];
      r.config.args = ['--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'];
    },
    check: (s) => {
      assert.deepEqual(s.process!.args, ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)']);
      assert.deepEqual(s.linux!.namespaces, [{ type: 'pid' }, { type: 'ipc', path: `${NS}/ipc` }, { type: 'mount' }], 'host network and UTS: no entries');
      assert.ok(s.process!.env!.includes('HOSTNAME=node-1'));
      assert.deepEqual(s.process!.capabilities!.bounding, CAP_NAMES);
      assert.equal(s.linux!.seccomp, undefined);
      assert.deepEqual([s.linux!.maskedPaths, s.linux!.readonlyPaths], [[], []]);
      assert.deepEqual(s.linux!.devices!.map((d) => d.path), ['/dev/null', '/dev/kmsg']);
      assert.deepEqual(s.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
      assert.deepEqual(s.mounts!.find((m) => m.destination === '/lib/modules'), { destination: '/lib/modules', type: 'bind', source: '/usr/lib/modules', options: ['rbind', 'rprivate', 'ro'] });
    },
  },
  {
    name: 'a shareProcessNamespace pod is refused without its infra process',
    edit: (r) => {
      r.config.linux.security_context.namespace_options.pid = 'POD';
    },
    refused: /PID mode is CONTAINER/,
  },
];

for (const v of variants) {
  test(`kubelet variant: ${v.name}`, () => {
    const request = structuredClone(NGINX) as any;
    v.edit(request);
    if (v.refused) assert.throws(() => specFor(request), v.refused);
    else v.check!(specFor(request));
  });
}
