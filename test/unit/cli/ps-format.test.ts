// `berth ps --format`: docker's fields through a Go template, `table` with headers and aligned columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PS_FORMAT, formatPs, psRow, type PsRow } from '../../../src/cli/berth/ps-format.ts';
import type { ContainerInfo } from '../../../src/containers/index.ts';

const info = (over: Partial<ContainerInfo>): ContainerInfo =>
  ({ id: 'a'.repeat(64), name: 'web', image: 'localhost/web:1', command: ['httpd', '-f', '-v', '-p', '80', '-h', '/www'], created: '2026-12-03T17:00:00.123Z', status: 'running', ...over }) as ContainerInfo;

test('psRow: docker ps fields of a record', () => {
  const row = psRow(info({}), () => '5 minutes ago');
  assert.deepEqual(row, {
    ID: 'aaaaaaaaaaaa',
    Image: 'localhost/web:1',
    Command: '"httpd -f -v -p 80 -…"',
    CreatedAt: '2026-12-03 17:00:00 +0000 UTC',
    RunningFor: '5 minutes ago',
    Ports: '',
    State: 'running',
    Status: 'Up',
    Names: 'web',
    Networks: '',
  });
  assert.equal(psRow(info({ status: 'stopped', exitCode: 3 } as Partial<ContainerInfo>), () => '').State, 'exited');
  assert.equal(psRow(info({ paused: true } as Partial<ContainerInfo>), () => '').State, 'paused');
});

const rows: PsRow[] = [
  { ID: '111111111111', Image: 'i', Command: '"sh"', CreatedAt: '', RunningFor: 'now', Ports: '', State: 'running', Status: 'Up', Names: 'web', Networks: 'dev' },
  { ID: '222222222222', Image: 'image:long', Command: '"true"', CreatedAt: '', RunningFor: 'then', Ports: '', State: 'exited', Status: 'Exited (0)', Names: 'a-longer-name', Networks: 'bridge' },
];

test('a template prints one line per container; \\t typed in quotes is a tab', () => {
  assert.equal(formatPs(rows, '{{.Names}}'), 'web\na-longer-name\n');
  assert.equal(formatPs(rows, '{{.ID}}\\t{{.State}}'), '111111111111\trunning\n222222222222\texited\n');
  assert.equal(formatPs([], '{{.Names}}'), '');
});

test('table: a header row from docker\'s column names, columns aligned', () => {
  assert.equal(formatPs(rows, 'table {{.Names}}\\t{{.Status}}\\t{{.Networks}}'), ['NAMES           STATUS       NETWORKS', 'web             Up           dev', 'a-longer-name   Exited (0)   bridge', ''].join('\n'));
  assert.match(formatPs([], DEFAULT_PS_FORMAT), /^CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES\n$/);
});

test('a field docker does not have is an error naming it', () => {
  assert.throws(() => formatPs(rows, '{{.Nope}}'), /--format: can't evaluate field Nope/);
});
