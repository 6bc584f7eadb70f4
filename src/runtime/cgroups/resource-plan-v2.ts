// cgroup v2 writes, in runc's order (fs2/fs2.go Set): pids, memory, io, cpu, devices, cpuset,
// hugetlb, rdma, then `unified` last so that its raw key-values win.
import { invalid, precondition, unimplemented } from '../../oci/errors.ts';
import type { Resources } from '../../oci/runtime-spec.ts';
import { compileDeviceProgram } from './device-bpf.ts';
import { rdmaLines } from './rdma-lines.ts';
import type { CgroupPlan, CgroupWrite, PlanContext } from './resource-plan.ts';
import { cpuList, decimal, deviceNumbers, inRange, integer, limit, nonNegative, pageSize } from './resource-values.ts';
import { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2 } from './v2-conversions.ts';

const R = 'linux.resources';

/** runc's numToStr: 0 is unset, -1 is "max". */
function maxOrNumber(n: number): string {
  return n === -1 ? 'max' : decimal(n);
}

export function planV2(r: Resources, ctx: PlanContext): CgroupPlan {
  const writes: CgroupWrite[] = [];
  const warnings: string[] = [];
  const w = (controller: string, file: string, value: string, field: string, extra: Partial<CgroupWrite> = {}): void => {
    writes.push({ controller, file, value, field, ...extra });
  };

  // pids
  if (r.pids) {
    const pids = integer(r.pids.limit, `${R}.pids.limit`);
    if (pids !== 0) w('pids', 'pids.max', pids > 0 ? decimal(pids) : 'max', `${R}.pids.limit`);
  }

  // memory
  const m = r.memory;
  if (m) {
    const memLimit = m.limit === undefined ? 0 : limit(m.limit, `${R}.memory.limit`);
    const swap = m.swap === undefined ? 0 : limit(m.swap, `${R}.memory.swap`);
    const reservation = m.reservation === undefined ? 0 : limit(m.reservation, `${R}.memory.reservation`);
    if (m.checkBeforeUpdate && memLimit > 0 && ctx.currentMemoryUsage !== undefined && BigInt(memLimit) <= ctx.currentMemoryUsage) {
      throw precondition(
        `${R}.memory.limit (${memLimit}) is not above the current memory usage (${ctx.currentMemoryUsage}) and memory.checkBeforeUpdate is set`,
        { field: `${R}.memory.limit` },
      );
    }
    const swapV2 = memorySwapToV2(swap, memLimit);
    // Never write an empty value: that would mean 0. swap == limit means "no swap": write 0.
    const swapValue = swapV2 === 0 ? (swap > 0 ? '0' : '') : maxOrNumber(swapV2);
    if (swapValue !== '') {
      // Without swap accounting the file is missing; runc then ignores "max" and "0" (both no-ops).
      w('memory', 'memory.swap.max', swapValue, `${R}.memory.swap`, swapValue === 'max' || swapValue === '0' ? { optional: true } : {});
    }
    if (memLimit !== 0) w('memory', 'memory.max', maxOrNumber(memLimit), `${R}.memory.limit`);
    if (reservation !== 0) w('memory', 'memory.low', maxOrNumber(reservation), `${R}.memory.reservation`);
    if (m.kernel !== undefined) warnings.push(`${R}.memory.kernel is ignored: cgroup v2 has no kernel memory limit`);
    if (m.kernelTCP !== undefined) warnings.push(`${R}.memory.kernelTCP is ignored: cgroup v2 has no kernel TCP memory limit`);
    if (m.swappiness !== undefined && m.swappiness !== -1) {
      inRange(m.swappiness, `${R}.memory.swappiness`, 0, 100);
      warnings.push(`${R}.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness`);
    }
    if (m.disableOOMKiller === true) warnings.push(`${R}.memory.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer`);
  }

  // io
  const b = r.blockIO;
  if (b) {
    if (b.weight !== undefined && b.weight !== 0) {
      const weight = inRange(b.weight, `${R}.blockIO.weight`, 10, 1000);
      if (ctx.ioBfqWeight) w('io', 'io.bfq.weight', String(weight), `${R}.blockIO.weight`);
      else w('io', 'io.weight', String(blkioWeightToIoWeight(weight)), `${R}.blockIO.weight`);
    }
    if (b.leafWeight !== undefined && b.leafWeight !== 0) warnings.push(`${R}.blockIO.leafWeight is ignored: cgroup v2 has no leaf weight`);
    (b.weightDevice ?? []).forEach((d, i) => {
      const f = `${R}.blockIO.weightDevice[${i}]`;
      const dev = deviceNumbers(d, f);
      if (d.weight !== undefined && d.weight !== 0) {
        const weight = inRange(d.weight, `${f}.weight`, 10, 1000);
        if (ctx.ioBfqWeight) w('io', 'io.bfq.weight', `${dev} ${weight}`, `${f}.weight`);
        else warnings.push(`${f}.weight is ignored: per-device weights need the BFQ I/O scheduler (io.bfq.weight)`);
      }
      if (d.leafWeight !== undefined && d.leafWeight !== 0) warnings.push(`${f}.leafWeight is ignored: cgroup v2 has no leaf weight`);
    });
    const throttles = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ] as const;
    for (const [key, name] of throttles) {
      (b[key] ?? []).forEach((d, i) => {
        const f = `${R}.blockIO.${key}[${i}]`;
        w('io', 'io.max', `${deviceNumbers(d, f)} ${name}=${decimal(nonNegative(d.rate, `${f}.rate`))}`, f);
      });
    }
  }

  // cpu
  const c = r.cpu;
  if (c) {
    if (c.shares !== undefined) {
      const weight = cpuSharesToWeight(nonNegative(c.shares, `${R}.cpu.shares`));
      if (weight !== 0) w('cpu', 'cpu.weight', String(weight), `${R}.cpu.shares`);
    }
    const quota = c.quota === undefined ? 0 : limit(c.quota, `${R}.cpu.quota`);
    const period = c.period === undefined ? 0 : nonNegative(c.period, `${R}.cpu.period`);
    if (quota !== 0 || period !== 0) {
      // cpu.max is "$MAX $PERIOD"; a lone "$MAX" keeps the current period.
      const max = quota > 0 ? decimal(quota) : 'max';
      w('cpu', 'cpu.max', period !== 0 ? `${max} ${decimal(period)}` : max, quota !== 0 ? `${R}.cpu.quota` : `${R}.cpu.period`);
    }
    if (c.burst !== undefined) w('cpu', 'cpu.max.burst', decimal(nonNegative(c.burst, `${R}.cpu.burst`)), `${R}.cpu.burst`);
    if (c.idle !== undefined) w('cpu', 'cpu.idle', String(inRange(c.idle, `${R}.cpu.idle`, 0, 1)), `${R}.cpu.idle`);
    if ((c.realtimeRuntime ?? 0) !== 0 || (c.realtimePeriod ?? 0) !== 0) {
      warnings.push(`${R}.cpu.realtimeRuntime/realtimePeriod are ignored: cgroup v2 has no realtime CPU budget`);
    }
  }

  // devices: v2 has no devices files; an eBPF program attached to the cgroup decides.
  const deviceProgram = r.devices && r.devices.length > 0 ? compileDeviceProgram(r.devices) : undefined;

  // cpuset
  if (c?.cpus) w('cpuset', 'cpuset.cpus', cpuList(c.cpus, `${R}.cpu.cpus`), `${R}.cpu.cpus`);
  if (c?.mems) w('cpuset', 'cpuset.mems', cpuList(c.mems, `${R}.cpu.mems`), `${R}.cpu.mems`);

  // hugetlb
  (r.hugepageLimits ?? []).forEach((h, i) => {
    const f = `${R}.hugepageLimits[${i}]`;
    const size = pageSize(h.pageSize, `${f}.pageSize`);
    w('hugetlb', `hugetlb.${size}.max`, decimal(nonNegative(h.limit, `${f}.limit`)), f);
  });

  // rdma
  for (const line of rdmaLines(r)) w('rdma', 'rdma.max', line.value, line.field);

  // network: net_cls and net_prio exist only in cgroup v1.
  if (r.network && (r.network.classID !== undefined || (r.network.priorities ?? []).length > 0)) {
    throw unimplemented(`${R}.network needs the net_cls/net_prio controllers, which cgroup v2 does not have`, { field: `${R}.network` });
  }

  // unified: raw "controller.knob" -> value, written last.
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    const f = `${R}.unified.${key}`;
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(key)) {
      throw invalid(`${R}.unified key ${JSON.stringify(key)} must be a cgroup file name of the form CONTROLLER.PARAMETER`, { field: f });
    }
    if (typeof value !== 'string') throw invalid(`${f} must be a string`, { field: f });
    w(key.slice(0, key.indexOf('.')), key, value, f);
  }

  return deviceProgram ? { writes, warnings, deviceProgram } : { writes, warnings };
}
