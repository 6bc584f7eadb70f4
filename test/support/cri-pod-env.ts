// A CRI test's world: a local registry holding the busybox test image, a CNI conflist with this
// run's own bridge and subnet (bridge + host-local + portmap), berthd on a temporary root with
// the runc handler, and the means to take it all down and check that nothing is left.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, skopeoCopy, type TestRegistry } from '../fixtures/image/registry.ts';
import { buildImage, writeOciLayout } from '../fixtures/image/test-image.ts';
import { freeSubnet, iptablesState, removeIptablesLeftovers, removeLink, rulesMentioning, run, uniqueId } from '../integration/network/host-network.ts';
import { startBerthd, type RunningBerthd } from './berthd.ts';

export const CNI_BIN_DIR = '/usr/lib/cni';

/** The cgroup parent the test's pods name (cgroupfs). */
export const cgroupParentOf = (id: string): string => `berth-cri-test-${id}`;

/** Removes the (emptied) cgroup parent directories the test's pods used, in every v1 hierarchy. */
export function removeTestCgroups(id: string): void {
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    const dir = `/sys/fs/cgroup/${controller}/${cgroupParentOf(id)}`;
    if (existsSync(dir)) rmdirSync(dir);
  }
}

export interface PodEnv {
  id: string;
  bridge: string;
  subnet: ReturnType<typeof freeSubnet>;
  work: string;
  registry: TestRegistry;
  /** The busybox image's name in the registry. */
  image: string;
  d: RunningBerthd;
  /** The berthd options, to start another on the same dirs (restart). */
  restart(): Promise<RunningBerthd>;
  /** Leftovers on the host: mounts, netns files, veths on the bridge, iptables rules, cgroups. */
  leftovers(): string[];
  teardown(): Promise<void>;
}

/**
 * `runtimes`: more `[runtimes.NAME]` handlers besides runc — name to program path, or the tables
 * as TOML text (for keys beyond `path`); `cniBinDirs`: more plugin dirs.
 */
export async function startPodEnv(opts: { runtimes?: Record<string, string> | string; cniBinDirs?: string[] } = {}): Promise<PodEnv> {
  const id = uniqueId();
  const work = mkdtempSync(join(tmpdir(), `berth-cri-${id}-`));
  const bridge = `bcri${id}`;
  const subnet = freeSubnet();
  const network = `berth-cri-${id}`;
  const registry = await startRegistry();
  const img = buildImage({ cmd: ['/bin/sleep', '3600'] });
  writeOciLayout(img, join(work, 'layout'), 'v');
  skopeoCopy(`oci:${join(work, 'layout')}:v`, `docker://${registry.host}/test/busybox:1`, ['--preserve-digests']);
  const before = iptablesState();
  const extra =
    typeof opts.runtimes === 'string'
      ? opts.runtimes
      : Object.entries(opts.runtimes ?? {})
          .map(([name, path]) => `[runtimes.${name}]\npath = "${path}"\n`)
          .join('');
  const toml = `bin_dirs = ${JSON.stringify([CNI_BIN_DIR, ...(opts.cniBinDirs ?? [])])}\n[runtimes.runc]\npath = "/usr/sbin/runc"\n${extra}`;
  const berthdDir = join(work, 'berthd');
  const start = async (): Promise<RunningBerthd> => {
    const d = await startBerthd({ dir: berthdDir, toml, logLevel: 'info' });
    return d;
  };
  const d = await start();
  writeFileSync(
    join(d.cniConfDir, '10-pods.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: subnet.subnet, gateway: subnet.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(work, 'ipam') } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  const env: PodEnv = {
    id,
    bridge,
    subnet,
    work,
    registry,
    image: `${registry.host}/test/busybox:1`,
    d,
    restart: start,
    leftovers: () => {
      const out: string[] = [];
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(work));
      out.push(...mounts.map((m) => `mount: ${m}`));
      const podsDir = join(d.state, 'pods');
      if (existsSync(podsDir)) out.push(...readdirSync(podsDir).map((p) => `pod dir: ${p}`));
      const ports = run('ip', ['-o', 'link', 'show', 'master', bridge]).stdout.trim();
      if (ports) out.push(`veths on ${bridge}: ${ports}`);
      out.push(...rulesMentioning([subnet.prefix, network]).map((r) => `iptables: ${r}`));
      out.push(...processesMentioning(work, env.d.child.pid).map((p) => `process: ${p}`));
      for (const controller of ['pids', 'memory', 'cpu', 'freezer', 'devices']) {
        const cg = `/sys/fs/cgroup/${controller}/${cgroupParentOf(id)}`;
        if (existsSync(cg) && readdirSync(cg, { withFileTypes: true }).some((e) => e.isDirectory())) out.push(`cgroup: ${cg} has children`);
      }
      return out;
    },
    teardown: async () => {
      // What a failed test left running goes through berthd first (a new one if it was killed).
      if (env.d.child.exitCode !== null || env.d.child.signalCode !== null) env.d = await start().catch(() => env.d);
      const pods = await env.d.client.runtime('ListPodSandbox', {}).catch(() => ({ items: [] }));
      for (const p of pods.items as Array<{ id: string }>) await env.d.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => {});
      await env.d.stop();
      removeLink(bridge);
      removeIptablesLeftovers(before, [subnet.prefix, bridge, network]);
      // Whatever a failed test left mounted below the work dir goes first (never rm through a mount).
      for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
        const point = line.split(' ')[4];
        if (point?.startsWith(work)) run('umount', ['-l', point]);
      }
      await registry.stop();
      rmSync(work, { recursive: true, force: true });
      removeTestCgroups(id);
    },
  };
  return env;
}

/** Processes (monitors, containers) whose command line names `text`. */
function processesMentioning(text: string, except?: number): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== except)) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (args.includes(text)) out.push(`${pid} ${args}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.text();
}

/** Retries `fn` until it succeeds (a server in a container takes a moment to listen). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A kubelet-shaped PodSandboxConfig in the env's cgroup parent, each container in its own PID namespace. */
export function testPodConfig(env: PodEnv, name: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${env.id}`, attempt: 0 },
    hostname: name,
    log_directory: join(env.work, 'logs', name),
    labels: { app: name, run: env.id },
    linux: { cgroup_parent: `/${cgroupParentOf(env.id)}`, security_context: { namespace_options: { pid: 'CONTAINER' } } },
    ...extra,
  };
}

/** A ContainerConfig of the env's busybox image logging to `<name>/0.log`. */
export function testContainerConfig(env: PodEnv, name: string, command: string[], extra: Record<string, unknown> = {}) {
  return { metadata: { name, attempt: 0 }, image: { image: env.image }, command, log_path: `${name}/0.log`, labels: { c: name }, ...extra };
}
