// Parses and validates a config.json. Every problem is reported with the JSON field it concerns.

import { invalid, unimplemented } from './errors.ts';
import { HOOK_KINDS, NAMESPACE_TYPES, type Spec } from './runtime-spec.ts';

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, message: string): never {
    throw invalid(`${this.file}: ${field}: ${message}`, { field, path: this.file });
  }

  object(v: Json, field: string): Record<string, Json> {
    if (!isObject(v)) this.fail(field, 'must be an object');
    return v;
  }

  string(v: Json, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    return v;
  }

  absolute(v: Json, field: string): string {
    const s = this.string(v, field);
    if (!s.startsWith('/')) this.fail(field, `must be an absolute path, got "${s}"`);
    return s;
  }

  integer(v: Json, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `must be an integer between ${min} and ${max}`);
    }
    return v;
  }

  boolean(v: Json, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'must be true or false');
    return v;
  }

  array(v: Json, field: string): Json[] {
    if (!Array.isArray(v)) this.fail(field, 'must be an array');
    return v;
  }

  strings(v: Json, field: string): string[] {
    return this.array(v, field).map((s, i) => this.string(s, `${field}[${i}]`));
  }

  optional<T>(obj: Record<string, Json>, key: string, field: string, check: (v: Json, f: string) => T): T | undefined {
    return obj[key] === undefined ? undefined : check(obj[key], `${field}.${key}`);
  }
}

const UINT32 = 0xffffffff;
const RLIMIT_TYPE = /^RLIMIT_[A-Z]+$/;

export function parseSpec(text: string, file = 'config.json'): Spec {
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(`${file}: not valid JSON: ${(err as Error).message}`, { path: file });
  }
  validateSpec(raw, file);
  // The runtime-spec still allows (deprecated) relative mount destinations and says they are
  // relative to "/": make them absolute here, so that everything after sees one form.
  for (const m of raw.mounts ?? []) if (!m.destination.startsWith('/')) m.destination = `/${m.destination}`;
  return raw;
}

export function validateSpec(raw: Json, file = 'config.json'): asserts raw is Spec {
  const c = new Checker(file);
  const spec = c.object(raw, '(top level)');
  if (spec.ociVersion === undefined) c.fail('ociVersion', 'required (the runtime-spec version the config follows, such as "1.2.0")');
  const version = c.string(spec.ociVersion, 'ociVersion');
  if (!/^1\.\d+\.\d+/.test(version)) c.fail('ociVersion', `unsupported version "${version}" (expected 1.x.y)`);

  const root = c.optional(spec, 'root', '', c.object.bind(c));
  if (root) {
    c.string(root.path, 'root.path');
    if (root.path === '') c.fail('root.path', 'must not be empty');
    c.optional(root, 'readonly', 'root', c.boolean.bind(c));
  }
  c.optional(spec, 'hostname', '', c.string.bind(c));
  c.optional(spec, 'domainname', '', c.string.bind(c));
  const annotations = c.optional(spec, 'annotations', '', c.object.bind(c));
  for (const [k, v] of Object.entries(annotations ?? {})) {
    if (k === '') c.fail('annotations', 'a key must not be empty');
    c.string(v, `annotations.${k}`);
  }

  const mounts = c.optional(spec, 'mounts', '', c.array.bind(c)) ?? [];
  mounts.forEach((m, i) => {
    const f = `mounts[${i}]`;
    const mount = c.object(m, f);
    // Relative destinations are deprecated but allowed (relative to "/"); parseSpec makes them absolute.
    if (c.string(mount.destination, `${f}.destination`) === '') c.fail(`${f}.destination`, 'must not be empty');
    c.optional(mount, 'source', f, c.string.bind(c));
    c.optional(mount, 'type', f, c.string.bind(c));
    c.optional(mount, 'options', f, c.strings.bind(c));
    if (mount.uidMappings !== undefined || mount.gidMappings !== undefined) {
      c.fail(`${f}.uidMappings`, 'idmapped mounts are not supported by berth-runtime');
    }
  });

  const process = c.optional(spec, 'process', '', c.object.bind(c));
  if (process) validateProcess(c, process, 'process');

  const hooks = c.optional(spec, 'hooks', '', c.object.bind(c));
  if (hooks) {
    // Unknown properties must be ignored (runtime-spec "Extensibility"): only the known kinds are read.
    for (const key of Object.keys(hooks).filter((k) => (HOOK_KINDS as readonly string[]).includes(k))) {
      c.array(hooks[key], `hooks.${key}`).forEach((h, i) => {
        const f = `hooks.${key}[${i}]`;
        const hook = c.object(h, f);
        c.absolute(hook.path, `${f}.path`);
        c.optional(hook, 'args', f, c.strings.bind(c));
        c.optional(hook, 'env', f, c.strings.bind(c));
        c.optional(hook, 'timeout', f, (v, ff) => c.integer(v, ff, 1));
      });
    }
  }

  const linux = c.optional(spec, 'linux', '', c.object.bind(c));
  if (linux) validateLinux(c, linux);
}

