// `berth stats [--no-stream] [--format table|json] [CONTAINER...]`: live resource use of running
// containers, as `docker stats`. Each second: a redrawn table on a terminal, else one line per
// container. Samples come from the cgroups the container's init is in (any runtime's), network
// counters from its /proc/<pid>/net/dev.
import { readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerInfo } from '../../containers/index.ts';
import { BerthError, invalid } from '../../oci/errors.ts';
import { detectCgroupHost, processCgroupDirs, readCgroupSample, type CgroupHost, type CgroupSample } from '../../runtime/cgroups/index.ts';
import { parseNetDev } from '../../cri/stats/net-dev.ts';
import { str, type Parsed } from './args.ts';
import { withService } from './container-records.ts';
import type { CliContext } from './image-commands.ts';
import { STATS_HEADER, statsCells, statsLine, statsRow, statsWidths, type StatsCells } from './stats-format.ts';

const INTERVAL_MS = 1000;

interface Reading {
  sample?: CgroupSample;
  net?: { rx: bigint; tx: bigint };
}

const gone = (err: unknown): boolean => err instanceof BerthError && err.kind === 'not-found';

/** Received and sent bytes of the container's own network namespace; undefined when it shares ours. */
function netTotals(pid: number): { rx: bigint; tx: bigint } | undefined {
  if (statSync(`/proc/${pid}/ns/net`).ino === statSync('/proc/self/ns/net').ino) return undefined;
  const ifaces = parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'), `/proc/${pid}/net/dev`).filter((i) => i.name !== 'lo');
  return { rx: ifaces.reduce((s, i) => s + i.rxBytes, 0n), tx: ifaces.reduce((s, i) => s + i.txBytes, 0n) };
}

async function read(host: CgroupHost, info: ContainerInfo): Promise<Reading> {
  const pid = info.init?.pid;
  if (info.status !== 'running' || !pid) return {};
  try {
    const sample = await readCgroupSample(processCgroupDirs(host, pid));
    return { sample, net: netTotals(pid) };
  } catch (err) {
    // Ended between the listing and the read: shown as not running.
    if (gone(err) || (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

export async function statsCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const format = str(p.flags.format) ?? 'table';
  if (format !== 'table' && format !== 'json') throw invalid(`--format ${JSON.stringify(format)}: use table or json`, { field: '--format' });
  const stream = !p.flags['no-stream'];
  const tty = !!ctx.stdout.isTTY;
  const host = await detectCgroupHost();
  const hostMemory = BigInt(totalmem());

  return withService(ctx, {}, async (service) => {
    const named = p.args.map((key) => service.resolve(key));
    let closed = false;
    ctx.stdout.on('error', () => (closed = true)); // a reader that went away (| head) ends the stream
    const containers = (): ContainerInfo[] => {
      if (named.length) {
        return named.flatMap((id) => {
          try {
            return [service.inspect(id)];
          } catch (err) {
            if (gone(err)) return []; // removed meanwhile
            throw err;
          }
        });
      }
      return service.list().filter((c) => c.status === 'running');
    };
    const previous = new Map<string, CgroupSample>();
    const take = async (): Promise<StatsCells[]> => {
      const cells: StatsCells[] = [];
      const seen = new Set<string>();
      for (const info of containers()) {
        const r = await read(host, info);
        cells.push(statsCells(statsRow({ id: info.id, name: info.name, previous: previous.get(info.id), current: r.sample, net: r.net, hostMemory })));
        if (r.sample) previous.set(info.id, r.sample);
        else previous.delete(info.id);
        seen.add(info.id);
      }
      for (const id of previous.keys()) if (!seen.has(id)) previous.delete(id);
      return cells;
    };

    let widths: number[] | undefined;
    const print = (cells: StatsCells[]): void => {
      if (format === 'json') {
        ctx.stdout.write(cells.map((c) => `${JSON.stringify(c)}\n`).join(''));
        return;
      }
      if (tty || !stream) {
        const w = statsWidths(cells);
        const lines = [statsLine(STATS_HEADER, w), ...cells.map((c) => statsLine(c, w))];
        ctx.stdout.write(`${tty && stream ? '\x1b[2J\x1b[H' : ''}${lines.join('\n')}\n`);
        return;
      }
      // A line per container and sample, under one header, in columns fixed by the first frame.
      if (!widths) {
        widths = statsWidths(cells).map((w) => w + 2);
        ctx.stdout.write(`${statsLine(STATS_HEADER, widths)}\n`);
      }
      ctx.stdout.write(cells.map((c) => `${statsLine(c, widths!)}\n`).join(''));
    };

    await take(); // the first sample only starts the CPU measurement
    do {
      await delay(INTERVAL_MS);
      if (stream) service.refresh();
      print(await take());
    } while (stream && !closed);
    return 0;
  });
}
