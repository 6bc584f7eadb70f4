// Hostile names (test/fixtures/image/malicious-names.ts) typed as image references, tags,
// digests, platforms, container names and ids: every error is one line that shows the name quoted
// and escaped, with no control character reaching the terminal.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berth } from '../../fixtures/image/cli-run.ts';
import { HOSTILE_NAMES, TERMINAL_CONTROL } from '../../fixtures/image/malicious-names.ts';
import { berthRuntimeBin } from '../../support/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'berth-names-'));
after(() => rmSync(work, { recursive: true, force: true }));
const G = ['--root', join(work, 'root'), '--config', join(work, 'config')];

const commands: Array<{ what: string; args: (v: string) => string[]; says: RegExp }> = [
  { what: 'pull REFERENCE', args: (v) => ['pull', v], says: /^berth: invalid reference / },
  { what: 'pull with a hostile tag', args: (v) => ['pull', `busybox:${v}`], says: /^berth: invalid reference "busybox:.*": invalid tag / },
  { what: 'pull with a hostile digest', args: (v) => ['pull', `busybox@sha256:${v}`], says: /^berth: invalid digest / },
  { what: 'pull --platform', args: (v) => ['pull', '--platform', v, 'busybox'], says: /^berth: invalid platform / },
  { what: 'rmi', args: (v) => ['rmi', v], says: /^berth: invalid reference / },
  { what: 'inspect', args: (v) => ['inspect', v], says: /^berth: invalid reference / },
  { what: 'tag', args: (v) => ['tag', v, 'x:1'], says: /^berth: invalid reference / },
  { what: 'run --name', args: (v) => ['run', '--name', v, 'busybox', 'true'], says: /^berth: invalid container name .*: names must match/ },
  { what: 'rm', args: (v) => ['rm', v], says: /^berth: no such container: / },
  { what: 'logs', args: (v) => ['logs', v], says: /^berth: no such container: / },
  { what: 'stop', args: (v) => ['stop', v], says: /^berth: no such container: / },
  { what: 'an unknown command', args: (v) => [v], says: /^berth: unknown command / },
  { what: 'images --format', args: (v) => ['images', '--format', v], says: /^berth: --format must be table or json, not / },
];

function checkLine(stderr: string, shown: string, says: RegExp): void {
  assert.ok(stderr.endsWith('\n'), JSON.stringify(stderr));
  const line = stderr.slice(0, -1);
  assert.doesNotMatch(line, /\n/, 'one line');
  assert.doesNotMatch(line, TERMINAL_CONTROL, `no control character in ${JSON.stringify(line)}`);
  assert.match(line, says);
  assert.ok(line.includes(shown), `${JSON.stringify(line)} shows ${shown}`);
}

for (const n of HOSTILE_NAMES) {
  test(`a name with ${n.label}: every berth command shows it quoted and escaped`, async () => {
    for (const c of commands) {
      const r = await berth([...G, ...c.args(n.value)]);
      assert.notEqual(r.code, 0, c.what);
      // A hostile digest or tag is shown inside the quoted reference too: only its own escape is checked.
      checkLine(r.stderr, c.what.includes('digest') || c.what.includes('tag') ? n.shown.slice(1, -1) : n.shown, c.says);
    }
  });

  test(`a container id with ${n.label}: berth-runtime shows it quoted and escaped`, () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const r = spawnSync(berthRuntimeBin, ['--root', join(work, 'runtime'), 'state', n.value], { encoding: 'utf8', env });
    assert.notEqual(r.status, 0);
    checkLine(r.stderr, n.shown, /^berth-runtime: invalid container id /);
  });
}
