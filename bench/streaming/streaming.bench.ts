// berthd's streaming path over a real container (berth's runtime, ContainerService): the time of
// `exec <id> true` from the RPC (Exec) to the status on the error stream, over SPDY; and the
// throughput of one port-forwarded connection (SPDY data stream -> socket handed back by
// berth-spawn --netns-connect -> a sink in the pod's network namespace) against the same bytes
// over plain loopback TCP into that namespace (nsenter'd sink, no streaming at all).
// Usage: node --import tsx bench/streaming/streaming.bench.ts [iterations] [MiB]. Needs root.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerService } from '../../src/containers/index.ts';
import { ImageStore } from '../../src/image/image-store.ts';
import { importRootfsTar } from '../../src/image/import-rootfs.ts';
import { imageConfigToSpec } from '../../src/image/runtime-config.ts';
import { imageContainerBaseSpec } from '../../src/runtime/default-spec.ts';
import { pinNamespaces, unpinNamespaces } from '../../src/runtime/namespace-pins.ts';
import { startStreamingService } from '../../src/cri/server/streaming-service.ts';
import { spdyUpgrade } from '../../test/support/spdy-test-client.ts';

const iterations = Number(process.argv[2] ?? 50);
const mib = Number(process.argv[3] ?? 256);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-streaming-'));
const root = join(work, 'store');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const store = ImageStore.open(root);
const service = ContainerService.open({ root, images: store, watch: true });
const pins = await pinNamespaces({ dir: join(work, 'pod'), namespaces: ['network'] });
try {
  execFileSync('nsenter', [`--net=${pins.network}`, 'ip', 'link', 'set', 'lo', 'up']);
  execFileSync(join(import.meta.dirname, '../../scripts/make-busybox-rootfs.sh'), [join(work, 'bb.tar.gz')]);
  await importRootfsTar(store, join(work, 'bb.tar.gz'), 'localhost/bench:1', { cmd: ['sh'], env: ['PATH=/bin'] });
  const { record } = await service.create({
    image: 'localhost/bench:1', name: `bench-${process.pid}`,
    spec: (p, { id }) => {
      const s = imageConfigToSpec(p.imageConfig, { cmd: ['sleep', '100000'], hostname: id.slice(0, 12), terminal: false }, { base: imageContainerBaseSpec(), resolvedUser: p.user });
      s.linux!.namespaces = [...(s.linux!.namespaces ?? []).filter((n) => n.type !== 'network'), { type: 'network', path: pins.network }];
      return s;
    },
  });
  await service.start(record.id);
  const streaming = await startStreamingService({ address: '127.0.0.1', port: 0, idleTimeoutMs: 3600_000 }, service, {
    container: () => ({ state: 'running', podSandboxId: 'pod' }),
    pod: () => ({ ready: true, netnsPath: pins.network }),
  });
  const rpc = (name: 'Exec' | 'PortForward', req: object) => (streaming.rpcs[name](req, {} as never) as { url: string }).url;

  const execOnce = async (): Promise<number> => {
    const t0 = performance.now();
    const r = await spdyUpgrade(rpc('Exec', { container_id: record.id, cmd: ['true'], stdout: true }), ['v4.channel.k8s.io']);
    const error = await r.client!.open({ streamtype: 'error' });
    await r.client!.open({ streamtype: 'stdout' });
    const status = await error.done();
    if (!status.includes('Success')) throw new Error(status);
    r.client!.socket.destroy();
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) await execOnce();
  const execs: number[] = [];
  for (let i = 0; i < iterations; i++) execs.push(await execOnce());

  // A sink in the pod's namespace that counts bytes and answers with the count on EOF.
  const sink = spawn('nsenter', [`--net=${pins.network}`, process.execPath, '-e', `require('net').createServer((s) => { let n = 0; s.on('data', (d) => (n += d.length)); s.on('end', () => s.end(String(n))); }).listen(9099, '127.0.0.1', () => console.log('up'));`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => sink.stdout!.once('data', r));
  const chunk = Buffer.alloc(1 << 20, 1);
  const bytes = mib * chunk.length;

  const viaForward = async (): Promise<number> => {
    const r = await spdyUpgrade(rpc('PortForward', { pod_sandbox_id: 'pod' }), ['portforward.k8s.io']);
    const c = r.client!;
    await c.open({ streamtype: 'error', port: '9099', requestid: '0' });
    const data = await c.open({ streamtype: 'data', port: '9099', requestid: '0' });
    const t0 = performance.now();
    for (let i = 0; i < mib; i++) data.write(chunk);
    data.end();
    const answer = await data.done();
    const s = (performance.now() - t0) / 1000;
    if (Number(answer) !== bytes) throw new Error(`sink got ${answer}`);
    c.socket.destroy();
    return bytes / s / (1 << 20);
  };
  // The floor: the same bytes over loopback into the namespace, straight from this process.
  const direct = async (): Promise<number> => {
    const { connectInNetns } = await import('../../src/sys/netns-connect.ts');
    const s = await connectInNetns(pins.network!, 9099);
    const t0 = performance.now();
    let answer = '';
    s.on('data', (d) => (answer += d));
    const done = new Promise((r) => s.on('end', r));
    for (let i = 0; i < mib; i++) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    s.end();
    await done;
    if (Number(answer) !== bytes) throw new Error(`sink got ${answer}`);
    s.destroy();
    return bytes / ((performance.now() - t0) / 1000) / (1 << 20);
  };
  const fw: number[] = [];
  const tcp: number[] = [];
  for (let i = 0; i < 3; i++) {
    fw.push(await viaForward());
    tcp.push(await direct());
  }
  sink.kill();
  console.log(`exec true, RPC to status (SPDY, ${iterations} runs): median ${median(execs).toFixed(1)} ms, min ${Math.min(...execs).toFixed(1)} ms`);
  console.log(`port-forward ${mib} MiB through SPDY: median ${median(fw).toFixed(0)} MiB/s; same bytes over plain TCP into the netns: ${median(tcp).toFixed(0)} MiB/s`);
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await streaming.close();
} finally {
  for (const c of service.list()) await service.remove(c.id, { force: true }).catch(() => undefined);
  service.close();
  store.close();
  await unpinNamespaces(pins).catch(() => undefined);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
  }
  rmSync(work, { recursive: true, force: true });
}
