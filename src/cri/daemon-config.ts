// berthd's configuration: a TOML file, then command-line flags over it, then defaults.
//
//   root = "/var/lib/berth"                  # image store (shared with `berth --root`)
//   state = "/run/berth"                     # runtime state, pinned namespaces, sockets
//   listen = "/run/berth/berthd.sock"        # the CRI socket
//   registries_config = "/etc/containers/registries.conf"
//   default_runtime = "berth"                # RuntimeClass handler "" runs here
//   log_level = "info"
//   [runtimes.runc]
//   path = "/usr/sbin/runc"
//   [runtimes.runsc]                         # gVisor; args: global flags before every command
//   path = "/usr/bin/runsc"
//   args = ["--network=host"]
//   [cni]
//   conf_dir = "/etc/cni/net.d"
//   bin_dirs = ["/opt/cni/bin", "/usr/lib/cni"]
//   [streaming]
//   address = "127.0.0.1"
//   port = 0                                 # 0: any free port
//   idle_timeout = "4h"                      # a streaming connection with no traffic closes
//
// Pure: text in, a checked config out; every error names the file and the key. Unknown keys are
// errors (a typo must not silently leave a default in force).
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalid } from '../oci/errors.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** The RuntimeClass handler that is berth's own runtime, in berthd's process. */
export const BUILTIN_RUNTIME = 'berth';

export interface RuntimeEntry {
  name: string;
  /** Absolute path of a program with runc's command line; undefined for the built-in runtime. */
  path?: string;
  /** Global flags given to every call of the program, before its command (cri-o's runtime_args), e.g. runsc's `--network=host`. */
  args?: string[];
}

export interface DaemonConfig {
  root: string;
  state: string;
  listen: string;
  registriesConfig: string;
  defaultRuntime: string;
  /** Every handler by name, the built-in one included. */
  runtimes: Record<string, RuntimeEntry>;
  cni: { confDir: string; binDirs: string[] };
  streaming: { address: string; port: number; idleTimeoutMs: number };
  logLevel: LogLevel;
}

/** What the command line can override (already resolved to absolute paths by the CLI). */
export interface DaemonFlags {
  root?: string;
  state?: string;
  listen?: string;
  logLevel?: string;
}

export const DEFAULT_CONFIG: Readonly<DaemonConfig> = Object.freeze({
  root: '/var/lib/berth',
  state: '/run/berth',
  listen: '/run/berth/berthd.sock',
  registriesConfig: '/etc/containers/registries.conf',
  defaultRuntime: BUILTIN_RUNTIME,
  runtimes: { [BUILTIN_RUNTIME]: { name: BUILTIN_RUNTIME } },
  cni: { confDir: '/etc/cni/net.d', binDirs: ['/opt/cni/bin', '/usr/lib/cni'] },
  streaming: { address: '127.0.0.1', port: 0, idleTimeoutMs: 4 * 3600_000 },
  logLevel: 'info',
});

type Table = Record<string, unknown>;

class Reader {
  constructor(readonly file: string) {}

  fail(key: string, why: string): never {
    throw invalid(`${this.file}: ${key}: ${why}`, { path: this.file, field: key });
  }

  table(value: unknown, key: string): Table {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) this.fail(key, 'must be a table');
    return value as Table;
  }

  known(table: Table, prefix: string, keys: readonly string[]): void {
    for (const k of Object.keys(table)) {
      if (!keys.includes(k)) this.fail(prefix + k, `unknown key (known here: ${keys.join(', ')})`);
    }
  }

  string(value: unknown, key: string): string {
    if (typeof value !== 'string') this.fail(key, 'must be a string');
    if (value === '') this.fail(key, 'must not be empty');
    return value;
  }

  /** Command-line flags: each a string starting with '-' (a command or operand would break every call). */
  flags(value: unknown, key: string): string[] {
    if (!Array.isArray(value)) this.fail(key, 'must be an array of strings');
    return value.map((v, i) => {
      const flag = this.string(v, `${key}[${i}]`);
      if (!flag.startsWith('-')) this.fail(`${key}[${i}]`, `"${flag}" is not a flag (flags start with '-'; give a value as --flag=value)`);
      if (flag.includes('\0')) this.fail(`${key}[${i}]`, 'must not contain NUL');
      return flag;
    });
  }

  path(value: unknown, key: string): string {
    const p = this.string(value, key);
    if (!isAbsolute(p)) this.fail(key, `"${p}" must be an absolute path`);
    if (p.includes('\0')) this.fail(key, 'must not contain NUL');
    return p;
  }
}

