// `berth top CONTAINER [ps options]`: the processes of a running container (every pid in its
// cgroup, and sub-cgroups) as `docker top` shows them, read from /proc rather than by running ps.
import { readFileSync } from 'node:fs';
import { quote } from '../../oci/quote.ts';
import { BerthError, precondition } from '../../oci/errors.ts';
import { cgroupProcesses, detectCgroupHost, processCgroupDirs } from '../../runtime/cgroups/index.ts';
import type { Parsed } from './args.ts';
import { withService } from './container-records.ts';
import type { CliContext } from './image-commands.ts';
import {
  parseCmdline, parseProcStatus, parsePasswd, parseProcStat, psCells, psColumns, topTable, type ProcInfo, type PsContext,
} from './top-format.ts';

const CLOCK_TICKS = 100; // USER_HZ on every Linux architecture

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const status = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const args = parseCmdline(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    return { ...stat, ...status, args };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined; // exited meanwhile
    throw err;
  }
}

function psContext(): PsContext {
  const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
  const memTotal = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  let users = new Map<number, string>();
  try {
    users = parsePasswd(readFileSync('/etc/passwd', 'utf8'));
  } catch {
    // no passwd: numeric ids, as ps shows them
  }
  return {
    nowSec: Date.now() / 1000,
    bootTimeSec: Number(btime?.[1] ?? 0),
    clockTicks: CLOCK_TICKS,
    memTotalBytes: Number(memTotal?.[1] ?? 1) * 1024,
    userName: (uid) => users.get(uid),
  };
}

export async function topCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const [key, ...options] = p.args;
  const columns = psColumns(options); // a bad option fails before anything is read
  return withService(ctx, {}, async (service) => {
    const info = service.inspect(key!);
    const pid = info.init?.pid;
    if (info.status !== 'running' || !pid) throw precondition(`container ${quote(key!)} is not running`, { field: 'container' });
    let pids: number[];
    try {
      pids = await cgroupProcesses(processCgroupDirs(await detectCgroupHost(), pid));
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'not-found') throw precondition(`container ${quote(key!)} is not running`, { field: 'container' });
      throw err;
    }
    const psCtx = psContext();
    const procs = [...new Set(pids)].sort((a, b) => a - b).map(readProc).filter((x): x is ProcInfo => x !== undefined);
    ctx.stdout.write(topTable(columns, procs.map((proc) => psCells(proc, columns, psCtx))));
    return 0;
  });
}
