// 10,000 hostile protobuf messages to every unary RPC of berthd over the real socket: random
// bytes, truncated and bit-flipped encodings of valid requests, wrong wire types, huge length
// prefixes, deeply nested groups, fields repeated many times, and ids of other objects. Every
// answer must be a gRPC status from berthd (no hang, no dropped connection, no Internal from a
// JavaScript error), and afterwards the daemon runs a normal pod and nothing is left behind.
// The seed is printed; BERTH_FUZZ_SEED=N replays a run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadCri } from '../../../src/cri/proto-load.ts';
import { GrpcStatus, type CriService } from '../../support/cri-client.ts';
import { startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';
import { containerConfigFor, podConfigFor, runPodWith } from '../../support/cri-requests.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;
const MESSAGES = Number(process.env.BERTH_FUZZ_MESSAGES ?? 10_000);
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261203);
const IN_FLIGHT = 16;

let env: PodEnv;
const cri = loadCri();

before(async () => {
  if (skip) return;
  env = await startPodEnv();
  await env.d.client.image('PullImage', { image: { image: env.image } });
});

after(async () => {
  await env?.teardown();
});

/** mulberry32: a small seeded PRNG, so a failing message replays from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}
type Rand = ReturnType<typeof prng>;

const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};

/** The ways a valid encoding is broken; each returns the bytes to send and what it did. */
const mutations: Record<string, (r: Rand, valid: Buffer) => Buffer> = {
  random: (r) => Buffer.from(Array.from({ length: 1 + r.int(200) }, () => r.int(256))),
  truncate: (r, v) => v.subarray(0, v.length > 1 ? r.int(v.length - 1) + 1 : 0),
  bitflip: (r, v) => {
    const out = Buffer.from(v);
    for (let i = 0, n = 1 + r.int(3); i < n && out.length; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
    return out;
  },
  // A field key with another wire type: a length-delimited field read as a varint, a group, 32 bits...
  wiretype: (r, v) => {
    const out = Buffer.from(v.length ? v : [0x0a, 0x00]);
    out[0] = (out[0]! & ~7) | r.pick([0, 1, 3, 4, 5, 6, 7]);
    return out;
  },
  // A length-delimited field that claims far more bytes than follow (up to 2^64-1).
  hugelength: (r, v) => Buffer.concat([Buffer.from([((1 + r.int(15)) << 3) | 2, ...varint(r.pick([0xffffffff, 2 ** 31, 2 ** 53 - 1, 16 * 1024 * 1024]))]), v.subarray(0, r.int(v.length + 1))]),
  // Start groups nested far deeper than any message: decoders that recurse must not crash.
  nested: (r) => {
    const depth = r.pick([100, 10_000, 200_000]);
    return Buffer.concat([Buffer.alloc(depth, ((1 + r.int(15)) << 3) | 3), Buffer.from([0x0c])]);
  },
  // Length-delimited fields nested inside each other (valid framing, a deep tree of field 1).
  nestedbytes: (r) => {
    let m = Buffer.alloc(0);
    for (let i = 0, depth = r.pick([50, 500, 5000]); i < depth; i++) m = Buffer.concat([Buffer.from([0x0a, ...varint(m.length)]), m]);
    return m;
  },
  // The whole valid message many times over: repeated fields grow, maps get the same key again.
  repeated: (r, v) => Buffer.concat(Array.from({ length: r.pick([2, 100, 5000]) }, () => v)).subarray(0, 4 * 1024 * 1024),
  // A valid message and then an unknown field of every wire type.
  unknownfields: (r, v) => Buffer.concat([v, Buffer.from([(100 << 3) | 0, ...varint(r.int(1e9)), (101 << 3) | 5, 1, 2, 3, 4, (102 << 3) | 2, 3, 0x61, 0x62, 0x63])]),
  // Valid, as encoded: the request itself (with its ids of other objects) is the test.
  none: (_r, v) => v,
};

interface Objects {
  podId: string;
  containerId: string;
  imageId: string;
}

/** Requests per method, valid on the wire, naming berthd's objects (often the wrong kind of id). */
function baseRequests(o: Objects): Record<string, object[]> {
  const pod = podConfigFor(env, 'fuzz');
  const c = containerConfigFor(env, 'fz', ['/bin/true']);
  const { podId, containerId, imageId } = o;
  return {
    Version: [{ version: 'v1' }],
    Status: [{ verbose: true }],
    RunPodSandbox: [
      { config: { ...pod, port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 70000 }] } },
      { config: { ...pod, metadata: { ...pod.metadata, name: '' } } },
      { config: pod, runtime_handler: 'no-such-handler' },
      { config: { ...pod, linux: { sysctls: { 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/x' } } } },
    ],
    StopPodSandbox: [{ pod_sandbox_id: containerId }, { pod_sandbox_id: imageId }],
    RemovePodSandbox: [{ pod_sandbox_id: containerId }, { pod_sandbox_id: imageId }],
    PodSandboxStatus: [{ pod_sandbox_id: podId, verbose: true }, { pod_sandbox_id: containerId }],
    ListPodSandbox: [{ filter: { id: podId, state: { state: 'SANDBOX_READY' }, label_selector: { app: 'fuzz' } } }, {}],
    CreateContainer: [
      { pod_sandbox_id: containerId, config: c, sandbox_config: pod },
      { pod_sandbox_id: podId, config: { ...c, image: { image: imageId.replace(/.$/, '0') } }, sandbox_config: pod },
      { pod_sandbox_id: podId, config: { ...c, log_path: '../../../etc/evil.log' }, sandbox_config: pod },
      { pod_sandbox_id: podId, config: { ...c, mounts: [{ container_path: '/host', host_path: '/proc/../proc/1' }] }, sandbox_config: pod },
    ],
    StartContainer: [{ container_id: podId }],
    StopContainer: [{ container_id: podId, timeout: 1 }, { container_id: imageId }],
    RemoveContainer: [{ container_id: podId }],
    ListContainers: [{ filter: { id: containerId, pod_sandbox_id: podId, state: { state: 'CONTAINER_RUNNING' }, label_selector: { c: 'fuzz' } } }, {}],
    ContainerStatus: [{ container_id: containerId, verbose: true }, { container_id: podId }],
    UpdateContainerResources: [{ container_id: podId, linux: { cpu_shares: 2, memory_limit_in_bytes: '1' } }],
    ReopenContainerLog: [{ container_id: podId }, { container_id: imageId }],
    ExecSync: [{ container_id: containerId, cmd: [], timeout: 1 }, { container_id: podId, cmd: ['/bin/true'], timeout: 1 }],
    Exec: [{ container_id: podId, cmd: ['/bin/sh'], stdout: true }, { container_id: containerId, cmd: [] }],
    Attach: [{ container_id: podId, stdout: true }],
    PortForward: [{ pod_sandbox_id: containerId, port: [80] }],
    ContainerStats: [{ container_id: containerId }, { container_id: podId }],
    ListContainerStats: [{ filter: { id: containerId, pod_sandbox_id: podId } }],
    PodSandboxStats: [{ pod_sandbox_id: podId }, { pod_sandbox_id: containerId }],
    ListPodSandboxStats: [{ filter: { id: podId } }],
    UpdateRuntimeConfig: [{ runtime_config: { network_config: { pod_cidr: '10.244.0.0/24' } } }],
    ListImages: [{ filter: { image: { image: env.image } } }],
    ImageStatus: [{ image: { image: imageId }, verbose: true }, { image: { image: podId } }],
    // Names no registry is asked for: an invalid reference, a repository nobody pushed.
    PullImage: [{ image: { image: `${env.registry.host}/UPPER/Case:1` } }, { image: { image: `${env.registry.host}/test/missing:1` } }],
    RemoveImage: [{ image: { image: podId } }, { image: { image: `${env.registry.host}/test/missing:1` } }],
    ImageFsInfo: [{}],
  };
}

/** grpc-js's words for a connection that closed under the call (berthd's own Unavailable says why). */
const CONNECTION_LOST = /^(No connection established|Connection dropped|read ECONNRESET|Received RST_STREAM|Stream refused|Call cancelled)/i;
/** What a JavaScript bug looks like when it reaches the client as Internal. */
const JS_ERROR = /Cannot read propert|is not a function|is not iterable|Cannot convert|Invalid array length|Maximum call stack|of undefined|of null|\[object /;

test(`${MESSAGES} hostile protobuf messages: a status each, no Internal without a reason, the daemon serves a pod afterwards`, { skip }, async (t) => {
  t.diagnostic(`BERTH_FUZZ_SEED=${SEED}`);
  console.log(`fuzz: BERTH_FUZZ_SEED=${SEED} (set it to replay)`);
  const cc = env.d.client;
  const kept = await runPodWith(env, 'fuzz', ['/bin/sleep', '3600']);
  const imageId = (await cc.image('ImageStatus', { image: { image: env.image } })).image.id as string;
  const bases = baseRequests({ podId: kept.podId, containerId: kept.id, imageId });
  const fdsBefore = readdirSync(`/proc/${env.d.child.pid}/fd`).length;

  const methods: Array<{ service: CriService; name: string; def: ServiceDefinition[string] }> = [];
  for (const [service, def] of [['RuntimeService', cri.runtimeService], ['ImageService', cri.imageService]] as const) {
    for (const [name, m] of Object.entries(def)) if (!m.requestStream && !m.responseStream) methods.push({ service, name, def: m });
  }
  const r = prng(SEED);
  const mutationNames = Object.keys(mutations);
  const failures: string[] = [];
  const codes = new Map<string, number>();
  const costMs = new Map<string, number>();
  /** Stop or Remove calls that named the kept pod or container (a random short id can be a prefix of it). */
  const hitKept: string[] = [];
  const started = Date.now();
  let sent = 0;
  const one = async (): Promise<void> => {
    const i = sent++;
    const m = r.pick(methods);
    const base = r.pick(bases[m.name] ?? [{}]);
    const how = r.pick(mutationNames);
    const bytes = mutations[how]!(r, m.def.requestSerialize(base));
    const what = `#${i} ${m.name} ${how} ${bytes.length} bytes ${bytes.subarray(0, 48).toString('hex')}`;
    const t0 = performance.now();
    const err = await cc.rawCall(m.service, m.name, bytes).then(() => null, (e: { code: number; details: string }) => e);
    costMs.set(m.name, (costMs.get(m.name) ?? 0) + performance.now() - t0);
    if (!err && /^(Stop|Remove)(PodSandbox|Container)$/.test(m.name)) {
      const req = m.def.requestDeserialize(bytes) as { pod_sandbox_id?: string; container_id?: string };
      const [named, keptId] = m.name.endsWith('PodSandbox') ? [req.pod_sandbox_id ?? '', kept.podId] : [req.container_id ?? '', kept.id];
      // As crictl's short ids: a prefix names the one object it starts (containerd's truncindex too).
      if (named && keptId.startsWith(named)) hitKept.push(`${what}: ${m.name} ${JSON.stringify(named)}`);
    }
    const code = err?.code ?? GrpcStatus.OK;
    codes.set(GrpcStatus[code]!, (codes.get(GrpcStatus[code]!) ?? 0) + 1);
    const lost = code === GrpcStatus.UNAVAILABLE && CONNECTION_LOST.test(err!.details);
    if (lost || code === GrpcStatus.DEADLINE_EXCEEDED || code === GrpcStatus.UNKNOWN) failures.push(`${what}: ${GrpcStatus[code]} ${err!.details}`);
    if (code === GrpcStatus.INTERNAL && (!err!.details || JS_ERROR.test(err!.details))) failures.push(`${what}: INTERNAL ${err!.details}`);
  };
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < MESSAGES && failures.length < 20) await one();
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const slowest = [...costMs].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`);
  console.log(`fuzz: ${sent} messages in ${seconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(codes))}; most time in calls: ${slowest.join(', ')}`);
  assert.deepEqual(failures, [], `BERTH_FUZZ_SEED=${SEED}`);
  assert.equal(env.d.child.exitCode, null, 'berthd is still running');

  // Still a working daemon: the kept pod answers, a new pod runs, exec works.
  if (hitKept.length) console.log(`fuzz: the kept pod was stopped or removed by ${hitKept.join('; ')}`);
  else assert.equal((await cc.runtime('ContainerStatus', { container_id: kept.id })).status.state, 'CONTAINER_RUNNING');
  const fresh = await runPodWith(env, 'after-fuzz', ['/bin/sleep', '3600']);
  const out = await cc.runtime('ExecSync', { container_id: fresh.id, cmd: ['/bin/echo', 'still here'], timeout: 10 });
  assert.equal(out.stdout.toString(), 'still here\n');
  // Whatever a mutated request managed to create goes too; then nothing may be left.
  for (const p of (await cc.runtime('ListPodSandbox', {})).items as Array<{ id: string }>) await cc.runtime('RemovePodSandbox', { pod_sandbox_id: p.id });
  assert.deepEqual(env.leftovers(), []);
  const fdsAfter = readdirSync(`/proc/${env.d.child.pid}/fd`).length;
  assert.ok(fdsAfter <= fdsBefore + 4, `berthd had ${fdsBefore} fds before, ${fdsAfter} after`);
});
