// The container's capability sets: containerd's default list, then the request's add and drop
// (`ALL` first, so `add ALL, drop CHOWN` is everything but CAP_CHOWN), names with or without
// the `CAP_` prefix, any case. Privileged containers get every capability. Ambient ones are
// only those in add_ambient_capabilities (containerd clears ambient; the proto adds them to all
// five sets).
import { invalid } from '../oci/errors.ts';
import type { Capabilities } from '../oci/runtime-spec.ts';
import { CAP_NAMES, CAPABILITY_NUMBERS } from '../runtime/capabilities.ts';
import { DEFAULT_CONTAINER_CAPABILITIES } from '../runtime/default-spec.ts';
import type { Capability } from './cri-types.ts';

const FIELD = 'config.linux.security_context.capabilities';

const isAll = (name: string): boolean => name.toUpperCase() === 'ALL';

function capName(raw: string, field: string): string {
  const upper = raw.toUpperCase();
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (CAPABILITY_NUMBERS[name] === undefined) throw invalid(`${field}: unknown capability ${JSON.stringify(raw)}`, { field });
  return name;
}

function names(list: string[] | undefined, key: string): string[] {
  return (list ?? []).flatMap((raw, i) => (isAll(raw) ? [] : [capName(raw, `${FIELD}.${key}[${i}]`)]));
}

export function containerCapabilities(request: Capability | null | undefined, privileged: boolean): Capabilities {
  if (privileged) {
    const all = [...CAP_NAMES];
    return { bounding: all, effective: [...all], permitted: [...all] };
  }
  let caps = [...DEFAULT_CONTAINER_CAPABILITIES];
  const add = names(request?.add_capabilities, 'add_capabilities');
  const drop = new Set(names(request?.drop_capabilities, 'drop_capabilities'));
  const ambient = names(request?.add_ambient_capabilities, 'add_ambient_capabilities');
  if ((request?.add_capabilities ?? []).some(isAll)) caps = [...CAP_NAMES];
  if ((request?.drop_capabilities ?? []).some(isAll)) caps = [];
  for (const c of [...add, ...ambient]) if (!caps.includes(c)) caps.push(c);
  caps = caps.filter((c) => !drop.has(c));
  const ambientSet = [...new Set(ambient)].filter((c) => !drop.has(c));
  const out: Capabilities = { bounding: caps, effective: [...caps], permitted: [...caps] };
  if (ambientSet.length > 0) {
    out.inheritable = [...ambientSet];
    out.ambient = ambientSet;
  }
  return out;
}
