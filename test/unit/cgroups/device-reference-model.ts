// Two direct readings of device rules (no eBPF), for tests to compare the compiled program with:
// - `rulesAllow`: berth's semantics, read literally: default deny, rules in order, the last rule
//   that matches the device and names an access type decides it, every requested type must be allowed.
// - `v1KernelAllows`: what the v1 devices controller does with the lines berth's v1 plan writes
//   ("a" denied first, then each rule): an exception list where an allow adds access to an entry
//   of exactly that type:major:minor and a deny removes it from exactly that entry
//   (kernel security/device_cgroup.c: dev_exception_add / dev_exception_rm / match_exception).
import type { DeviceCgroupRule } from '../../../src/oci/runtime-spec.ts';

export interface DeviceRequest {
  type: 'b' | 'c';
  major: number;
  minor: number;
  /** What the kernel asks for: "m" for mknod, "r", "w" or "rw" for open. */
  access: string;
}

const any = (v: number | null | undefined): boolean => v === null || v === undefined || v === -1;

function matchesDevice(rule: DeviceCgroupRule, req: DeviceRequest): boolean {
  const type = rule.type ?? 'a';
  return (type === 'a' || type === req.type) && (any(rule.major) || rule.major === req.major) && (any(rule.minor) || rule.minor === req.minor);
}

export function rulesAllow(rules: readonly DeviceCgroupRule[], req: DeviceRequest): boolean {
  for (const bit of req.access) {
    let allowed = false;
    for (const rule of rules) if (matchesDevice(rule, req) && (rule.access ?? '').includes(bit)) allowed = rule.allow;
    if (!allowed) return false;
  }
  return req.access.length > 0;
}

interface Exception {
  type: 'b' | 'c';
  major: number | null;
  minor: number | null;
  access: Set<string>;
}

export function v1KernelAllows(rules: readonly DeviceCgroupRule[], req: DeviceRequest): boolean {
  let defaultAllow = false;
  let exceptions: Exception[] = [];
  for (const rule of rules) {
    const type = rule.type ?? 'a';
    if (type === 'a') {
      defaultAllow = rule.allow;
      exceptions = [];
      continue;
    }
    const major = any(rule.major) ? null : (rule.major as number);
    const minor = any(rule.minor) ? null : (rule.minor as number);
    const same = exceptions.find((e) => e.type === type && e.major === major && e.minor === minor);
    const adds = rule.allow !== defaultAllow;
    if (adds) {
      if (same) for (const a of rule.access ?? '') same.access.add(a);
      else exceptions.push({ type: type as 'b' | 'c', major, minor, access: new Set(rule.access ?? '') });
    } else if (same) {
      for (const a of rule.access ?? '') same.access.delete(a);
      if (same.access.size === 0) exceptions = exceptions.filter((e) => e !== same);
    }
  }
  const hits = exceptions.filter((e) => e.type === req.type && (e.major === null || e.major === req.major) && (e.minor === null || e.minor === req.minor));
  if (defaultAllow) return !hits.some((e) => [...req.access].some((a) => e.access.has(a)));
  return hits.some((e) => [...req.access].every((a) => e.access.has(a)));
}
