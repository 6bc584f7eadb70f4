// The cgroup v1 manager: one directory per mounted hierarchy (runc's fs manager).
import { setTimeout as delay } from 'node:timers/promises';
import { posix } from 'node:path';
import { BerthError, precondition } from '../../oci/errors.ts';
import type { Resources } from '../../oci/runtime-spec.ts';
import type { CgroupManager, CgroupManagerSettings, CgroupRemoval, FreezerState } from './cgroup-manager.ts';
import type { CgroupStats } from './cgroup-stats.ts';
import {
  addProcess, cgroupFileExists, deepestFirst, directoryExists, makeCgroupDirs, readCgroupFile, readCgroupFileIfExists,
  readProcs, removeCgroupDirs, removeEmptyParents, writeCgroupFile,
} from './cgroupfs.ts';
import type { CgroupManagerRecordV1 } from './manager-record.ts';
import { planCgroupWrites, type PlanContext } from './resource-plan.ts';
import { writePlan } from './plan-writer.ts';
import { parseFlatKeyed, parseUint } from './stats-parse.ts';
import { hugePageSizes, readStatsV1 } from './stats-v1.ts';

interface Hierarchy {
  controllers: string[];
  dir: string;
  mountpoint: string;
}

export class CgroupManagerV1 implements CgroupManager {
  readonly mode = 'v1' as const;
  private readonly record: CgroupManagerRecordV1;
  private readonly settings: CgroupManagerSettings;

  constructor(record: CgroupManagerRecordV1, settings: CgroupManagerSettings = {}) {
    this.record = structuredClone(record);
    this.settings = settings;
  }

  /** Co-mounted controllers (cpu,cpuacct) share one directory: act on each directory once. */
  private hierarchies(): Hierarchy[] {
    const byDir = new Map<string, Hierarchy>();
    for (const [controller, dir] of Object.entries(this.record.paths)) {
      const h = byDir.get(dir);
      if (h) h.controllers.push(controller);
      else byDir.set(dir, { controllers: [controller], dir, mountpoint: this.record.mountpoints[controller] as string });
    }
    return [...byDir.values()];
  }

  private dirOf(controller: string, purpose: string): string {
    const dir = this.record.paths[controller];
    if (!dir) throw precondition(`cannot ${purpose}: the ${controller} cgroup controller is not mounted on this host`);
    return dir;
  }

  async create(): Promise<void> {
    const leaves = new Set(Object.values(this.record.paths));
    const made: string[] = [];
    for (const h of this.hierarchies()) {
      // A new cpuset cgroup starts with empty cpus/mems, and a task cannot join it until both are
      // set, so every level copies its parent's values (runc cpusetEnsureParent).
      const prepare = h.controllers.includes('cpuset') ? copyCpusetFromParent : undefined;
      made.push(...(await makeCgroupDirs(h.mountpoint, h.dir, prepare)));
    }
    const parents = made.filter((d) => !leaves.has(d));
    this.record.createdParents = [...new Set([...this.record.createdParents, ...parents])];
  }

  async apply(pid: number): Promise<void> {
    for (const h of this.hierarchies()) await addProcess(h.dir, pid);
  }

  async set(resources: Resources | undefined): Promise<string[]> {
    const ctx: PlanContext = {};
    const memory = this.record.paths.memory;
    if (memory) {
      ctx.memswAvailable = await cgroupFileExists(memory, 'memory.memsw.limit_in_bytes');
      const m = resources?.memory;
      if (m?.limit && m.swap) ctx.currentMemoryLimit = parseUint(await readCgroupFile(memory, 'memory.limit_in_bytes'), `${memory}/memory.limit_in_bytes`);
    }
    const blkio = this.record.paths.blkio;
    if (blkio && !(await cgroupFileExists(blkio, 'blkio.weight')) && (await cgroupFileExists(blkio, 'blkio.bfq.weight'))) {
      ctx.blkioWeightFile = 'blkio.bfq.weight';
    }
    const plan = planCgroupWrites(resources, 'v1', ctx);
    await writePlan(plan, (controller) => this.record.paths[controller]);
    return plan.warnings;
  }

