// `berth top` rows (pure): processes as procps `ps` prints them, from /proc/<pid>/stat, status and
// cmdline text. Options are the subset of ps(1) docker users pass to `docker top`: -e, -f (the
// default -ef), -o/-eo with a field list, and the BSD aux / ax / u.
import { invalid } from '../../oci/errors.ts';

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  pgrp: number;
  session: number;
  ttyNr: number;
  /** Foreground process group of its terminal. */
  tpgid: number;
  nice: number;
  threads: number;
  /** Clock ticks. */
  utime: number;
  stime: number;
  /** Clock ticks after boot. */
  starttime: number;
  vsizeBytes: number;
  /** Resident set, KiB (status VmRSS; 0 for a kernel thread). */
  rssKb: number;
  uid: number;
  /** argv; empty for a kernel thread or a zombie. */
  args: string[];
}

/** /proc/<pid>/stat: the comm is in parentheses and may hold spaces and ')' itself. */
export function parseProcStat(text: string): Omit<ProcInfo, 'uid' | 'args' | 'rssKb'> {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw invalid(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const f = text.slice(close + 2).trim().split(/\s+/);
  const n = (i: number): number => Number(f[i]);
  // Fields from 3 (state) on: f[0] is field 3.
  return {
    pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: f[0] ?? '?', ppid: n(1), pgrp: n(2), session: n(3),
    ttyNr: n(4), tpgid: n(5), utime: n(11), stime: n(12), nice: n(16), threads: n(17), starttime: n(19), vsizeBytes: n(20),
  };
}

/** From /proc/<pid>/status: the effective uid ("Uid: real effective saved fs") and VmRSS. */
export function parseProcStatus(statusText: string): { uid: number; rssKb: number } {
  const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(statusText);
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(statusText);
  return { uid: uid ? Number(uid[1]) : -1, rssKb: rss ? Number(rss[1]) : 0 };
}

/** /proc/<pid>/cmdline: NUL-separated argv. */
export const parseCmdline = (text: string): string[] => text.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);

/** tty_nr -> name as ps shows it (pts/3, tty1, ttyS0), "?" for none. */
export function ttyName(ttyNr: number): string {
  if (!ttyNr) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  return `${major}:${minor}`;
}

