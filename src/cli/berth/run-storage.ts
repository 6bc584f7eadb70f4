// Pure: `berth run`'s storage flags (`-v/--volume`, `--mount`, `--tmpfs`, `--read-only`,
// `--shm-size`) and the image's VOLUMEs become mount requests, then OCI mounts, with docker's
// formats and defaults: binds and volumes are `rbind` + `rprivate` (plus `ro`), tmpfs mounts
// `noexec,nosuid,nodev` unless the options say otherwise, mounts sorted parents first, a user
// mount replacing a default one at the same place. Host paths are checked at the edge
// (run-storage-host.ts); here they are only strings.
import { invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import type { Mount, Spec } from '../../oci/runtime-spec.ts';
import { parseMountOptions } from '../../runtime/mount-options.ts';
import { parseBytes } from '../../runtime/update-resources.ts';

export type MountRequest =
  | { type: 'bind'; source: string; target: string; readonly: boolean; propagation: string; flag: string }
  /** `name` absent: an anonymous volume (named when the container is made). */
  | { type: 'volume'; name?: string; target: string; readonly: boolean; nocopy: boolean; flag: string }
  | { type: 'tmpfs'; target: string; options: string[]; flag: string };

export interface StorageFlags {
  volume?: readonly string[];
  mount?: readonly string[];
  tmpfs?: readonly string[];
  readOnly?: boolean;
  shmSize?: string;
}

/** docker's volume names (and what a relative -v source must be to mean one). */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const PROPAGATIONS = new Set(['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate']);
const TMPFS_DEFAULTS = ['noexec', 'nosuid', 'nodev'];
/** An option and the one that undoes it: a user's `exec` drops the default `noexec`. */
const OPPOSITE: Record<string, string> = { exec: 'noexec', noexec: 'exec', suid: 'nosuid', nosuid: 'suid', dev: 'nodev', nodev: 'dev', ro: 'rw', rw: 'ro' };

function fail(flag: string, value: string, why: string): never {
  throw invalid(`${flag} ${quote(value)}: ${why}`, { field: flag });
}

function checkTarget(flag: string, value: string, target: string): string {
  if (!target.startsWith('/')) fail(flag, value, `the container path ${quote(target)} must be absolute`);
  if (target.split('/').includes('..')) fail(flag, value, `the container path must not contain ".."`);
  const clean = target.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  if (clean === '/') fail(flag, value, 'the container path cannot be /');
  return clean;
}

/** A host path (absolute) or a volume name; anything else is an error naming the flag. */
function source(flag: string, value: string, src: string): { bind: string } | { volume: string } {
  if (src.startsWith('/')) return { bind: src };
  if (VOLUME_NAME.test(src)) return { volume: src };
  return fail(flag, value, `${quote(src)} is a relative host path (use an absolute one) and not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`);
}

/** `-v [SRC:]CTR[:OPTS]`: OPTS are ro, rw, nocopy, a propagation, z or Z (labels: no effect here). */
export function parseVolumeFlag(value: string): MountRequest {
  const flag = '--volume';
  const parts = value.split(':');
  let src: string | undefined;
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2 && parts[1]!.startsWith('/')) [src, target] = parts as [string, string];
  else if (parts.length === 2) [target, mode] = parts as [string, string];
  else if (parts.length === 3) [src, target, mode] = parts as [string, string, string];
  else return fail(flag, value, 'expected [SOURCE:]CONTAINER-PATH[:OPTIONS]');
  if (src === '') fail(flag, value, 'the source is empty');
  const cleanTarget = checkTarget(flag, value, target);
  let readonly = false;
  let nocopy = false;
  let propagation: string | undefined;
  for (const o of mode ? mode.split(',') : []) {
    if (o === 'ro' || o === 'rw') readonly = o === 'ro';
    else if (o === 'nocopy') nocopy = true;
    else if (PROPAGATIONS.has(o)) propagation = o;
    else if (o !== 'z' && o !== 'Z') fail(flag, value, `unknown option ${quote(o)} (ro, rw, nocopy, z, Z or a propagation: ${[...PROPAGATIONS].join(', ')})`);
  }
  const from = src === undefined ? undefined : source(flag, value, src);
  if (from && 'bind' in from) {
    if (nocopy) fail(flag, value, 'nocopy applies to volumes, not to host paths');
    return { type: 'bind', source: from.bind, target: cleanTarget, readonly, propagation: propagation ?? 'rprivate', flag };
  }
  if (propagation) fail(flag, value, 'a propagation applies to host paths, not to volumes');
  return { type: 'volume', ...(from ? { name: from.volume } : {}), target: cleanTarget, readonly, nocopy, flag };
}

