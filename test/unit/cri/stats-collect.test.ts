// collectContainerStats / collectPodSandboxStats over a cgroupfs look-alike in a temp dir: the
// inputs berthd has (ids, cgroupsPath, cgroup parent, a pid in the pod's netns) to CRI messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notFound } from '../../../src/oci/errors.ts';
import { cgroupHostFromProc } from '../../../src/runtime/cgroups/index.ts';
import { collectContainerStats, collectPodSandboxStats, SampleCache, type StatsSources } from '../../../src/cri/stats/index.ts';

async function fakeHost(): Promise<{ root: string; base: string; write: (dir: string, files: Record<string, string>) => Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), 'berth-stats-collect-'));
  const root = join(base, 'cgroup');
  const write = async (dir: string, files: Record<string, string>): Promise<void> => {
    await mkdir(join(root, dir), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(root, dir, name), text);
  };
  return { root, base, write };
}

test('a pod: its cgroup parent, its containers (running or not), net/dev of a pid in its netns, rates on the second call', async () => {
  const fake = await fakeHost();
  try {
    const mountinfo = ['cpuacct', 'memory', 'pids'].map((c, i) => `${30 + i} 1 0:${40 + i} / ${fake.root}/${c} rw - cgroup cgroup rw,${c}`).join('\n');
    const host = cgroupHostFromProc(mountinfo, '1:cpuacct:/\n2:memory:/\n3:pids:/\n', fake.root);
    const pod = '/kubepods/pod1';
    const write = async (cg: string, cpu: bigint, mem: string, pids: string): Promise<void> => {
      await fake.write(`cpuacct${cg}`, { 'cpuacct.usage': `${cpu}\n` });
      await fake.write(`memory${cg}`, { 'memory.usage_in_bytes': mem, 'memory.limit_in_bytes': '9223372036854771712\n', 'memory.stat': 'total_inactive_file 0\ntotal_rss 10\n' });
      await fake.write(`pids${cg}`, { 'pids.current': pids, 'pids.max': 'max\n' });
    };
    await write(pod, 0n, '300\n', '3\n');
    await write(`${pod}/c1`, 0n, '200\n', '2\n');
    let now = 1_000_000_000n;
    const layers: StatsSources['layers'] = {
      dir: '/var/lib/berth/snapshots',
      writableLayer: async (key) => {
        if (key === 'c1') return { bytes: 4096, inodes: 2 };
        throw notFound(`no snapshot ${key}`);
      },
    };
    const src: StatsSources = { host, cache: new SampleCache(), layers, now: () => now };
    const subject = {
      attributes: { id: 'pod1', metadata: { name: 'p', uid: 'u', namespace: 'n', attempt: 0 }, labels: {}, annotations: {} },
      cgroupParent: pod,
      netnsPid: process.pid,
      containers: [
        { attributes: { id: 'c1', metadata: { name: 'a', attempt: 0 }, labels: {}, annotations: {} }, cgroupsPath: `${pod}/c1`, running: true },
        { attributes: { id: 'c2', metadata: { name: 'b', attempt: 0 }, labels: {}, annotations: {} }, cgroupsPath: `${pod}/c2`, running: false },
        { attributes: { id: 'c3', metadata: { name: 'c', attempt: 0 }, labels: {}, annotations: {} }, cgroupsPath: `${pod}/c3`, running: true },
      ],
    };
    const first = await collectPodSandboxStats(src, subject);
    assert.equal(first.linux.cpu?.usage_nano_cores, undefined, 'no rate from one sample');
    assert.equal(first.linux.memory?.usage_bytes?.value, '300');
    assert.ok(first.linux.network, 'net/dev of the given pid was read');
    assert.deepEqual(first.linux.process?.process_count, { value: '2' }, 'the running container with a cgroup');
    const [c1, c2, c3] = first.linux.containers;
    assert.equal(c1!.memory?.working_set_bytes?.value, '200');
    assert.deepEqual(c1!.writable_layer?.used_bytes, { value: '4096' });
    assert.deepEqual(Object.keys(c2!), ['attributes', 'writable_layer'], 'not running: attributes and writable layer');
    assert.deepEqual(c2!.writable_layer?.used_bytes, { value: '0' }, 'no snapshot: zero, as containerd');
    assert.deepEqual(Object.keys(c3!), ['attributes', 'writable_layer'], 'running but its cgroup is gone: as not running');

    now += 2_000_000_000n;
    await write(pod, 3_000_000_000n, '300\n', '3\n');
    await write(`${pod}/c1`, 1_000_000_000n, '200\n', '2\n');
    const second = await collectPodSandboxStats(src, subject);
    assert.deepEqual(second.linux.cpu?.usage_nano_cores, { value: '1500000000' }, '3 s of CPU in 2 s');
    assert.deepEqual(second.linux.containers[0]!.cpu?.usage_nano_cores, { value: '500000000' });
    const alone = await collectContainerStats(src, subject.containers[0]!);
    assert.equal(alone.stats.cpu?.usage_nano_cores, undefined, 'no time passed since the last sample');
    assert.equal(alone.pids, 2n);
  } finally {
    await rm(fake.base, { recursive: true, force: true });
  }
});
