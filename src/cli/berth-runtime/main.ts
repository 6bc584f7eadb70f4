// berth-runtime: a runc-compatible OCI runtime. Argument parsing and output only; the work is
// in src/runtime/.

import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError, exitCodeOf, invalid, unimplemented } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import { parseArgs, usage, type CommandSpec, type Parsed } from '../argv.ts';
import type { Process } from '../../oci/runtime-spec.ts';
import { COMMANDS, GLOBAL_FLAGS } from './commands.ts';
import { listTableCells } from '../../runtime/fast-path.ts';
import type { StateOutput } from '../../runtime/state-output.ts';

export const VERSION = '0.1.0';
const PROGRAM = 'berth-runtime';

interface Globals {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
}

function splitGlobal(argv: readonly string[]): { globals: Parsed; rest: string[] } {
  // Global flags come before the command name.
  const commandAt = argv.findIndex((a, i) => !a.startsWith('-') && !isGlobalValue(argv, i));
  const head = commandAt < 0 ? argv : argv.slice(0, commandAt);
  return { globals: parseArgs(head, GLOBAL_FLAGS), rest: commandAt < 0 ? [] : argv.slice(commandAt) };
}

function isGlobalValue(argv: readonly string[], i: number): boolean {
  if (i === 0) return false;
  const prev = argv[i - 1]!;
  if (!prev.startsWith('-') || prev.includes('=')) return false;
  const name = prev.replace(/^--?/, '');
  return GLOBAL_FLAGS.some((f) => (f.name === name || f.alias === name) && f.kind !== 'bool');
}

function logLine(g: Globals, level: 'error' | 'warning' | 'debug', msg: string): void {
  if (!g.log) return;
  const time = new Date().toISOString();
  const line =
    g.logFormat === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(g.log, `${line}\n`);
  } catch {
    // the log is best effort; the error still reaches stderr
  }
}

function need(cmd: CommandSpec, p: Parsed, n: number): string[] {
  const required = cmd.args.filter((a) => a.startsWith('<')).length;
  if (p.positionals.length < required) throw invalid(`${cmd.name}: missing ${cmd.args.slice(p.positionals.length, required).join(' ')}\n${usage(PROGRAM, cmd)}`);
  if (p.positionals.length > n) throw invalid(`${cmd.name}: unexpected argument ${quote(p.positionals[n]!)}`);
  return p.positionals;
}

export async function main(argv: readonly string[]): Promise<number> {
  let g: Globals = { root: '/run/berth-runtime', logFormat: 'text', debug: false };
  try {
    const { globals, rest } = splitGlobal(argv);
    g = {
      root: resolve(String(globals.flags.root)),
      log: globals.flags.log as string | undefined,
      logFormat: globals.flags['log-format'] === 'json' ? 'json' : 'text',
      debug: !!globals.flags.debug,
    };
    if (globals.flags['log-format'] !== 'text' && globals.flags['log-format'] !== 'json') {
      throw invalid(`--log-format: "${globals.flags['log-format']}" is not 'text' or 'json'`);
    }
    if (globals.flags.version) {
      process.stdout.write(`${PROGRAM} version ${VERSION}\nspec: 1.2.0\n`);
      return 0;
    }
    const name = rest[0];
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!name || globals.flags.help || name === 'help') {
      const target = COMMANDS.find((c) => c.name === rest[1]);
      process.stdout.write(`${target ? usage(PROGRAM, target) : generalHelp()}\n`);
      return 0;
    }
    if (!cmd) throw invalid(`unknown command ${quote(name)}\n${generalHelp()}`);
    if (globals.flags['systemd-cgroup']) {
      throw unimplemented('--systemd-cgroup: the systemd cgroup driver is not supported by berth-runtime; use cgroupfs paths');
    }
    const p = parseArgs(rest.slice(1), [...cmd.flags, { name: 'help', alias: 'h', kind: 'bool', help: '' }], cmd.stopAfterPositionals);
    if (p.flags.help) {
      process.stdout.write(`${usage(PROGRAM, cmd)}\n`);
      return 0;
    }
    return await dispatch(cmd, p, g);
  } catch (err) {
    const message = err instanceof BerthError ? err.describe() : err instanceof Error ? err.message : String(err);
    logLine(g, 'error', message);
    process.stderr.write(`${PROGRAM}: ${message}\n`);
    if (g.debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return exitCodeOf(err);
  }
}