function csvFields(flag: string, value: string): Array<[string, string | undefined]> {
  return value.split(',').map((field) => {
    const i = field.indexOf('=');
    const key = (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
    if (!key) fail(flag, value, 'an empty field');
    return [key, i < 0 ? undefined : field.slice(i + 1)];
  });
}

function boolField(flag: string, value: string, key: string, v: string | undefined): boolean {
  if (v === undefined || v === '1' || v.toLowerCase() === 'true') return true;
  if (v === '0' || v.toLowerCase() === 'false') return false;
  return fail(flag, value, `${key}=${quote(v)} is not true or false`);
}

/** `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,bind-propagation=…][,volume-nocopy][,tmpfs-size=…][,tmpfs-mode=…]`. */
export function parseMountFlag(value: string): MountRequest {
  const flag = '--mount';
  let type = 'volume';
  let src: string | undefined;
  let target: string | undefined;
  let readonly = false;
  let propagation: string | undefined;
  let nocopy = false;
  const tmpfs: string[] = [];
  for (const [key, v] of csvFields(flag, value)) {
    const need = (): string => (v === undefined || v === '' ? fail(flag, value, `${key} needs a value`) : v);
    switch (key) {
      case 'type':
        type = need();
        if (!['bind', 'volume', 'tmpfs'].includes(type)) fail(flag, value, `type ${quote(type)} is not bind, volume or tmpfs`);
        break;
      case 'source':
      case 'src':
        src = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        target = need();
        break;
      case 'readonly':
      case 'ro':
        readonly = boolField(flag, value, key, v);
        break;
      case 'bind-propagation':
        propagation = need();
        if (!PROPAGATIONS.has(propagation)) fail(flag, value, `bind-propagation ${quote(propagation)} is not one of ${[...PROPAGATIONS].join(', ')}`);
        break;
      case 'volume-nocopy':
        nocopy = boolField(flag, value, key, v);
        break;
      case 'tmpfs-size':
        tmpfs.push(`size=${parseBytes(need(), `${flag} tmpfs-size`)}`);
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]{1,4}$/.test(need())) fail(flag, value, `tmpfs-mode ${quote(v!)} is not an octal mode`);
        tmpfs.push(`mode=${v}`);
        break;
      default:
        fail(flag, value, `unknown field ${quote(key)}`);
    }
  }
  if (target === undefined) fail(flag, value, 'target= is required');
  const cleanTarget = checkTarget(flag, value, target);
  const only = (what: string, ok: boolean): void => void (ok || fail(flag, value, `${what} does not apply to type=${type}`));
  only('bind-propagation', propagation === undefined || type === 'bind');
  only('volume-nocopy', !nocopy || type === 'volume');
  only('tmpfs-size and tmpfs-mode', tmpfs.length === 0 || type === 'tmpfs');
  if (type === 'tmpfs') {
    if (src !== undefined) fail(flag, value, 'a tmpfs mount has no source');
    return { type: 'tmpfs', target: cleanTarget, options: mergeTmpfsOptions([...(readonly ? ['ro'] : []), ...tmpfs]), flag };
  }
  if (type === 'bind') {
    if (src === undefined) fail(flag, value, 'source= is required for type=bind');
    if (!src.startsWith('/')) fail(flag, value, `the host path ${quote(src)} must be absolute`);
    return { type: 'bind', source: src, target: cleanTarget, readonly, propagation: propagation ?? 'rprivate', flag };
  }
  if (src !== undefined && !VOLUME_NAME.test(src)) fail(flag, value, `${quote(src)} is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`);
  return { type: 'volume', ...(src !== undefined ? { name: src } : {}), target: cleanTarget, readonly, nocopy, flag };
}

/** tmpfs options: docker's defaults, each overridden by the user's option or its opposite. */
export function mergeTmpfsOptions(user: readonly string[]): string[] {
  const key = (o: string): string => (o.includes('=') ? o.slice(0, o.indexOf('=')) : o);
  const given = new Set(user.map(key));
  const defaults = TMPFS_DEFAULTS.filter((d) => !given.has(d) && !given.has(OPPOSITE[d]!));
  const out = new Map<string, string>();
  for (const o of user) {
    out.delete(OPPOSITE[key(o)] ?? '');
    out.set(key(o), o);
  }
  return [...defaults, ...out.values()];
}

