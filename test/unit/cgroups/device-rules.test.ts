import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceRuleLine, RUNC_DEFAULT_DEVICE_RULES, withDefaultDeviceRules } from '../../../src/runtime/cgroups/device-rules.ts';

test('rule lines use * for any major or minor, and "a" for every device', () => {
  assert.equal(deviceRuleLine({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, 0), 'c 1:3 rwm');
  assert.equal(deviceRuleLine({ allow: true, type: 'c', major: 136, access: 'rw' }, 0), 'c 136:* rw');
  assert.equal(deviceRuleLine({ allow: true, type: 'b', major: null, minor: null, access: 'm' }, 0), 'b *:* m');
  assert.equal(deviceRuleLine({ allow: true, type: 'b', major: -1, minor: 0, access: 'm' }, 0), 'b *:0 m');
  assert.equal(deviceRuleLine({ allow: false, access: 'rwm' }, 0), 'a');
});

test('the defaults are appended after the config rules, as runc does, in the order runc writes them', () => {
  const r = withDefaultDeviceRules({ memory: { limit: 1 }, devices: [{ allow: false, access: 'rwm' }] });
  assert.equal(r.memory?.limit, 1);
  assert.deepEqual(r.devices?.[0], { allow: false, access: 'rwm' });
  assert.deepEqual(r.devices?.slice(1).map((d, i) => deviceRuleLine(d, i)), [
    'c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm',
  ]);
  assert.equal(r.devices?.length, 1 + RUNC_DEFAULT_DEVICE_RULES.length);
});

test('a default whose node the config redefines in linux.devices is dropped (runc createDevices)', () => {
  const r = withDefaultDeviceRules(undefined, [{ type: 'c', path: '/dev/null', major: 1, minor: 3 }]);
  assert.ok(!r.devices?.some((d) => d.major === 1 && d.minor === 3));
  assert.equal(r.devices?.length, RUNC_DEFAULT_DEVICE_RULES.length - 1);
});

test('the defaults are copies: changing the result does not change the table', () => {
  const r = withDefaultDeviceRules(undefined);
  (r.devices?.[0] as { access: string }).access = 'r';
  assert.equal(RUNC_DEFAULT_DEVICE_RULES[0]?.rule.access, 'm');
});
