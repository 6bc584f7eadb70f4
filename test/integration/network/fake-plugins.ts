// Executable test plugins for the executor's protocol: each call records its command, stdin and
// CNI_ environment, then prints, logs, sleeps or exits as the test arranged for that plugin and
// command. Real processes, so the executor's spawning, timeouts and output limits are exercised.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfList, type NetworkConfigList } from '../../../src/network/conflist.ts';

const SCRIPT = `#!/bin/sh
name=$(basename "$0")
state=$(dirname "$0")/..
b="$state/behave/$name.$CNI_COMMAND"
# One call at a time: the call number is taken under a lock directory.
while ! mkdir "$state/lock" 2>/dev/null; do sleep 0.01; done
n=$(cat "$state/seq" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$state/seq"
rmdir "$state/lock"
call=$(printf '%03d' "$n")
cat > "$state/calls/$call.$name.$CNI_COMMAND.stdin"
env | grep '^CNI_' | sort > "$state/calls/$call.$name.$CNI_COMMAND.env"
[ -f "$b.err" ] && cat "$b.err" >&2
[ -f "$b.script" ] && . "$b.script"
[ -f "$b.out" ] && cat "$b.out"
[ -f "$b.rc" ] && exit "$(cat "$b.rc")"
exit 0
`;

export interface Call {
  plugin: string;
  command: string;
  stdin: Record<string, unknown>;
  env: Record<string, string>;
}

export class FakePlugins {
  readonly dir: string;
  readonly binDir: string;
  readonly cacheDir: string;

  constructor(names: string[]) {
    this.dir = mkdtempSync(join(tmpdir(), 'berth-cni-fake-'));
    this.binDir = join(this.dir, 'bin');
    this.cacheDir = join(this.dir, 'cache');
    for (const d of ['bin', 'behave', 'calls']) mkdirSync(join(this.dir, d));
    for (const name of names) {
      writeFileSync(join(this.binDir, name), SCRIPT);
      chmodSync(join(this.binDir, name), 0o755);
    }
  }

  /** What `plugin` does on `command`: print `out` (an object is printed as JSON), exit `rc`, run `script` (sh). */
  behave(plugin: string, command: string, b: { out?: unknown; rc?: number; err?: string; script?: string }): void {
    const base = join(this.dir, 'behave', `${plugin}.${command}`);
    for (const ext of ['out', 'rc', 'err', 'script']) rmSync(`${base}.${ext}`, { force: true });
    if (b.out !== undefined) writeFileSync(`${base}.out`, typeof b.out === 'string' ? b.out : JSON.stringify(b.out));
    if (b.rc !== undefined) writeFileSync(`${base}.rc`, String(b.rc));
    if (b.err !== undefined) writeFileSync(`${base}.err`, b.err);
    if (b.script !== undefined) writeFileSync(`${base}.script`, b.script);
  }

  /** The calls so far, in order; clears them. */
  takeCalls(): Call[] {
    const dir = join(this.dir, 'calls');
    const files = readdirSync(dir).filter((f) => f.endsWith('.stdin')).sort();
    const calls = files.map((f) => {
      const [, plugin, command] = f.split('.');
      const env = Object.fromEntries(
        readFileSync(join(dir, f.replace(/\.stdin$/, '.env')), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const text = readFileSync(join(dir, f), 'utf8');
      return { plugin: plugin!, command: command!, stdin: text ? JSON.parse(text) : {}, env };
    });
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    return calls;
  }

  list(plugins: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): NetworkConfigList {
    return parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'fakenet', plugins, ...extra }), join(this.dir, 'fakenet.conflist'));
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  exists(...parts: string[]): boolean {
    return existsSync(join(this.dir, ...parts));
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