export interface PsContext {
  /** Now and boot, in seconds since the epoch. */
  nowSec: number;
  bootTimeSec: number;
  clockTicks: number;
  memTotalBytes: number;
  userName: (uid: number) => string | undefined;
  /** Local time of a moment (tests fix the zone). */
  localTime?: (epochSec: number) => Date;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** [DD-]HH:MM:SS */
export function cpuTime(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const hms = `${pad2(Math.floor((s % 86400) / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return days ? `${days}-${hms}` : hms;
}

/** ps's elapsed time: [[DD-]HH:]MM:SS */
function elapsed(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const ms = `${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  if (days) return `${days}-${pad2(hours)}:${ms}`;
  return hours ? `${pad2(hours)}:${ms}` : ms;
}

/** STIME: HH:MM within a day, MonDD within a year, else the year (procps). */
function startTime(startSec: number, ctx: PsContext): string {
  const local = ctx.localTime ?? ((t: number) => new Date(t * 1000));
  const d = local(startSec);
  const age = ctx.nowSec - startSec;
  if (age < 24 * 3600) return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  if (local(ctx.nowSec).getFullYear() === d.getFullYear()) return `${MONTHS[d.getMonth()]}${pad2(d.getDate())}`;
  return String(d.getFullYear());
}

/** procps STAT: the state, then < or N (nice), s (session leader), l (threads), + (terminal foreground). */
function statField(p: ProcInfo): string {
  let out = p.state;
  if (p.nice < 0) out += '<';
  else if (p.nice > 0) out += 'N';
  if (p.session === p.pid) out += 's';
  if (p.threads > 1) out += 'l';
  if (p.ttyNr && p.pgrp === p.tpgid) out += '+';
  return out;
}

/** BSD TIME: minutes:seconds of CPU. */
const bsdTime = (seconds: number): string => `${Math.floor(seconds / 60)}:${pad2(Math.floor(seconds) % 60)}`;

/** A user name as the 8-column UID/USER field shows it: longer ones cut with a '+'. */
function userField(uid: number, ctx: PsContext): string {
  const name = ctx.userName(uid) ?? String(uid);
  return name.length > 8 ? `${name.slice(0, 7)}+` : name;
}

type Field = { header: string; value: (p: ProcInfo, ctx: PsContext) => string };

const cpuSeconds = (p: ProcInfo, ctx: PsContext): number => (p.utime + p.stime) / ctx.clockTicks;
const runSeconds = (p: ProcInfo, ctx: PsContext): number => ctx.nowSec - (ctx.bootTimeSec + p.starttime / ctx.clockTicks);
const command = (p: ProcInfo): string => (p.args.length ? p.args.join(' ') : `[${p.comm}]`);

const FIELDS: Record<string, Field> = {
  pid: { header: 'PID', value: (p) => String(p.pid) },
  ppid: { header: 'PPID', value: (p) => String(p.ppid) },
  uid: { header: 'UID', value: (p) => String(p.uid) },
  user: { header: 'USER', value: (p, ctx) => userField(p.uid, ctx) },
  c: {
    header: 'C',
    value: (p, ctx) => {
      const run = runSeconds(p, ctx);
      return String(run > 0 ? Math.min(99, Math.floor((cpuSeconds(p, ctx) * 100) / run)) : 0);
    },
  },
  pcpu: {
    header: '%CPU',
    value: (p, ctx) => {
      const run = runSeconds(p, ctx);
      return (run > 0 ? (cpuSeconds(p, ctx) * 100) / run : 0).toFixed(1);
    },
  },
  pmem: { header: '%MEM', value: (p, ctx) => ((p.rssKb * 1024 * 100) / ctx.memTotalBytes).toFixed(1) },
  stime: { header: 'STIME', value: (p, ctx) => startTime(ctx.bootTimeSec + Math.floor(p.starttime / ctx.clockTicks), ctx) },
  tty: { header: 'TT', value: (p) => ttyName(p.ttyNr) },
  time: { header: 'TIME', value: (p, ctx) => cpuTime(cpuSeconds(p, ctx)) },
  etime: { header: 'ELAPSED', value: (p, ctx) => elapsed(runSeconds(p, ctx)) },
  stat: { header: 'STAT', value: statField },
  bsdtime: { header: 'TIME', value: (p, ctx) => bsdTime(cpuSeconds(p, ctx)) },
  vsz: { header: 'VSZ', value: (p) => String(Math.floor(p.vsizeBytes / 1024)) },
  rss: { header: 'RSS', value: (p) => String(p.rssKb) },
  comm: { header: 'COMMAND', value: (p) => p.comm },
  args: { header: 'COMMAND', value: command },
  cmd: { header: 'CMD', value: command },
};
const ALIASES: Record<string, string> = { '%cpu': 'pcpu', '%mem': 'pmem', command: 'args', tname: 'tty', tt: 'tty', uname: 'user', euser: 'user', euid: 'uid', rsz: 'rss', vsize: 'vsz', s: 'stat', ucmd: 'comm' };

export interface Column {
  key: string;
  header: string;
}

/** -f's columns (ps -ef, docker top's default). */
const FULL = [['UID', 'user'], ['PID', 'pid'], ['PPID', 'ppid'], ['C', 'c'], ['STIME', 'stime'], ['TTY', 'tty'], ['TIME', 'time'], ['CMD', 'cmd']];
const BRIEF = [['PID', 'pid'], ['TTY', 'tty'], ['TIME', 'time'], ['CMD', 'comm']];
/** BSD u (ps aux) and the BSD default (ps ax). */
const BSD_USER = [['USER', 'user'], ['PID', 'pid'], ['%CPU', 'pcpu'], ['%MEM', 'pmem'], ['VSZ', 'vsz'], ['RSS', 'rss'], ['TTY', 'tty'], ['STAT', 'stat'], ['START', 'stime'], ['TIME', 'bsdtime'], ['COMMAND', 'args']];
const BSD = [['PID', 'pid'], ['TTY', 'tty'], ['STAT', 'stat'], ['TIME', 'bsdtime'], ['COMMAND', 'args']];
const columnsOf = (list: string[][]): Column[] => list.map(([header, key]) => ({ header: header!, key: key! }));

/** The columns `ps` prints for these options (the supported subset); an unsupported one is refused by name. */
export function psColumns(options: readonly string[]): Column[] {
  const args = options.length ? options : ['-ef'];
  // BSD style: one word of a, u, x (the process selection is the container's in any case).
  if (args.length === 1 && /^[aux]+$/.test(args[0]!)) return columnsOf(args[0]!.includes('u') ? BSD_USER : BSD);
  let full = false;
  let fields: Column[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^-([efAa]*)(o)?(.*)$/.exec(arg);
    if (!m || (m[3] && !m[2])) throw invalid(`ps option ${JSON.stringify(arg)} is not supported (use -e, -f, -ef, -o FIELDS, -eo FIELDS, aux)`, { field: arg });
    if (m[1]!.includes('f')) full = true;
    if (!m[2]) continue;
    const list = m[3] || args[++i];
    if (!list) throw invalid('ps option -o needs a field list (pid,user,args...)', { field: arg });
    fields ??= [];
    for (const spec of list.split(',')) {
      const [rawName, header] = spec.split('=') as [string, string | undefined];
      const key = ALIASES[rawName.toLowerCase()] ?? rawName.toLowerCase();
      const field = FIELDS[key];
      if (!field) throw invalid(`ps field ${JSON.stringify(rawName)} is not supported (${Object.keys(FIELDS).join(', ')})`, { field: rawName });
      fields.push({ key, header: header ?? field.header });
    }
  }
  if (fields) return fields;
  return columnsOf(full ? FULL : BRIEF);
}

export function psCells(proc: ProcInfo, columns: readonly Column[], ctx: PsContext): string[] {
  return columns.map((c) => FIELDS[c.key]!.value(proc, ctx));
}

/** docker top's table: columns at least 20 wide, 3 spaces after the widest cell. */
export function topTable(columns: readonly Column[], rows: readonly string[][]): string {
  const table = [columns.map((c) => c.header), ...rows];
  const widths = columns.map((_, i) => Math.max(20, ...table.map((r) => r[i]!.length + 3)));
  return table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('')).join('\n') + '\n';
}

/** /etc/passwd -> uid -> name (the first entry of a uid). */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid && /^\d+$/.test(uid) && !out.has(Number(uid))) out.set(Number(uid), name);
  }
  return out;
}
