// `RUN --mount=type=...,key=value,...` (BuildKit). Types: bind (the default), cache, tmpfs,
// secret, ssh. berth's RUN executor serves cache, bind and tmpfs; secret and ssh are parsed (so
// a Dockerfile using them is understood and its errors are precise) and refused when run.

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

export interface RunMount {
  type: MountType;
  target: string;
  /** A stage (name or index) or image: the filesystem a bind/cache mount is taken from. */
  from?: string;
  source?: string;
  readOnly: boolean;
  /** cache: the cache's id (defaults to the target); secret/ssh: the secret or agent id. */
  id?: string;
  sharing?: CacheSharing;
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  /** tmpfs: size in bytes. */
  size?: number;
  /** secret: expose it as this environment variable instead of (or as well as) a file. */
  env?: string;
}

const TYPES = new Set<MountType>(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
const SHARING = new Set<CacheSharing>(['shared', 'private', 'locked']);
const KEYS = ['type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw', 'id', 'sharing', 'required', 'mode', 'uid', 'gid', 'size', 'env'];

export class MountError extends Error {}

/** Why berth's RUN executor will refuse a mount, or undefined when it serves it. */
export function refusedMount(m: RunMount): string | undefined {
  if (m.type === 'secret') return 'secret mounts are not supported by berth build yet';
  if (m.type === 'ssh') return 'ssh agent mounts are not supported by berth build yet';
  return undefined;
}

/** One CSV record, as Go's encoding/csv reads it (quoted fields, "" for a quote). */
export function csvFields(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new MountError(`extraneous or missing " in quoted-field: ${text}`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ',') throw new MountError(`extraneous or missing " in quoted-field: ${text}`);
    } else {
      while (i < text.length && text[i] !== ',') {
        if (text[i] === '"') throw new MountError(`bare " in non-quoted-field: ${text}`);
        field += text[i++];
      }
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

const parseBool = (key: string, v: string): boolean => {
  const l = v.toLowerCase();
  if (['1', 't', 'true'].includes(l)) return true;
  if (['0', 'f', 'false'].includes(l)) return false;
  throw new MountError(`invalid value for ${key}: ${v} (expected true or false)`);
};

const parseUint = (key: string, v: string, radix: 8 | 10): number => {
  const re = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
  const n = parseInt(v, radix);
  if (!re.test(v) || n > 0xffffffff) throw new MountError(`invalid value ${v} for ${key}`);
  return n;
};

/** Parses a --mount value; `expand` substitutes variables in each value (not in `from`). */
export function parseRunMount(spec: string, expand: (value: string) => string = (v) => v): RunMount {
  const m: RunMount = { type: 'bind', target: '', readOnly: true, required: false };
  let roAuto = true;
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        m.readOnly = true;
        roAuto = false;
        continue;
      }
      if (key === 'readwrite' || key === 'rw') {
        m.readOnly = false;
        roAuto = false;
        continue;
      }
      if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw new MountError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = true;
        continue;
      }
      throw new MountError(`invalid field '${field}' must be a key=value pair`);
    }
    const raw = field.slice(eq + 1);
    if (key === 'from' && /\$./.test(raw)) throw new MountError(`'from' doesn't support variable expansion, define alias stage instead`);
    const value = key === 'from' ? raw : expand(raw);
    switch (key) {
      case 'type': {
        const t = value.toLowerCase() as MountType;
        if (!TYPES.has(t)) throw new MountError(`unsupported mount type "${value}" (expected one of bind, cache, tmpfs, secret, ssh)`);
        m.type = t;
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
        m.readOnly = parseBool(key, value);
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        m.readOnly = !parseBool(key, value);
        roAuto = false;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new MountError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseBool(key, value);
        break;
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        const s = value.toLowerCase() as CacheSharing;
        if (!SHARING.has(s)) throw new MountError(`unsupported sharing value "${value}" (expected shared, private or locked)`);
        m.sharing = s;
        break;
      }
      case 'mode':
        m.mode = parseUint(key, value, 8);
        break;
      case 'uid':
        m.uid = parseUint(key, value, 10);
        break;
      case 'gid':
        m.gid = parseUint(key, value, 10);
        break;
      case 'size':
        m.size = parseSize(value);
        break;
      case 'env':
        m.env = value;
        break;
      default:
        throw new MountError(`unexpected key '${key}' in '${field}' (expected one of ${KEYS.join(', ')})`);
    }
  }
  const fileInfo = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  for (const k of ['mode', 'uid', 'gid'] as const) {
    if (m[k] !== undefined && !fileInfo) throw new MountError(`${k} not allowed for "${m.type}" type mounts`);
  }
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.sharing && m.type !== 'cache') throw new MountError(`invalid cache sharing set for ${m.type} mount`);
  if (m.size !== undefined && m.type !== 'tmpfs') throw new MountError(`size not allowed for "${m.type}" type mounts`);
  if (m.env !== undefined && m.type !== 'secret') throw new MountError(`env not allowed for "${m.type}" type mounts`);
  if (m.type === 'secret') {
    if (m.from !== undefined) throw new MountError('secret mount should not have a from');
    if (m.source === undefined && m.target === '' && m.id === undefined && m.env === undefined) throw new MountError('invalid secret mount: one of source, target, id or env is required');
    if (m.source !== undefined && m.id !== undefined) throw new MountError("both source and id can't be set");
    if (m.source !== undefined) m.id = m.source;
  }
  if (m.type !== 'secret' && m.type !== 'ssh' && m.target === '') throw new MountError(`mount target must be specified (target=PATH) for a ${m.type} mount`);
  if (m.type === 'cache') {
    m.id ??= m.target;
    m.sharing ??= 'shared';
  }
  return m;
}

/** tmpfs sizes as docker's units parser reads them: bytes, or k/m/g (binary) suffixes. */
function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(value);
  if (!m) throw new MountError(`invalid size: ${value}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2]!.toLowerCase() as ''];
  return Math.round(Number(m[1]) * mult);
}