export function validateProcess(c: Checker | string, process: Record<string, Json>, f: string): void {
  const ch = typeof c === 'string' ? new Checker(c) : c;
  const user = ch.object(process.user, `${f}.user`);
  ch.integer(user.uid, `${f}.user.uid`, 0, UINT32);
  ch.integer(user.gid, `${f}.user.gid`, 0, UINT32);
  ch.optional(user, 'umask', `${f}.user`, (v, ff) => ch.integer(v, ff, 0, 0o777));
  (ch.optional(user, 'additionalGids', `${f}.user`, ch.array.bind(ch)) ?? []).forEach((g, i) =>
    ch.integer(g, `${f}.user.additionalGids[${i}]`, 0, UINT32),
  );
  const args = ch.optional(process, 'args', f, ch.strings.bind(ch));
  if (!args || args.length === 0) ch.fail(`${f}.args`, 'must name the program to run');
  ch.absolute(process.cwd, `${f}.cwd`);
  (ch.optional(process, 'env', f, ch.strings.bind(ch)) ?? []).forEach((e, i) => {
    if (!e.includes('=')) ch.fail(`${f}.env[${i}]`, `"${e}" is not NAME=value`);
  });
  ch.optional(process, 'terminal', f, ch.boolean.bind(ch));
  ch.optional(process, 'noNewPrivileges', f, ch.boolean.bind(ch));
  ch.optional(process, 'oomScoreAdj', f, (v, ff) => ch.integer(v, ff, -1000, 1000));
  const size = ch.optional(process, 'consoleSize', f, ch.object.bind(ch));
  if (size) {
    ch.integer(size.height, `${f}.consoleSize.height`, 0, 65535);
    ch.integer(size.width, `${f}.consoleSize.width`, 0, 65535);
  }
  const seen = new Set<string>();
  (ch.optional(process, 'rlimits', f, ch.array.bind(ch)) ?? []).forEach((r, i) => {
    const ff = `${f}.rlimits[${i}]`;
    const rl = ch.object(r, ff);
    const type = ch.string(rl.type, `${ff}.type`);
    if (!RLIMIT_TYPE.test(type)) ch.fail(`${ff}.type`, `"${type}" is not an rlimit name`);
    if (seen.has(type)) ch.fail(`${ff}.type`, `duplicate rlimit ${type}`);
    seen.add(type);
    const soft = ch.integer(rl.soft, `${ff}.soft`, 0, Number.MAX_VALUE);
    const hard = ch.integer(rl.hard, `${ff}.hard`, 0, Number.MAX_VALUE);
    if (soft > hard) ch.fail(`${ff}.soft`, `soft limit ${soft} is above the hard limit ${hard}`);
  });
  // Fields of runtime-spec 1.2 that berth doesn't apply: an error, not a container silently
  // running without them ("Runtimes MUST generate an error when ... unsupported values are encountered").
  for (const key of ['ioPriority', 'scheduler']) {
    if (process[key] !== undefined && process[key] !== null) refuse(`${f}.${key}`);
  }
  const caps = ch.optional(process, 'capabilities', f, ch.object.bind(ch));
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    if (caps) ch.optional(caps, set, `${f}.capabilities`, ch.strings.bind(ch));
  }
}

