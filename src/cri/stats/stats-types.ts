// The runtime.v1 stats messages berthd answers with (api.proto: ContainerStats, PodSandboxStats
// and what they hold), as proto-load.ts encodes them: snake_case, int64/uint64 as decimal strings,
// an absent message as undefined.
import type { ContainerMetadata, PodSandboxMetadata, StringMap } from '../cri-types.ts';

export interface UInt64Value {
  value: string;
}

export interface CpuUsage {
  timestamp: string;
  usage_core_nano_seconds?: UInt64Value;
  usage_nano_cores?: UInt64Value;
}

export interface MemoryUsage {
  timestamp: string;
  working_set_bytes?: UInt64Value;
  available_bytes?: UInt64Value;
  usage_bytes?: UInt64Value;
  rss_bytes?: UInt64Value;
  page_faults?: UInt64Value;
  major_page_faults?: UInt64Value;
}

export interface SwapUsage {
  timestamp: string;
  swap_available_bytes?: UInt64Value;
  swap_usage_bytes?: UInt64Value;
}

export interface FilesystemUsage {
  timestamp: string;
  fs_id: { mountpoint: string };
  used_bytes: UInt64Value;
  inodes_used: UInt64Value;
}

export interface ContainerAttributes {
  id: string;
  metadata: ContainerMetadata | null;
  labels: StringMap;
  annotations: StringMap;
}

export interface ContainerStats {
  attributes: ContainerAttributes;
  cpu?: CpuUsage;
  memory?: MemoryUsage;
  writable_layer?: FilesystemUsage;
  swap?: SwapUsage;
}

export interface NetworkInterfaceUsage {
  name: string;
  rx_bytes: UInt64Value;
  rx_errors: UInt64Value;
  tx_bytes: UInt64Value;
  tx_errors: UInt64Value;
}

export interface NetworkUsage {
  timestamp: string;
  default_interface?: NetworkInterfaceUsage;
  interfaces: NetworkInterfaceUsage[];
}

export interface ProcessUsage {
  timestamp: string;
  process_count: UInt64Value;
}

export interface PodSandboxAttributes {
  id: string;
  metadata: PodSandboxMetadata | null;
  labels: StringMap;
  annotations: StringMap;
}

export interface LinuxPodSandboxStats {
  cpu?: CpuUsage;
  memory?: MemoryUsage;
  network?: NetworkUsage;
  process?: ProcessUsage;
  containers: ContainerStats[];
}

export interface PodSandboxStats {
  attributes: PodSandboxAttributes;
  linux: LinuxPodSandboxStats;
}