function generalHelp(): string {
  const lines = [`usage: ${PROGRAM} [global flags] <command> [flags] [args]`, '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push('', 'global flags:');
  for (const f of GLOBAL_FLAGS) lines.push(`  --${(f.name + (f.kind === 'bool' ? '' : ' value')).padEnd(22)} ${f.help}`);
  return lines.join('\n');
}

async function dispatch(cmd: CommandSpec, p: Parsed, g: Globals): Promise<number> {
  const f = p.flags;
  // Loaded on demand: `spec` and `features` don't need the runtime library.
  if (cmd.name === 'spec') {
    need(cmd, p, 0);
    const { defaultSpec } = await import('../../runtime/default-spec.ts');
    const dir = resolve(String(f.bundle));
    const file = join(dir, 'config.json');
    if (existsSync(file)) throw new BerthError('already-exists', `File ${file} exists. Remove it first`, { path: file });
    mkdirSync(dir, { recursive: true });
    const spec = defaultSpec(f.rootless ? { rootless: { uid: process.getuid!(), gid: process.getgid!() } } : {});
    writeFileSync(file, `${JSON.stringify(spec, null, '\t')}\n`);
    return 0;
  }
  if (cmd.name === 'features') {
    need(cmd, p, 0);
    const { features } = await import('../../runtime/features.ts');
    const seccomp = await import('../../runtime/seccomp/index.ts');
    const out = features({
      version: VERSION,
      seccomp: {
        actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'],
        operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
        archs: [...seccomp.SECCOMP_ARCHITECTURES].sort(),
        knownFlags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
        supportedFlags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'],
      },
    });
    process.stdout.write(`${JSON.stringify(out, null, '    ')}\n`);
    return 0;
  }

  const { Runtime } = await import('../../runtime/container.ts');
  const { keepSeccompFiltersIn } = await import('../../runtime/seccomp-cache.ts');
  const runtime = new Runtime({
    root: g.root,
    warn: (m) => {
      logLine(g, 'warning', m);
      process.stderr.write(`${PROGRAM}: warning: ${m}\n`);
    },
  });
  keepSeccompFiltersIn(runtime.store.seccompCacheDir());
  const createOptions = (id: string) => ({
    id,
    bundle: String(f.bundle),
    pidFile: f['pid-file'] ? resolve(String(f['pid-file'])) : undefined,
    consoleSocket: f['console-socket'] as string | undefined,
    noPivot: !!f['no-pivot'],
    noNewKeyring: !!f['no-new-keyring'],
    preserveFds: Number(f['preserve-fds'] ?? 0),
  });

  switch (cmd.name) {
    case 'create': {
      const [id] = need(cmd, p, 1);
      await untilSignalled((signal) => runtime.create({ ...createOptions(id!), signal }));
      return 0;
    }
    case 'start': {
      const [id] = need(cmd, p, 1);
      await runtime.start(id!);
      return 0;
    }
    case 'run': {
      const [id] = need(cmd, p, 1);
      return await runtime.run(createOptions(id!), { detach: !!f.detach, keep: !!f.keep });
    }
    case 'state': {
      const [id] = need(cmd, p, 1);
      process.stdout.write(`${JSON.stringify(runtime.state(id!), null, '  ')}\n`);
      return 0;
    }
    case 'kill': {
      const [id, signal] = need(cmd, p, 2);
      await runtime.kill(id!, signal ?? 'SIGTERM', !!f.all);
      return 0;
    }
    case 'delete': {
      const [id] = need(cmd, p, 1);
      await runtime.delete(id!, !!f.force);
      return 0;
    }
    case 'list': {
      need(cmd, p, 0);
      const states = runtime.list();
      if (f.quiet) process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
      else if (f.format === 'json') process.stdout.write(`${JSON.stringify(states)}\n`);
      else if (f.format === 'table') process.stdout.write(formatTable(states));
      else throw invalid(`list: --format "${f.format}" is not 'table' or 'json'`);
      return 0;
    }
    case 'exec': {
      const [id, ...args] = p.positionals;
      if (!id) throw invalid(`exec: missing <container-id>\n${usage(PROGRAM, cmd)}`);
      const { processFromFile, processFromFlags } = await import('../../runtime/exec-process.ts');
      let proc: Process | ((base: Process | undefined) => Process);
      if (f.process) {
        if (args.length) throw invalid('exec: give either -p process.json or a command, not both');
        const file = resolve(String(f.process));
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          throw new BerthError('not-found', `process file ${file} can't be read`, { path: file });
        }
        proc = processFromFile(text, file);
      } else {
        proc = (base: Process | undefined) => processFromFlags(base, {
          args,
          tty: !!f.tty,
          cwd: f.cwd as string | undefined,
          env: f.env as string[],
          user: f.user as string | undefined,
          additionalGids: f['additional-gids'] as string[],
          caps: f.cap as string[],
          noNewPrivs: !!f['no-new-privs'],
          apparmor: f.apparmor as string | undefined,
          processLabel: f['process-label'] as string | undefined,
        });
      }
      return await runtime.exec(id, proc, {
        consoleSocket: f['console-socket'] as string | undefined,
        detach: !!f.detach,
        pidFile: f['pid-file'] ? resolve(String(f['pid-file'])) : undefined,
        preserveFds: Number(f['preserve-fds'] ?? 0),
      });
    }
    case 'pause':
    case 'resume': {
      const [id] = need(cmd, p, 1);
      await (cmd.name === 'pause' ? runtime.pause(id!) : runtime.resume(id!));
      return 0;
    }
    case 'ps': {
      const [id, ...psArgs] = p.positionals;
      if (!id) throw invalid(`ps: missing <container-id>`);
      const pids = await runtime.pids(id);
      if (f.format === 'json') {
        process.stdout.write(`${JSON.stringify(pids)}\n`);
        return 0;
      }
      const { psTable } = await import('./ps-table.ts');
      process.stdout.write(psTable(psArgs.length ? psArgs : ['-ef'], pids));
      return 0;
    }
    case 'update': {
      const [id] = need(cmd, p, 1);
      const { resourcesFromFlags } = await import('../../runtime/update-resources.ts');
      let resources;
      if (f.resources) {
        const file = String(f.resources);
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch {
          throw new BerthError('not-found', `resources file ${file} can't be read`, { path: file });
        }
        try {
          resources = JSON.parse(text);
        } catch (err) {
          throw invalid(`${file}: not valid JSON: ${(err as Error).message}`, { path: file });
        }
      } else {
        resources = resourcesFromFlags(f);
      }
      for (const w of await runtime.update(id!, resources)) process.stderr.write(`${PROGRAM}: warning: ${w}\n`);
      return 0;
    }
    case 'events': {
      const [id] = need(cmd, p, 1);
      const { streamEvents } = await import('./events.ts');
      return await streamEvents(runtime, id!, { once: !!f.stats, interval: String(f.interval) });
    }
    case 'plan': {
      need(cmd, p, 1);
      const id = p.positionals[0] ?? 'plan';
      const plan = runtime.plan({ ...createOptions(id), consoleSocket: f['console-socket'] as string | undefined });
      if (f.format === 'json') {
        process.stdout.write(`${JSON.stringify(plan, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2)}\n`);
      } else {
        const { formatPlan } = await import('../../sys/plan-format.ts');
        process.stdout.write(`${formatPlan(plan)}\n`);
      }
      return 0;
    }
  }
  throw invalid(`unknown command ${cmd.name}`);
}

const INTERRUPTS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** Runs an operation that a SIGTERM, SIGINT or SIGHUP aborts (instead of ending the process mid-way). */
async function untilSignalled<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  for (const sig of INTERRUPTS) process.on(sig, abort);
  try {
    return await operation(controller.signal);
  } finally {
    for (const sig of INTERRUPTS) process.off(sig, abort);
  }
}

/** The table of `list`; the native front prints the same (native/front-commands.c format_table). */
function formatTable(states: StateOutput[]): string {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map(listTableCells)];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
}
