// A create that fails at each step leaves nothing behind, and the kubelet's retry with the same
// name succeeds: CreateContainer with an image not in the store, a RuntimeClass handler whose
// runtime exits 1 at create (for a container, and for a pod's infra), a disk that fills up under
// berthd's root. "Nothing" is checked as whole trees (berthd's root and state: records,
// snapshots, monitor sockets, netns pins, CNI cache) plus the host (mounts, veths, iptables,
// processes, cgroups).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skopeoCopy } from '../../fixtures/image/registry.ts';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { GrpcStatus } from '../../support/cri-client.ts';
import { startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';
import { containerConfigFor, podConfigFor } from '../../support/cri-requests.ts';
import { listTree } from '../../support/tree.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

let env: PodEnv;
let refuseMarker: string;
let flakyDir: string | undefined;

before(async () => {
  if (skip) return;
  // runc, except that every `create` fails while the marker file exists.
  flakyDir = mkdtempSync(join(tmpdir(), 'berth-flaky-'));
  refuseMarker = join(flakyDir, 'refuse-create');
  const flaky = join(flakyDir, 'flaky-runc');
  writeFileSync(flaky, `#!/bin/sh\nfor a in "$@"; do [ "$a" = create ] && [ -e ${refuseMarker} ] && { echo "flaky-runc: create refused for the test" >&2; exit 1; }; done\nexec /usr/sbin/runc "$@"\n`);
  chmodSync(flaky, 0o755);
  env = await startPodEnv({ runtimes: { flaky } });
  await env.d.client.image('PullImage', { image: { image: env.image } });
});

after(async () => {
  await env?.teardown();
  if (flakyDir) rmSync(flakyDir, { recursive: true, force: true });
});

const rt = (method: string, req: object = {}) => env.d.client.runtime(method, req);

/**
 * berthd's root and state as trees, without the image store's blobs (shared and kept) and the
 * shared directories made on first use (`root/containers/`, `state/runtimes/NAME/`): every entry
 * left is a file, or a directory named by an object's id.
 */
function berthdTrees(): string[] {
  const perObject = (l: string): boolean => !/^root\/(blobs|images?|content)\//.test(l) && !/\.lock$/.test(l) && (!l.endsWith('/') || /[0-9a-f]{64}/.test(l));
  const out: string[] = [];
  for (const [label, dir] of [['root', env.d.root], ['state', env.d.state]] as const) {
    if (!existsSync(dir)) continue;
    out.push(...listTree(dir, (rel, _p, st) => `${label}/${rel}${st.isDirectory() ? '/' : ''}`).filter(perObject));
  }
  return out;
}


async function readyPod(name: string, handler = '') {
  const config = podConfigFor(env, name);
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config, runtime_handler: handler });
  return { podId, config };
}

/**
 * After a failed CreateContainer in `podId`: berthd's trees have nothing new (`ignore`: what the
 * test itself made), the pod lists no container, and the kubelet's retry with the same name runs;
 * removing the pod then leaves the host as it was.
 */
async function assertRetryWorks(podId: string, config: object, before: string[], ignore: (entry: string) => boolean = () => false): Promise<void> {
  assert.deepEqual(berthdTrees().filter((l) => !before.includes(l) && !ignore(l)), [], 'the failed create left nothing in berthd\'s root or state');
  assert.deepEqual((await rt('ListContainers', { filter: { pod_sandbox_id: podId } })).containers, []);
  const { container_id: id } = await rt('CreateContainer', { pod_sandbox_id: podId, config: containerConfigFor(env, 'app', ['/bin/sleep', '3600']), sandbox_config: config });
  await rt('StartContainer', { container_id: id });
  assert.equal((await rt('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_RUNNING');
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual(env.leftovers().filter((l) => !ignore(l)), []);
}

test('CreateContainer with an image not in the store: NotFound, nothing made; the retry with the image works', { skip }, async () => {
  const { podId, config } = await readyPod('badimage');
  const before = berthdTrees();
  const bad = containerConfigFor(env, 'app', ['/bin/sleep', '3600'], { image: { image: `${env.registry.host}/test/not-pulled:1` } });
  const err = await rt('CreateContainer', { pod_sandbox_id: podId, config: bad, sandbox_config: config }).catch((e) => e);
  assert.equal(err.code, GrpcStatus.NOT_FOUND, err.details);
  assert.match(err.details, /not-pulled:1.*not in the store/);
  await assertRetryWorks(podId, config, before);
});

test('a runtime that exits 1 at create: CreateContainer fails saying so, nothing is left; the retry with the same name works', { skip }, async () => {
  const { podId, config } = await readyPod('flaky', 'flaky');
  const before = berthdTrees();
  writeFileSync(refuseMarker, '');
  let err;
  try {
    err = await rt('CreateContainer', { pod_sandbox_id: podId, config: containerConfigFor(env, 'app', ['/bin/sleep', '3600']), sandbox_config: config }).catch((e) => e);
  } finally {
    unlinkSync(refuseMarker);
  }
  assert.notEqual(err.code, undefined, 'CreateContainer failed');
  assert.match(err.details, /flaky-runc: create refused|exit(ed)? (status|code) 1/);
  await assertRetryWorks(podId, config, before);
});

test('a CNI plugin that fails after bridge and host-local ran: nothing is left (netns pins, veths, IPAM, CNI cache); the retry works', { skip }, async () => {
  // (A handler's runtime has no part in RunPodSandbox: the infra is berth-spawn --pause, except under runsc.)
  const before = berthdTrees();
  const conf = join(env.d.cniConfDir, '10-pods.conflist');
  const good = readFileSync(conf, 'utf8');
  writeFileSync(conf, good.replace('"type":"portmap"', '"type":"no-such-plugin"'));
  let err;
  try {
    err = await rt('RunPodSandbox', { config: podConfigFor(env, 'cnifail') }).catch((e) => e);
  } finally {
    writeFileSync(conf, good);
  }
  assert.match(err.details, /no-such-plugin/);
  assert.deepEqual(berthdTrees().filter((l) => !before.includes(l)), []);
  assert.deepEqual(readdirSync(join(env.work, 'ipam'), { recursive: true }).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(String(f).split('/').pop()!)), [], 'host-local released the address');
  assert.deepEqual((await rt('ListPodSandbox', {})).items, []);
  assert.deepEqual(env.leftovers(), []);
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config: podConfigFor(env, 'cnifail') });
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual(env.leftovers(), []);
});

