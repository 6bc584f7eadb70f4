// `berth stats` rows as `docker stats` shows them (pure): CPU % of one core between two samples,
// memory as docker counts it (the working set: usage minus inactive file pages) against the limit
// or, without one, the host's memory, network and block I/O totals, the process count.
import type { CgroupSample } from '../../runtime/cgroups/index.ts';

export interface StatsRow {
  id: string;
  name: string;
  /** Undefined: not running, or no sample yet. */
  cpuPercent?: number;
  memUsage?: bigint;
  memLimit?: bigint;
  netRx?: bigint;
  netTx?: bigint;
  blockRead?: bigint;
  blockWrite?: bigint;
  pids?: bigint;
}

export interface RowInput {
  id: string;
  name: string;
  previous?: CgroupSample;
  current?: CgroupSample;
  /** Bytes received and sent on the container's interfaces (not lo); undefined: not known. */
  net?: { rx: bigint; tx: bigint };
  /** The host's memory, the limit shown for a container without one. */
  hostMemory: bigint;
}

/** CPU time over wall time, in percent of one CPU (200% = two cores busy), as docker's formula comes to. */
export function cpuPercent(previous: CgroupSample | undefined, current: CgroupSample): number | undefined {
  const before = previous?.cpu.usageNs;
  const now = current.cpu.usageNs;
  if (before === undefined || now === undefined || !previous) return undefined;
  const wall = current.timestampNs - previous.timestampNs;
  if (wall <= 0n || now < before) return undefined;
  return (Number(now - before) / Number(wall)) * 100;
}

export function statsRow(input: RowInput): StatsRow {
  const row: StatsRow = { id: input.id, name: input.name };
  const s = input.current;
  if (!s) return row;
  row.cpuPercent = cpuPercent(input.previous, s) ?? 0;
  const mem = s.memory.workingSetBytes ?? s.memory.usageBytes;
  if (mem !== undefined) {
    row.memUsage = mem;
    row.memLimit = s.memory.limitBytes !== undefined && s.memory.limitBytes < input.hostMemory ? s.memory.limitBytes : input.hostMemory;
  }
  if (input.net) {
    row.netRx = input.net.rx;
    row.netTx = input.net.tx;
  }
  row.blockRead = s.io.readBytes ?? 0n;
  row.blockWrite = s.io.writeBytes ?? 0n;
  row.pids = s.pids.current;
  return row;
}

/** Go's %.<p>g: significant digits, no trailing zeros. */
function significant(value: number, precision: number): string {
  if (value === 0) return '0';
  const text = value.toPrecision(precision);
  if (text.includes('e')) return String(Math.round(value));
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

function scaled(bytes: bigint, base: number, units: readonly string[], precision: number): string {
  let value = Number(bytes);
  let i = 0;
  while (value >= base && i < units.length - 1) {
    value /= base;
    i++;
  }
  return `${significant(value, precision)}${units[i]}`;
}

/** Decimal sizes as docker's NET I/O and BLOCK I/O columns print them ("1.23kB", "4.1MB"). */
export const decimalSize = (bytes: bigint): string => scaled(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'], 3);
/** Binary sizes as docker's MEM USAGE / LIMIT prints them ("1.5MiB", "7.6GiB"). */
export const binarySize = (bytes: bigint): string => scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'], 4);

const NA = '--';

/** The cells docker prints (its `--format json` keys). */
export interface StatsCells {
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export function statsCells(row: StatsRow): StatsCells {
  const pair = (a: bigint | undefined, b: bigint | undefined, f: (v: bigint) => string): string =>
    a === undefined || b === undefined ? `${NA} / ${NA}` : `${f(a)} / ${f(b)}`;
  const percent = (v: number | undefined): string => (v === undefined ? NA : `${v.toFixed(2)}%`);
  const running = row.cpuPercent !== undefined;
  return {
    ID: row.id.slice(0, 12),
    Name: row.name,
    CPUPerc: percent(row.cpuPercent),
    MemUsage: pair(row.memUsage, row.memLimit, binarySize),
    MemPerc: percent(row.memUsage !== undefined && row.memLimit ? (Number(row.memUsage) / Number(row.memLimit)) * 100 : undefined),
    NetIO: running && row.netRx === undefined ? '0B / 0B' : pair(row.netRx, row.netTx, decimalSize),
    BlockIO: pair(row.blockRead, row.blockWrite, decimalSize),
    PIDs: row.pids === undefined ? (running ? '0' : NA) : String(row.pids),
  };
}

export const STATS_HEADER = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];

const cellList = (c: StatsCells): string[] => [c.ID, c.Name, c.CPUPerc, c.MemUsage, c.MemPerc, c.NetIO, c.BlockIO, c.PIDs];

/** Column widths (docker's tabwriter: the widest cell, 3 spaces apart) for these rows. */
export function statsWidths(cells: readonly StatsCells[]): number[] {
  return STATS_HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => cellList(c)[i]!.length)) + 3);
}

export function statsLine(cells: string[] | StatsCells, widths: readonly number[]): string {
  const list = Array.isArray(cells) ? cells : cellList(cells);
  return list.map((c, i) => (i === list.length - 1 ? c : c.padEnd(widths[i]!))).join('');
}