function refuse(field: string): never {
  throw unimplemented(`${field}: not supported by berth-runtime yet; remove it to run without it`, { field });
}

function validateLinux(c: Checker, linux: Record<string, Json>): void {
  // intelRdt: "If intelRdt is set, the runtime MUST write the container process ID to ... resctrl".
  if (linux.intelRdt !== undefined && linux.intelRdt !== null) refuse('linux.intelRdt');
  const seen = new Set<string>();
  (c.optional(linux, 'namespaces', 'linux', c.array.bind(c)) ?? []).forEach((n, i) => {
    const f = `linux.namespaces[${i}]`;
    const ns = c.object(n, f);
    const type = c.string(ns.type, `${f}.type`);
    if (!(NAMESPACE_TYPES as readonly string[]).includes(type)) {
      c.fail(`${f}.type`, `unknown namespace type "${type}" (expected one of ${NAMESPACE_TYPES.join(', ')})`);
    }
    if (seen.has(type)) c.fail(`${f}.type`, `namespace "${type}" is listed twice`);
    seen.add(type);
    c.optional(ns, 'path', f, c.absolute.bind(c));
  });
  for (const key of ['uidMappings', 'gidMappings']) {
    (c.optional(linux, key, 'linux', c.array.bind(c)) ?? []).forEach((m, i) => {
      const f = `linux.${key}[${i}]`;
      const map = c.object(m, f);
      c.integer(map.containerID, `${f}.containerID`, 0, UINT32);
      c.integer(map.hostID, `${f}.hostID`, 0, UINT32);
      c.integer(map.size, `${f}.size`, 1, UINT32);
    });
  }
  const hasUserNs = seen.has('user');
  if (!hasUserNs && (linux.uidMappings || linux.gidMappings)) {
    const mappings = [...((linux.uidMappings as Json[]) ?? []), ...((linux.gidMappings as Json[]) ?? [])];
    if (mappings.length) c.fail('linux.uidMappings', 'mappings are given but there is no user namespace');
  }
  c.optional(linux, 'cgroupsPath', 'linux', c.string.bind(c));
  c.optional(linux, 'rootfsPropagation', 'linux', c.string.bind(c));
  c.optional(linux, 'maskedPaths', 'linux', c.strings.bind(c))?.forEach((p, i) => c.absolute(p, `linux.maskedPaths[${i}]`));
  c.optional(linux, 'readonlyPaths', 'linux', c.strings.bind(c))?.forEach((p, i) =>
    c.absolute(p, `linux.readonlyPaths[${i}]`),
  );
  c.optional(linux, 'resources', 'linux', c.object.bind(c));
  c.optional(linux, 'seccomp', 'linux', c.object.bind(c));
  const sysctl = c.optional(linux, 'sysctl', 'linux', c.object.bind(c));
  for (const [k, v] of Object.entries(sysctl ?? {})) c.string(v, `linux.sysctl.${k}`);
  (c.optional(linux, 'devices', 'linux', c.array.bind(c)) ?? []).forEach((d, i) => {
    const f = `linux.devices[${i}]`;
    const dev = c.object(d, f);
    const type = c.string(dev.type, `${f}.type`);
    if (!['c', 'b', 'u', 'p'].includes(type)) c.fail(`${f}.type`, `unknown device type "${type}"`);
    c.absolute(dev.path, `${f}.path`);
    if (type !== 'p') {
      c.integer(dev.major, `${f}.major`, 0, 0xfff);
      c.integer(dev.minor, `${f}.minor`, 0, 0xfffff);
    }
    c.optional(dev, 'fileMode', f, (v, ff) => c.integer(v, ff, 0, 0o7777));
    c.optional(dev, 'uid', f, (v, ff) => c.integer(v, ff, 0, UINT32));
    c.optional(dev, 'gid', f, (v, ff) => c.integer(v, ff, 0, UINT32));
  });
}

export { Checker };