test('disk full under berthd\'s root: a pull stops at the store\'s reserve, CreateContainer fails with ResourceExhausted, nothing is left; the retry after space is freed works', { skip }, async () => {
  const bigImage = `${env.registry.host}/test/big:1`;
  const big = buildImage({ layers: [[{ name: 'big', type: 'file', data: Buffer.alloc(32 * 1024 * 1024), mtime: 1700000000 }]] });
  const layout = join(env.work, 'big-layout');
  writeOciLayout(big, layout, 'v');
  skopeoCopy(`oci:${layout}:v`, `docker://${bigImage}`, ['--preserve-digests']);
  // berthd's root moves onto a tmpfs just larger than what it holds; a filler takes the rest.
  await env.d.stop();
  const root = env.d.root;
  const saved = `${root}.saved`;
  execFileSync('mv', [root, saved]);
  execFileSync('mkdir', [root]);
  const used = Number(execFileSync('du', ['-sk', saved], { encoding: 'utf8' }).split('\t')[0]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${used + 4096}k`, 'berth-test-full', root]);
  try {
    execFileSync('cp', ['-a', `${saved}/.`, root]);
    env.d = await env.restart();
    const { podId, config } = await readyPod('full');
    const before = berthdTrees();
    // A 96 KiB layer that unpacks to 32 MiB: the store stops at its reserve and removes what it wrote.
    const freeBefore = statfsSync(root).bavail;
    const pull = await env.d.client.image('PullImage', { image: { image: bigImage } }).catch((e) => e);
    assert.equal(pull.code, GrpcStatus.RESOURCE_EXHAUSTED, pull.details);
    assert.match(pull.details, /no space left on device \(stopped with .* free, below the .* kept free for the store\)/);
    assert.equal((await env.d.client.image('ImageStatus', { image: { image: bigImage } })).image, null, 'the image is not in the store');
    assert.deepEqual(berthdTrees().filter((l) => !before.includes(l)), [], 'the failed pull left nothing in the store');
    assert.ok(statfsSync(root).bavail >= freeBefore - 64, 'the space the pull took is free again');
    const filler = join(root, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops at ENOSPC
    }
    const fs = statfsSync(root);
    assert.ok(fs.bavail * fs.bsize < 64 * 1024, `the tmpfs is full (${fs.bavail} blocks free)`);
    const err = await rt('CreateContainer', { pod_sandbox_id: podId, config: containerConfigFor(env, 'app', ['/bin/sleep', '3600']), sandbox_config: config }).catch((e) => e);
    assert.equal(err.code, GrpcStatus.RESOURCE_EXHAUSTED, err.details);
    assert.match(err.details, /ENOSPC|no space/i);
    unlinkSync(filler);
    await assertRetryWorks(podId, config, before, (l) => l.endsWith('/filler') || l.includes('berth-test-full'));
  } finally {
    await env.d.stop();
    execFileSync('umount', [root]);
    execFileSync('rmdir', [root]);
    execFileSync('mv', [saved, root]);
    env.d = await env.restart();
  }
});
