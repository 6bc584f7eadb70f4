// berth-vm: runc's command line (the table in ../berth-runtime/commands.ts), each container in
// its own VM. Argument parsing and output only; the work is in src/runtime/vm/.

import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BerthError, exitCodeOf, invalid, unimplemented } from '../../oci/errors.ts';
import type { Process } from '../../oci/runtime-spec.ts';
import { parseArgs, usage, type CommandSpec, type Parsed } from '../argv.ts';
import { COMMANDS as RUNC_COMMANDS, GLOBAL_FLAGS as RUNC_GLOBAL_FLAGS } from '../berth-runtime/commands.ts';

export const VERSION = '0.1.0';
const PROGRAM = 'berth-vm';
/** `update` would resize a running VM: not done. */
const COMMANDS: CommandSpec[] = RUNC_COMMANDS.filter((c) => c.name !== 'update');
const GLOBAL_FLAGS = RUNC_GLOBAL_FLAGS.map((f) => (f.name === 'root' ? { ...f, default: '/run/berth-vm' } : f));

interface Globals {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
}

function splitGlobal(argv: readonly string[]): { globals: Parsed; rest: string[] } {
  const takesValue = (a: string): boolean => {
    if (!a.startsWith('-') || a.includes('=')) return false;
    const name = a.replace(/^--?/, '');
    return GLOBAL_FLAGS.some((f) => (f.name === name || f.alias === name) && f.kind !== 'bool');
  };
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) i += takesValue(argv[i]!) ? 2 : 1;
  return { globals: parseArgs(argv.slice(0, i), GLOBAL_FLAGS), rest: argv.slice(i) };
}

function logLine(g: Globals, level: 'error' | 'warning', msg: string): void {
  if (!g.log) return;
  const time = new Date().toISOString();
  const line = g.logFormat === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(g.log, `${line}\n`);
  } catch {
    // best effort: the error still reaches stderr
  }
}

function need(cmd: CommandSpec, p: Parsed, n: number): string[] {
  const required = cmd.args.filter((a) => a.startsWith('<')).length;
  if (p.positionals.length < required) throw invalid(`${cmd.name}: missing ${cmd.args.slice(p.positionals.length, required).join(' ')}\n${usage(PROGRAM, cmd)}`);
  if (p.positionals.length > n) throw invalid(`${cmd.name}: unexpected argument "${p.positionals[n]}"`);
  return p.positionals;
}

function generalHelp(): string {
  const lines = [`usage: ${PROGRAM} [global flags] <command> [flags] [args]`, '', 'Each container runs in its own VM (QEMU).', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push('', 'global flags:');
  for (const f of GLOBAL_FLAGS) lines.push(`  --${(f.name + (f.kind === 'bool' ? '' : ' value')).padEnd(22)} ${f.help}`);
  return lines.join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  let g: Globals = { root: '/run/berth-vm', logFormat: 'text', debug: false };
  try {
    const { globals, rest } = splitGlobal(argv);
    g = {
      root: resolve(String(globals.flags.root)),
      log: globals.flags.log as string | undefined,
      logFormat: globals.flags['log-format'] === 'json' ? 'json' : 'text',
      debug: !!globals.flags.debug,
    };
    if (globals.flags.version) {
      process.stdout.write(`${PROGRAM} version ${VERSION}\nspec: 1.2.0\n`);
      return 0;
    }
    const name = rest[0];
    if (!name || globals.flags.help || name === 'help') {
      const target = COMMANDS.find((c) => c.name === rest[1]);
      process.stdout.write(`${target ? usage(PROGRAM, target) : generalHelp()}\n`);
      return 0;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) {
      if (name === 'update') throw unimplemented('update: berth-vm can not resize a running VM');
      throw invalid(`unknown command "${name}"\n${generalHelp()}`);
    }
    if (globals.flags['systemd-cgroup']) throw unimplemented('--systemd-cgroup: the systemd cgroup driver is not supported by berth-vm; use cgroupfs paths');
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

async function dispatch(cmd: CommandSpec, p: Parsed, g: Globals): Promise<number> {
  const f = p.flags;
  if (cmd.name === 'spec') {
    // The same default config as berth-runtime's.
    const { main: runtimeMain } = await import('../berth-runtime/main.ts');
    return runtimeMain(['spec', ...(f.bundle ? ['--bundle', String(f.bundle)] : []), ...(f.rootless ? ['--rootless'] : [])]);
  }
  if (cmd.name === 'features') {
    need(cmd, p, 0);
    const { features } = await import('../../runtime/features.ts');
    const out = features({ version: VERSION });
    out.annotations = { ...(out.annotations as object), 'org.berth.vm': 'qemu', 'org.berth.vm.share': 'virtiofs' };
    process.stdout.write(`${JSON.stringify(out, null, '    ')}\n`);
    return 0;
  }
  const { VmRuntime } = await import('../../runtime/vm/vm-runtime.ts');
  const runtime = new VmRuntime({
    root: g.root,
    warn: (m) => {
      logLine(g, 'warning', m);
      process.stderr.write(`${PROGRAM}: warning: ${m}\n`);
    },
  });
  const createOptions = (id: string) => ({
    id,
    bundle: String(f.bundle),
    pidFile: f['pid-file'] ? resolve(String(f['pid-file'])) : undefined,
    consoleSocket: f['console-socket'] as string | undefined,
    noPivot: !!f['no-pivot'],
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
      // The guest's processes: host pids would only show QEMU.
      const [id] = p.positionals;
      if (!id) throw invalid('ps: missing <container-id>');
      const procs = await runtime.processes(id);
      if (f.format === 'json') process.stdout.write(`${JSON.stringify(procs.map((x) => x.pid))}\n`);
      else process.stdout.write(['PID CMD', ...procs.map((x) => `${String(x.pid).padStart(3)} ${x.command}`)].join('\n') + '\n');
      return 0;
    }
    case 'events': {
      const [id] = need(cmd, p, 1);
      const { streamEvents } = await import('../berth-runtime/events.ts');
      return await streamEvents(runtime, id!, { once: !!f.stats, interval: String(f.interval) });
    }
    case 'plan': {
      need(cmd, p, 1);
      const plan = runtime.plan(createOptions(p.positionals[0] ?? 'plan'));
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

function formatTable(states: Array<{ id: string; pid?: number; status: string; bundle: string; created: string; owner: string }>): string {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created, s.owner || 'root'])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
}