// RuntimeClass handler names are DNS labels (Kubernetes validates RuntimeClass.handler so).
const HANDLER_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The settings a config file gives; absent keys stay absent. */
export function parseDaemonConfig(text: string, file: string): Partial<DaemonConfig> {
  const r: Reader = new Reader(file);
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    throw invalid(`${file}: not valid TOML: ${(err as Error).message.split('\n')[0]}`, { path: file });
  }
  r.known(doc, '', ['root', 'state', 'listen', 'registries_config', 'default_runtime', 'log_level', 'runtimes', 'cni', 'streaming']);
  const out: Partial<DaemonConfig> = {};
  if (doc.root !== undefined) out.root = r.path(doc.root, 'root');
  if (doc.state !== undefined) out.state = r.path(doc.state, 'state');
  if (doc.listen !== undefined) out.listen = r.path(doc.listen, 'listen');
  if (doc.registries_config !== undefined) out.registriesConfig = r.path(doc.registries_config, 'registries_config');
  if (doc.default_runtime !== undefined) out.defaultRuntime = r.string(doc.default_runtime, 'default_runtime');
  if (doc.log_level !== undefined) out.logLevel = logLevel(r.string(doc.log_level, 'log_level'), (why) => r.fail('log_level', why));
  if (doc.runtimes !== undefined) {
    const runtimes: Record<string, RuntimeEntry> = {};
    for (const [name, value] of Object.entries(r.table(doc.runtimes, 'runtimes'))) {
      const key = `runtimes.${name}`;
      if (!HANDLER_RE.test(name)) r.fail(key, `"${name}" is not a valid handler name (lower-case letters, digits and '-', at most 63)`);
      if (name === BUILTIN_RUNTIME) r.fail(key, `"${BUILTIN_RUNTIME}" is berth's built-in runtime and cannot be redefined`);
      const t = r.table(value, key);
      r.known(t, `${key}.`, ['path', 'args']);
      if (t.path === undefined) r.fail(`${key}.path`, 'required');
      runtimes[name] = { name, path: r.path(t.path, `${key}.path`), ...(t.args !== undefined ? { args: r.flags(t.args, `${key}.args`) } : {}) };
    }
    out.runtimes = runtimes;
  }
  if (doc.cni !== undefined) {
    const t = r.table(doc.cni, 'cni');
    r.known(t, 'cni.', ['conf_dir', 'bin_dirs']);
    const cni = { ...DEFAULT_CONFIG.cni };
    if (t.conf_dir !== undefined) cni.confDir = r.path(t.conf_dir, 'cni.conf_dir');
    if (t.bin_dirs !== undefined) {
      if (!Array.isArray(t.bin_dirs) || t.bin_dirs.length === 0) r.fail('cni.bin_dirs', 'must be a non-empty list of directories');
      cni.binDirs = t.bin_dirs.map((d, i) => r.path(d, `cni.bin_dirs[${i}]`));
    }
    out.cni = cni;
  }
  if (doc.streaming !== undefined) {
    const t = r.table(doc.streaming, 'streaming');
    r.known(t, 'streaming.', ['address', 'port', 'idle_timeout']);
    const streaming = { ...DEFAULT_CONFIG.streaming };
    if (t.address !== undefined) {
      streaming.address = r.string(t.address, 'streaming.address');
      if (isIP(streaming.address) === 0) r.fail('streaming.address', `"${streaming.address}" is not an IP address`);
    }
    if (t.port !== undefined) {
      if (typeof t.port !== 'number' || !Number.isInteger(t.port) || t.port < 0 || t.port > 65535) r.fail('streaming.port', 'must be an integer from 0 to 65535');
      streaming.port = t.port;
    }
    if (t.idle_timeout !== undefined) {
      const ms = parseDuration(r.string(t.idle_timeout, 'streaming.idle_timeout'));
      if (ms === undefined || ms < 1000) r.fail('streaming.idle_timeout', `"${t.idle_timeout}" is not a duration of at least 1s (like "4h", "30m", "1h30m")`);
      streaming.idleTimeoutMs = ms;
    }
    out.streaming = streaming;
  }
  return out;
}

const DURATION_UNITS: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };

/** A Go-style duration ("4h", "1h30m", "90s", "500ms") in milliseconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Math.round(ms);
}

function logLevel(value: string, fail: (why: string) => never): LogLevel {
  if (!LOG_LEVELS.includes(value as LogLevel)) fail(`"${value}" is not one of ${LOG_LEVELS.join(', ')}`);
  return value as LogLevel;
}

/** Defaults, then the file's settings, then the flags; checks what spans several keys. */
export function resolveDaemonConfig(file: Partial<DaemonConfig>, flags: DaemonFlags = {}, source = 'config'): DaemonConfig {
  const runtimes = { ...DEFAULT_CONFIG.runtimes, ...(file.runtimes ?? {}) };
  const config: DaemonConfig = {
    root: flags.root ?? file.root ?? DEFAULT_CONFIG.root,
    state: flags.state ?? file.state ?? DEFAULT_CONFIG.state,
    listen: flags.listen ?? file.listen ?? DEFAULT_CONFIG.listen,
    registriesConfig: file.registriesConfig ?? DEFAULT_CONFIG.registriesConfig,
    defaultRuntime: file.defaultRuntime ?? DEFAULT_CONFIG.defaultRuntime,
    runtimes,
    cni: { ...(file.cni ?? DEFAULT_CONFIG.cni), binDirs: [...(file.cni ?? DEFAULT_CONFIG.cni).binDirs] },
    streaming: { ...(file.streaming ?? DEFAULT_CONFIG.streaming) },
    logLevel: flags.logLevel !== undefined ? logLevel(flags.logLevel, (why) => {
      throw invalid(`--log-level: ${why}`, { field: '--log-level' });
    }) : (file.logLevel ?? DEFAULT_CONFIG.logLevel),
  };
  if (!(config.defaultRuntime in runtimes)) {
    throw invalid(`${source}: default_runtime: "${config.defaultRuntime}" is not berth's built-in runtime or a [runtimes.NAME] table (known: ${Object.keys(runtimes).join(', ')})`, { path: source, field: 'default_runtime' });
  }
  // A socket path must fit sockaddr_un.sun_path (108 bytes with its NUL).
  if (Buffer.byteLength(config.listen) > 107) {
    throw invalid(`listen: "${config.listen}" is longer than a unix socket path can be (107 bytes)`, { field: 'listen', path: config.listen });
  }
  return config;
}
