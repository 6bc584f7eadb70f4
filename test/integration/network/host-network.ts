// Host networking for the real-plugin tests: network namespaces, bridges, sysctls and iptables
// rules under names unique to one test run, and the means to take all of it down again.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';

export function run(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status ?? 255, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? r.error.message : '') };
}

export const uniqueId = (): string => randomBytes(3).toString('hex');

export function addNetns(name: string): string {
  execFileSync('ip', ['netns', 'add', name]);
  return `/var/run/netns/${name}`;
}

export function removeNetns(name: string): void {
  if (existsSync(`/var/run/netns/${name}`)) run('ip', ['netns', 'delete', name]);
}

export function linkExists(name: string, netns?: string): boolean {
  const args = netns ? ['-n', netns, 'link', 'show', name] : ['link', 'show', name];
  return run('ip', args).code === 0;
}

export function removeLink(name: string): void {
  if (linkExists(name)) run('ip', ['link', 'delete', name]);
}

/** Interfaces enslaved to a bridge (the host ends of the veths). */
export function bridgePorts(bridge: string): string[] {
  return run('ip', ['-o', 'link', 'show', 'master', bridge])
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1]!.split('@')[0]!);
}

/** A /24 in 10.231.0.0/16 that no route on this host touches. */
export function freeSubnet(): { subnet: string; gateway: string; prefix: string } {
  const routes = run('ip', ['-4', 'route', 'show', 'table', 'all']).stdout;
  for (let i = 0; i < 64; i++) {
    const n = 1 + Math.floor(Math.random() * 250);
    const prefix = `10.231.${n}.`;
    if (!routes.includes(prefix)) return { subnet: `${prefix}0/24`, gateway: `${prefix}1`, prefix };
  }
  throw new Error('no free test subnet in 10.231.0.0/16');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A sysctl's value, and a function that puts it back. */
export function saveSysctl(path: string): { value: string; restore: () => void } {
  const file = `/proc/sys/${path.replaceAll('.', '/')}`;
  const value = readFileSync(file, 'utf8').trim();
  return {
    value,
    restore: () => {
      if (readFileSync(file, 'utf8').trim() !== value) writeFileSync(file, value);
    },
  };
}

export const readSysctl = (path: string): string => readFileSync(`/proc/sys/${path.replaceAll('.', '/')}`, 'utf8').trim();

const TABLES = ['filter', 'nat'] as const;

/** `iptables-save` rule lines (`-A CHAIN ...`) and chain names per table. */
export function iptablesState(): Record<string, { chains: Set<string>; rules: string[] }> {
  const out: Record<string, { chains: Set<string>; rules: string[] }> = {};
  for (const t of TABLES) {
    const lines = run('iptables-save', ['-t', t]).stdout.split('\n');
    out[t] = {
      chains: new Set(lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!)),
      rules: lines.filter((l) => l.startsWith('-A ')),
    };
  }
  return out;
}

/** Rule lines in any table that contain one of the markers. */
export function rulesMentioning(markers: string[]): string[] {
  const state = iptablesState();
  return TABLES.flatMap((t) => state[t]!.rules.filter((r) => markers.some((m) => r.includes(m))).map((r) => `${t}: ${r}`));
}

/**
 * Removes what a failed test left in iptables: rules naming one of the markers, then chains that
 * did not exist before the test and are left empty, or hold only rules of no one in particular
 * (the portmap and firewall plugins' shared chains, when this test created them), with the jumps
 * to them.
 */
export function removeIptablesLeftovers(before: ReturnType<typeof iptablesState>, markers: string[]): void {
  for (const t of TABLES) {
    const mine = iptablesState()[t]!.rules.filter((r) => markers.some((m) => r.includes(m)));
    if (mine.length) run('iptables-restore', ['--noflush'], `*${t}\n${mine.map((r) => r.replace(/^-A /, '-D ')).join('\n')}\nCOMMIT\n`);
    const now = iptablesState()[t]!;
    const specific = /\d+\.\d+\.\d+\.\d+|id: \\"|CNI-DN-/;
    const removable = [...now.chains].filter(
      (c) => !before[t]!.chains.has(c) && !now.rules.some((r) => r.startsWith(`-A ${c} `) && specific.test(r)),
    );
    if (!removable.length) continue;
    const jumps = now.rules.filter((r) => removable.some((c) => r.endsWith(`-j ${c}`)));
    const script = [`*${t}`, ...jumps.map((r) => r.replace(/^-A /, '-D ')), ...removable.map((c) => `-F ${c}`), ...removable.map((c) => `-X ${c}`), 'COMMIT', ''];
    run('iptables-restore', ['--noflush'], script.join('\n'));
  }
}

/** The body of an HTTP GET of 127.0.0.1:port (a published port), failing after 5 s. */
export function fetchText(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
  });
}