/** `--tmpfs PATH[:OPTIONS]` (mount options as mount(8) takes them: size=64m, mode=1777, exec...). */
export function parseTmpfsFlag(value: string): Extract<MountRequest, { type: 'tmpfs' }> {
  const flag = '--tmpfs';
  const i = value.indexOf(':');
  const target = checkTarget(flag, value, i < 0 ? value : value.slice(0, i));
  const options = i < 0 || value.slice(i + 1) === '' ? [] : value.slice(i + 1).split(',');
  let bind: boolean;
  try {
    bind = parseMountOptions(options, flag).bind;
  } catch (err) {
    return fail(flag, value, (err as Error).message);
  }
  if (bind) fail(flag, value, 'bind and rbind are not tmpfs options');
  return { type: 'tmpfs', target, options: mergeTmpfsOptions(options), flag };
}

/**
 * Every mount the flags ask for plus an anonymous volume for each of the image's VOLUMEs that no
 * flag covers; two mounts at one place are an error, as docker's "Duplicate mount point".
 */
export function storageRequests(flags: StorageFlags, imageVolumes: readonly string[] = []): MountRequest[] {
  const out: MountRequest[] = [
    ...(flags.volume ?? []).map(parseVolumeFlag),
    ...(flags.mount ?? []).map(parseMountFlag),
    ...(flags.tmpfs ?? []).map(parseTmpfsFlag),
  ];
  const seen = new Map<string, string>();
  for (const r of out) {
    if (seen.has(r.target)) throw invalid(`${r.flag}: duplicate mount point ${r.target} (also given with ${seen.get(r.target)})`, { field: r.flag });
    seen.set(r.target, r.flag);
  }
  for (const v of imageVolumes) {
    const target = v.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    if (!target.startsWith('/') || target.split('/').includes('..')) throw invalid(`the image's VOLUME ${quote(v)} is not an absolute path`, { field: 'Volumes' });
    if (!seen.has(target)) {
      seen.set(target, 'VOLUME');
      out.push({ type: 'volume', target, readonly: false, nocopy: false, flag: 'VOLUME' });
    }
  }
  return out;
}

/** The volume each request mounts, by name: anonymous ones get a name from `anonymousName`. */
export function nameVolumes(requests: readonly MountRequest[], anonymousName: () => string): Array<MountRequest & { volumeName?: string; anonymous?: boolean }> {
  return requests.map((r) => (r.type === 'volume' ? { ...r, volumeName: r.name ?? anonymousName(), anonymous: r.name === undefined } : r));
}

/** One request as an OCI mount; a volume's data directory comes from `volumePath(name)`. */
export function requestMount(r: MountRequest & { volumeName?: string }, volumePath: (name: string) => string): Mount {
  if (r.type === 'tmpfs') return { destination: r.target, type: 'tmpfs', source: 'tmpfs', options: [...r.options] };
  const src = r.type === 'bind' ? r.source : volumePath(r.volumeName ?? r.name!);
  const propagation = r.type === 'bind' ? r.propagation : 'rprivate';
  return { destination: r.target, type: 'bind', source: src, options: ['rbind', propagation, ...(r.readonly ? ['ro'] : [])] };
}

const depth = (p: string): number => p.split('/').filter(Boolean).length;

/**
 * Applies the storage flags to a spec: the requests' mounts after the defaults (a default at the
 * same place goes), sorted so that a parent is mounted before what is inside it; `--read-only`;
 * `--shm-size` on /dev/shm (unless a flag mounts something else there).
 */
export function applyStorage(spec: Spec, mounts: readonly Mount[], flags: Pick<StorageFlags, 'readOnly' | 'shmSize'>): void {
  const targets = new Set(mounts.map((m) => m.destination));
  const base = (spec.mounts ?? []).filter((m) => !targets.has(m.destination.replace(/(.)\/$/, '$1')));
  if (flags.shmSize !== undefined) {
    const bytes = parseBytes(flags.shmSize, '--shm-size');
    if (bytes <= 0) throw invalid(`--shm-size ${quote(flags.shmSize)}: must be greater than 0`, { field: '--shm-size' });
    const shm = base.find((m) => m.destination === '/dev/shm');
    if (shm) shm.options = [...(shm.options ?? []).filter((o) => !o.startsWith('size=')), `size=${bytes}`];
  }
  // Stable: mounts at the same depth keep the order they were given in.
  const sorted = [...mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
  spec.mounts = [...base, ...sorted];
  if (flags.readOnly) spec.root = { ...(spec.root ?? { path: 'rootfs' }), readonly: true };
}
