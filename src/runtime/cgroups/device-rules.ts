// Device cgroup rules: validation, the v1 devices.allow/devices.deny line format
// (kernel Documentation/admin-guide/cgroup-v1/devices.rst) and runc's default allow list.
import { invalid } from '../../oci/errors.ts';
import type { Device, DeviceCgroupRule, Resources } from '../../oci/runtime-spec.ts';

const FIELD = 'linux.resources.devices';

/**
 * The rules runc appends after the config's own (specconv AllowedDevices), as runc 1.1.5 writes
 * them on this host: mknod of anything, plus the standard /dev nodes, /dev/pts/*, /dev/ptmx and
 * /dev/net/tun. `path` is the node the rule belongs to: runc drops a default whose node the config
 * redefines in linux.devices.
 */
export const RUNC_DEFAULT_DEVICE_RULES: ReadonlyArray<{ rule: DeviceCgroupRule; path?: string }> = [
  { rule: { allow: true, type: 'c', major: null, minor: null, access: 'm' } },
  { rule: { allow: true, type: 'b', major: null, minor: null, access: 'm' } },
  { rule: { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, path: '/dev/null' },
  { rule: { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, path: '/dev/random' },
  { rule: { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, path: '/dev/full' },
  { rule: { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, path: '/dev/tty' },
  { rule: { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, path: '/dev/zero' },
  { rule: { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, path: '/dev/urandom' },
  { rule: { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' } },
  { rule: { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' } },
  { rule: { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' } },
];

/**
 * The resources with runc's default device rules appended (what runc's specconv does once, when a
 * container is created from config.json). Not for `update`: the rules are already in place then.
 */
export function withDefaultDeviceRules(resources: Resources | undefined, linuxDevices: Device[] = []): Resources {
  const redefined = new Set(linuxDevices.map((d) => d.path));
  const defaults = RUNC_DEFAULT_DEVICE_RULES.filter((d) => !d.path || !redefined.has(d.path)).map((d) => ({ ...d.rule }));
  return { ...resources, devices: [...(resources?.devices ?? []), ...defaults] };
}

function idPart(value: number | null | undefined, name: string, index: number): string {
  if (value === null || value === undefined || value === -1) return '*';
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw invalid(`${FIELD}[${index}].${name} must be a non-negative integer or null (any), got ${value}`, {
      field: `${FIELD}[${index}].${name}`,
    });
  }
  return String(value);
}

/** Validates one rule and returns its v1 line: "c 1:3 rwm", "b 8:* r", or "a" (every device). */
export function deviceRuleLine(rule: DeviceCgroupRule, index: number): string {
  const type = rule.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') {
    throw invalid(`${FIELD}[${index}].type must be "a", "b" or "c", got ${JSON.stringify(type)}`, { field: `${FIELD}[${index}].type` });
  }
  const access = rule.access ?? '';
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
    throw invalid(`${FIELD}[${index}].access must be a non-empty combination of "r", "w" and "m", got ${JSON.stringify(access)}`, {
      field: `${FIELD}[${index}].access`,
    });
  }
  const major = idPart(rule.major, 'major', index);
  const minor = idPart(rule.minor, 'minor', index);
  // The kernel reads "a" as every device with every access and ignores the rest of the line.
  if (type === 'a') return 'a';
  return `${type} ${major}:${minor} ${access}`;
}
