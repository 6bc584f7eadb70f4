// berthd: the CRI daemon. Argument parsing, the config file, signals; the daemon is src/cri/.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BerthError, exitCodeOf, fromSystemError } from '../../oci/errors.ts';
import { parseArgs, type FlagSpec } from '../argv.ts';
import { parseDaemonConfig, resolveDaemonConfig, type DaemonConfig, type DaemonFlags } from '../../cri/daemon-config.ts';
import { startDaemon, type Daemon } from '../../cri/daemon.ts';
import { Logger } from '../../cri/server/logger.ts';

const PROGRAM = 'berthd';
/** Read when it exists and no --config is given. */
export const DEFAULT_CONFIG_FILE = '/etc/berth/berthd.toml';

export const FLAGS: FlagSpec[] = [
  { name: 'config', kind: 'string', help: `TOML config file (default ${DEFAULT_CONFIG_FILE} if it exists)` },
  { name: 'root', kind: 'string', help: 'image store directory, shared with `berth --root` (default /var/lib/berth)' },
  { name: 'state', kind: 'string', help: 'runtime state directory (default /run/berth)' },
  { name: 'listen', kind: 'string', help: 'CRI unix socket (default /run/berth/berthd.sock)' },
  { name: 'log-level', kind: 'string', help: 'debug (one line per RPC), info, warn or error (default info)' },
  { name: 'help', alias: 'h', kind: 'bool', help: 'show this help' },
];

export function help(): string {
  const lines = [
    `usage: ${PROGRAM} [--config FILE] [--root DIR] [--state DIR] [--listen PATH] [--log-level LEVEL]`,
    '',
    'The Kubernetes CRI (runtime.v1 RuntimeService and ImageService) on a unix socket.',
    'Flags override the config file. SIGTERM or SIGINT stop it gracefully.',
    '',
    'flags:',
  ];
  for (const f of FLAGS) lines.push(`  ${`--${f.name}${f.kind === 'bool' ? '' : ' value'}`.padEnd(22)} ${f.help}`);
  return lines.join('\n');
}

/** The config file's text: the given one must exist; the default one may be absent. */
function readConfigFile(path: string | undefined): { text: string; file: string } | undefined {
  const file = path ?? DEFAULT_CONFIG_FILE;
  try {
    return { text: readFileSync(file, 'utf8'), file };
  } catch (err) {
    if (path === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(err, 'read config', file);
  }
}

export function loadConfig(argv: readonly string[]): DaemonConfig | 'help' {
  const p = parseArgs(argv, FLAGS);
  if (p.flags.help) return 'help';
  if (p.positionals.length) throw new BerthError('invalid-argument', `unexpected argument "${p.positionals[0]}" (see ${PROGRAM} --help)`);
  const str = (name: string): string | undefined => (typeof p.flags[name] === 'string' ? (p.flags[name] as string) : undefined);
  const flags: DaemonFlags = {};
  for (const [flag, key] of [['root', 'root'], ['state', 'state'], ['listen', 'listen']] as const) {
    const v = str(flag);
    if (v !== undefined) flags[key] = resolve(v);
  }
  const level = str('log-level');
  if (level !== undefined) flags.logLevel = level;
  const config = str('config');
  const source = readConfigFile(config === undefined ? undefined : resolve(config));
  const file = source ? parseDaemonConfig(source.text, source.file) : {};
  return resolveDaemonConfig(file, flags, source?.file ?? 'defaults');
}

/** Waits for SIGTERM or SIGINT, then stops the daemon; a second signal exits at once. */
function untilSignal(daemon: Daemon, log: Logger): Promise<number> {
  return new Promise((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn('second signal: exiting without waiting for running calls', { signal });
        process.exit(130);
      }
      stopping = true;
      log.info('shutting down', { signal });
      void daemon.close().then(() => done(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  let config: DaemonConfig | 'help';
  try {
    config = loadConfig(argv);
  } catch (err) {
    process.stderr.write(`${PROGRAM}: ${err instanceof BerthError ? err.describe() : String(err)}\n`);
    return exitCodeOf(err);
  }
  if (config === 'help') {
    process.stdout.write(help() + '\n');
    return 0;
  }
  const log = new Logger(config.logLevel);
  let daemon: Daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (err) {
    // Before serving, a failure is a command's failure: one plain line.
    process.stderr.write(`${PROGRAM}: cannot start: ${err instanceof BerthError ? err.describe() : err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeOf(err);
  }
  return untilSignal(daemon, log);
}
