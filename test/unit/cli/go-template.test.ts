import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import { parseTemplate, renderTemplate } from '../../../src/cli/berth/go-template.ts';

const data = { Id: 'abc', State: { Pid: 42, Running: true, Error: '' }, Config: { Env: ['A=1', 'B=2'], Labels: { z: '1', a: '2' }, Entrypoint: null } };
const render = (t: string): string => renderTemplate(parseTemplate(t), data);

test('field paths, json and text, printed as Go prints them', () => {
  assert.equal(render('{{.State.Pid}}'), '42');
  assert.equal(render('pid={{ .State.Pid }} running={{.State.Running}}\n'), 'pid=42 running=true\n');
  assert.equal(render('{{.Config.Env}}'), '[A=1 B=2]');
  assert.equal(render('{{.Config.Labels}}'), 'map[a:2 z:1]');
  assert.equal(render('{{.Config.Entrypoint}}'), '<nil>');
  assert.equal(render('{{json .Config.Env}}'), '["A=1","B=2"]');
  assert.equal(render('{{json .State}}'), JSON.stringify(data.State));
  assert.equal(render('a {{- .Id -}} b'), 'aabcb');
});

test('unknown fields and unsupported actions are one-line errors naming --format', () => {
  const fails = (t: string, pattern: RegExp): void =>
    assert.throws(() => render(t), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && pattern.test(e.message), t);
  fails('{{.State.Nope}}', /can't evaluate field Nope in \.State/);
  fails('{{.State.Pid.X}}', /can't evaluate field X in \.State\.Pid/);
  fails('{{range .Config.Env}}{{.}}{{end}}', /is not supported/);
  fails('{{.Id', /unclosed action/);
});
