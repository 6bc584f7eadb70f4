// cgroup v1 writes, in runc's subsystem order (fs/fs.go): cpuset, devices, memory, cpu, pids,
// blkio, hugetlb, net_cls, net_prio, rdma.
import { invalid } from '../../oci/errors.ts';
import type { Resources } from '../../oci/runtime-spec.ts';
import { deviceRuleLine } from './device-rules.ts';
import { rdmaLines } from './rdma-lines.ts';
import type { CgroupPlan, CgroupWrite, PlanContext } from './resource-plan.ts';
import { cpuList, decimal, deviceNumbers, inRange, integer, limit, nonNegative, pageSize } from './resource-values.ts';

const R = 'linux.resources';

export function planV1(r: Resources, ctx: PlanContext): CgroupPlan {
  const writes: CgroupWrite[] = [];
  const warnings: string[] = [];
  const w = (controller: string, file: string, value: string, field: string, extra: Partial<CgroupWrite> = {}): void => {
    writes.push({ controller, file, value, field, ...extra });
  };

  if (r.unified && Object.keys(r.unified).length > 0) {
    throw invalid(`${R}.unified needs cgroup v2, and this host runs cgroup v1`, { field: `${R}.unified` });
  }

  // cpuset
  if (r.cpu?.cpus) w('cpuset', 'cpuset.cpus', cpuList(r.cpu.cpus, `${R}.cpu.cpus`), `${R}.cpu.cpus`);
  if (r.cpu?.mems) w('cpuset', 'cpuset.mems', cpuList(r.cpu.mems, `${R}.cpu.mems`), `${R}.cpu.mems`);

  // devices: start from deny-all, then the rules in order (the kernel applies each line as written).
  if (r.devices && r.devices.length > 0) {
    const lines = r.devices.map((rule, i) => ({ rule, line: deviceRuleLine(rule, i) }));
    w('devices', 'devices.deny', 'a', `${R}.devices`);
    lines.forEach(({ rule, line }, i) => {
      w('devices', rule.allow ? 'devices.allow' : 'devices.deny', line, `${R}.devices[${i}]`);
    });
  }

  // memory
  const m = r.memory;
  if (m) {
    const memLimit = m.limit === undefined ? 0 : limit(m.limit, `${R}.memory.limit`);
    let swap = m.swap === undefined ? 0 : limit(m.swap, `${R}.memory.swap`);
    let autoSwap = false;
    // runc: unlimited memory without a swap setting means unlimited memory+swap too.
    if (memLimit === -1 && swap === 0 && ctx.memswAvailable !== false) {
      swap = -1;
      autoSwap = true;
    }
    if (memLimit > 0 && swap > 0 && swap < memLimit) {
      throw invalid(`${R}.memory.swap (${swap}) is memory+swap and must be >= ${R}.memory.limit (${memLimit})`, {
        field: `${R}.memory.swap`,
      });
    }
    const limitWrite: CgroupWrite = { controller: 'memory', file: 'memory.limit_in_bytes', value: decimal(memLimit), field: `${R}.memory.limit` };
    const swapWrite: CgroupWrite = {
      controller: 'memory',
      file: 'memory.memsw.limit_in_bytes',
      value: decimal(swap),
      field: `${R}.memory.swap`,
      ...(autoSwap ? { optional: true } : {}),
    };
    // The kernel keeps memsw >= memory at every moment, so the write order depends on where the
    // limits move: raise memsw first when the new memsw is above the current memory limit.
    if (memLimit !== 0 && swap !== 0) {
      const current = ctx.currentMemoryLimit; // undefined: a new cgroup, unlimited
      if (swap === -1 || (current !== undefined && current < BigInt(swap))) writes.push(swapWrite, limitWrite);
      else writes.push(limitWrite, swapWrite);
    } else {
      if (memLimit !== 0) writes.push(limitWrite);
      if (swap !== 0) writes.push(swapWrite);
    }
    if (m.kernel !== undefined) warnings.push(`${R}.memory.kernel is ignored: kernel memory limits are deprecated (runc ignores them too)`);
    if (m.kernelTCP !== undefined) warnings.push(`${R}.memory.kernelTCP is ignored: kernel memory limits are deprecated (runc ignores them too)`);
    if (m.reservation !== undefined) {
      const reservation = limit(m.reservation, `${R}.memory.reservation`);
      if (reservation !== 0) w('memory', 'memory.soft_limit_in_bytes', decimal(reservation), `${R}.memory.reservation`);
    }
    if (m.disableOOMKiller === true) w('memory', 'memory.oom_control', '1', `${R}.memory.disableOOMKiller`);
    if (m.swappiness !== undefined && m.swappiness !== -1) {
      w('memory', 'memory.swappiness', String(inRange(m.swappiness, `${R}.memory.swappiness`, 0, 100)), `${R}.memory.swappiness`);
    }
    if (m.useHierarchy === false) warnings.push(`${R}.memory.useHierarchy=false is ignored: current kernels always use the hierarchy`);
  }

  // cpu
  const c = r.cpu;
  if (c) {
    if (c.shares !== undefined) {
      const shares = nonNegative(c.shares, `${R}.cpu.shares`);
      if (shares !== 0) w('cpu', 'cpu.shares', String(shares), `${R}.cpu.shares`, { verify: true });
    }
    const quota = c.quota === undefined ? 0 : limit(c.quota, `${R}.cpu.quota`);
    const period = c.period === undefined ? 0 : nonNegative(c.period, `${R}.cpu.period`);
    // A smaller period can be refused while the old quota is in place (old_quota/new_period over
    // the parent's limit); runc then writes the quota and the period again. Same here.
    if (period !== 0) w('cpu', 'cpu.cfs_period_us', decimal(period), `${R}.cpu.period`, quota !== 0 ? { tolerateEinval: true } : {});
    if (quota !== 0) w('cpu', 'cpu.cfs_quota_us', decimal(quota), `${R}.cpu.quota`);
    if (period !== 0 && quota !== 0) w('cpu', 'cpu.cfs_period_us', decimal(period), `${R}.cpu.period`);
    if (c.burst !== undefined) w('cpu', 'cpu.cfs_burst_us', decimal(nonNegative(c.burst, `${R}.cpu.burst`)), `${R}.cpu.burst`);
    // Realtime: period before runtime, as runc's SetRtSched.
    if (c.realtimePeriod !== undefined && c.realtimePeriod !== 0) {
      w('cpu', 'cpu.rt_period_us', decimal(nonNegative(c.realtimePeriod, `${R}.cpu.realtimePeriod`)), `${R}.cpu.realtimePeriod`);
    }
    if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) {
      w('cpu', 'cpu.rt_runtime_us', decimal(limit(c.realtimeRuntime, `${R}.cpu.realtimeRuntime`)), `${R}.cpu.realtimeRuntime`);
    }
    if (c.idle !== undefined) w('cpu', 'cpu.idle', String(inRange(c.idle, `${R}.cpu.idle`, 0, 1)), `${R}.cpu.idle`);
  }

  // pids: > 0 is the limit, < 0 is "max", 0 is unset (runc 1.1).
  if (r.pids) {
    const pids = integer(r.pids.limit, `${R}.pids.limit`);
    if (pids !== 0) w('pids', 'pids.max', pids > 0 ? decimal(pids) : 'max', `${R}.pids.limit`);
  }

  // blkio
  const b = r.blockIO;
  if (b) {
    const weightFile = ctx.blkioWeightFile ?? 'blkio.weight';
    if (b.weight !== undefined && b.weight !== 0) {
      w('blkio', weightFile, String(inRange(b.weight, `${R}.blockIO.weight`, 10, 1000)), `${R}.blockIO.weight`);
    }
    if (b.leafWeight !== undefined && b.leafWeight !== 0) {
      w('blkio', 'blkio.leaf_weight', String(inRange(b.leafWeight, `${R}.blockIO.leafWeight`, 10, 1000)), `${R}.blockIO.leafWeight`);
    }
    (b.weightDevice ?? []).forEach((d, i) => {
      const f = `${R}.blockIO.weightDevice[${i}]`;
      const dev = deviceNumbers(d, f);
      if (d.weight !== undefined && d.weight !== 0) {
        w('blkio', `${weightFile}_device`, `${dev} ${inRange(d.weight, `${f}.weight`, 10, 1000)}`, `${f}.weight`);
      }
      if (d.leafWeight !== undefined && d.leafWeight !== 0) {
        w('blkio', 'blkio.leaf_weight_device', `${dev} ${inRange(d.leafWeight, `${f}.leafWeight`, 10, 1000)}`, `${f}.leafWeight`);
      }
    });
    const throttles = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ] as const;
    for (const [key, file] of throttles) {
      (b[key] ?? []).forEach((d, i) => {
        const f = `${R}.blockIO.${key}[${i}]`;
        w('blkio', file, `${deviceNumbers(d, f)} ${decimal(nonNegative(d.rate, `${f}.rate`))}`, f);
      });
    }
  }

  // hugetlb
  (r.hugepageLimits ?? []).forEach((h, i) => {
    const f = `${R}.hugepageLimits[${i}]`;
    const size = pageSize(h.pageSize, `${f}.pageSize`);
    w('hugetlb', `hugetlb.${size}.limit_in_bytes`, decimal(nonNegative(h.limit, `${f}.limit`)), f);
  });

  // net_cls, net_prio
  const n = r.network;
  if (n?.classID !== undefined) {
    w('net_cls', 'net_cls.classid', String(inRange(n.classID, `${R}.network.classID`, 0, 0xffffffff)), `${R}.network.classID`);
  }
  (n?.priorities ?? []).forEach((p, i) => {
    const f = `${R}.network.priorities[${i}]`;
    if (typeof p.name !== 'string' || !/^[^\s/]+$/.test(p.name)) {
      throw invalid(`${f}.name must be an interface name, got ${JSON.stringify(p.name)}`, { field: `${f}.name` });
    }
    w('net_prio', 'net_prio.ifpriomap', `${p.name} ${nonNegative(p.priority, `${f}.priority`)}`, f);
  });

  // rdma
  for (const line of rdmaLines(r)) w('rdma', 'rdma.max', line.value, line.field);

  return { writes, warnings };
}
