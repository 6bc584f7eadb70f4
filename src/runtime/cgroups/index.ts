// Public surface of berth's cgroup library (re-exports only).
export {
  cgroupHostFromProc, detectCgroupHost, parseMountinfo, parseProcCgroup, V1_CONTROLLERS, type MountinfoEntry,
  type CgroupHierarchy, type CgroupHost, type CgroupHostOptions, type CgroupHostV1, type CgroupHostV2, type CgroupMode,
} from './cgroup-host.ts';
export {
  cgroupManagerFor, cgroupManagerFromJSON, openCgroupManager,
  type CgroupManager, type CgroupManagerOptions, type CgroupRemoval, type CgroupManagerSettings, type FreezerState,
} from './cgroup-manager.ts';
export type { CgroupManagerRecord, CgroupManagerRecordV1, CgroupManagerRecordV2 } from './manager-record.ts';
export { parseCgroupManagerRecord } from './manager-record.ts';
export {
  cgroupDirOn, parseCgroupsPath, resolveCgroupPaths,
  type CgroupsPathOptions, type CgroupsPathSpec, type ResolvedCgroupPaths,
} from './cgroups-path.ts';
export { planCgroupWrites, type CgroupPlan, type CgroupWrite, type PlanContext } from './resource-plan.ts';
export { deviceRuleLine, RUNC_DEFAULT_DEVICE_RULES, withDefaultDeviceRules } from './device-rules.ts';
export { blkioWeightToIoWeight, cpuSharesToWeight, cpuSharesToWeightLinear, memorySwapToV2 } from './v2-conversions.ts';
export { emptyStats, type CgroupStats } from './cgroup-stats.ts';
export { encodeEvent, encodeJson, oomEvent, statsEvent, statsEventData, type RuncEvent } from './runc-events.ts';
export { watchOom, type OomCounter, type OomWatch, type OomWatchOptions } from './oom-watch.ts';
export {
  sampleFromV1, sampleFromV2, V1_SAMPLE_FILES, V2_SAMPLE_FILES,
  type CgroupSample, type CpuSample, type IoSample, type MemorySample, type PidsSample,
} from './sample.ts';
export {
  cgroupProcesses, processCgroupDirs, readCgroupSample, sampleDirsFor, sampleDirsFromRecord, sampleDirsOfProcess, unixNowNs,
  type SampleDirs,
} from './sample-reader.ts';