  async freeze(): Promise<void> {
    const dir = this.dirOf('freezer', 'freeze');
    const timeoutMs = this.settings.freezeTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    // v1 can stay FREEZING while tasks keep forking; like runc, write FROZEN again, and thaw now
    // and then to let stragglers settle.
    for (let i = 0; ; i++) {
      if (i % 50 === 49) {
        await writeCgroupFile(dir, 'freezer.state', 'THAWED');
        await delay(10);
      }
      await writeCgroupFile(dir, 'freezer.state', 'FROZEN');
      const state = (await readCgroupFile(dir, 'freezer.state')).trim();
      if (state === 'FROZEN') return;
      if (state !== 'FREEZING' || Date.now() > deadline) {
        await writeCgroupFile(dir, 'freezer.state', 'THAWED'); // never leave it half frozen
        throw new BerthError(
          'internal',
          state === 'FREEZING' ? `cgroup ${dir} did not freeze within ${timeoutMs} ms` : `unexpected freezer state ${state} while freezing ${dir}`,
          { path: posix.join(dir, 'freezer.state'), op: 'freeze' },
        );
      }
      await delay(i < 10 ? 1 : 10);
    }
  }

  async thaw(): Promise<void> {
    await writeCgroupFile(this.dirOf('freezer', 'thaw'), 'freezer.state', 'THAWED');
  }

  async state(): Promise<FreezerState> {
    const dir = this.record.paths.freezer;
    if (!dir) return 'running';
    for (let i = 0; i < 100; i++) {
      const state = (await readCgroupFile(dir, 'freezer.state')).trim();
      if (state === 'THAWED') return 'running';
      if (state === 'FROZEN') {
        // FROZEN because an ancestor is frozen does not make this container paused (runc agrees).
        const self = await readCgroupFileIfExists(dir, 'freezer.self_freezing');
        return self?.trim() === '0' ? 'running' : 'paused';
      }
      await delay(1); // FREEZING: usually settles within milliseconds
    }
    return 'pausing';
  }

  async pids(recursive = false): Promise<number[]> {
    const dir = this.procsDir();
    if (!dir) return [];
    return readProcs(dir, recursive);
  }

  private procsDir(): string | undefined {
    const p = this.record.paths;
    return p.devices ?? p.freezer ?? p.pids ?? p.memory ?? Object.values(p)[0];
  }

  async stats(): Promise<CgroupStats> {
    return readStatsV1(this.record.paths, await hugePageSizes(this.settings.hugepagesDir));
  }

  async oomKillCount(): Promise<bigint> {
    const dir = this.dirOf('memory', 'watch for OOM kills');
    const kv = parseFlatKeyed(await readCgroupFile(dir, 'memory.oom_control'), `${dir}/memory.oom_control`);
    return kv.oom_kill ?? 0n;
  }

  async exists(): Promise<boolean> {
    const p = this.record.paths;
    const dir = p.devices ?? Object.values(p)[0];
    return dir !== undefined && directoryExists(dir);
  }

  async destroy(): Promise<void> {
    const { dirs, parents } = this.removal();
    await removeCgroupDirs(dirs);
    await removeEmptyParents(parents);
  }

  removal(): CgroupRemoval {
    return { procsDir: this.procsDir(), dirs: this.hierarchies().map((h) => h.dir), parents: deepestFirst(this.record.createdParents) };
  }

  paths(): Record<string, string> {
    return { ...this.record.paths };
  }

  toJSON(): CgroupManagerRecordV1 {
    return structuredClone(this.record);
  }
}

/** Fills an empty cpuset.cpus / cpuset.mems from the parent cgroup. */
async function copyCpusetFromParent(dir: string): Promise<void> {
  const parent = posix.dirname(dir);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = await readCgroupFileIfExists(dir, file);
    if (own === undefined || own.trim() !== '') continue;
    await writeCgroupFile(dir, file, (await readCgroupFile(parent, file)).trim());
  }
}
