// What berthd's RPC handlers share: the configuration, the image store and its CRI view, the log,
// and the little runtime state the RuntimeService keeps (the pod CIDR).
import type { RegistriesConf } from '../../image/registries-conf.ts';
import type { ImageStore } from '../../image/image-store.ts';
import type { SnapshotUsage } from '../../image/snapshot-usage.ts';
import type { DaemonConfig } from '../daemon-config.ts';
import type { CriState } from './cri-state.ts';
import type { CriLookup } from './lookup.ts';
import type { ImageCatalog } from './image-catalog.ts';
import type { Logger } from './logger.ts';
import type { StatsSources } from '../stats/index.ts';

export interface CriContext {
  config: DaemonConfig;
  store: ImageStore;
  images: ImageCatalog;
  usage: SnapshotUsage;
  log: Logger;
  /** registries_config, read again for every pull (an edit applies to the next one). */
  registries: () => RegistriesConf;
  runtime: { podCidr: string };
  /** Pods, containers and what runs them (cri-state.ts); lookups for other services in lookup.ts. */
  cri: CriState;
  /** Pods and containers by id, for the streaming server and stats (lookup.ts). */
  lookup: CriLookup;
  /** The cgroup host, CPU sample cache and layer usage the stats RPCs read (stats-rpc.ts). */
  stats: StatsSources;
}
