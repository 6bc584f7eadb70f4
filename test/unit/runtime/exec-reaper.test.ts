import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReaperReport, reaperArgs } from '../../../src/runtime/exec-reaper.ts';

test('the reaper\'s report: the process\'s status, the runtime\'s failure, or none', () => {
  assert.deepEqual(parseReaperReport('exit 0\n'), { kind: 'exit', code: 0 });
  assert.deepEqual(parseReaperReport('exit 137\n'), { kind: 'exit', code: 137 });
  assert.deepEqual(parseReaperReport('runtime 1\n'), { kind: 'runtime', code: 1 });
  assert.equal(parseReaperReport(''), undefined);
  assert.equal(parseReaperReport('exit x\n'), undefined);
  assert.equal(parseReaperReport('exited 0\n'), undefined);
});

test('the reaper runs the runtime\'s command line after its pid file', () => {
  assert.deepEqual(reaperArgs('/t/pid', '/usr/sbin/runc', ['--root', '/r', 'exec', '--detach', 'c1']), ['--exec-reaper', '/t/pid', '/usr/sbin/runc', '--root', '/r', 'exec', '--detach', 'c1']);
});
