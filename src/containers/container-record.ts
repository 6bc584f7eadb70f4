// A container's record (meta.json) and what its status is, given a few facts about the processes
// that should be there. Pure: the facts are gathered elsewhere (from /proc and the exit file, or
// from the exit watchers berthd keeps), so the rules are tested without a kernel.
import { formatLogTime } from '../runtime/cri-log.ts';
import type { LogLimits } from '../runtime/log-options.ts';
import type { MonitorExit, MonitorRecord } from '../runtime/monitor.ts';
import type { RestartPolicy } from './restart-policy.ts';

/** A process identified beyond its pid: /proc/<pid>/stat's start time tells a reused pid apart. */
export interface ProcessRef {
  pid: number;
  startTime: number;
}

/** The lifecycle point the record was last written at. */
export type RecordState = 'creating' | 'created' | 'running' | 'stopped';

/** Why a container ended, in the CRI's words. */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled';

export interface ContainerRecord {
  id: string;
  name: string;
  /** The image as it was resolved (name:tag or name@digest). */
  image: string;
  /** The image's manifest digest. */
  imageDigest?: string;
  command: string[];
  /** When the record was made (RFC 3339). */
  created: string;
  /** The low-level runtime (`run --runtime`, a RuntimeClass handler): absent for berth's own. */
  runtime?: string;
  /** Absent in records of an older berth: they were written once the container ran. */
  state?: RecordState;
  /** The process creating the container, while it does (a record whose creator died is debris). */
  creator?: ProcessRef;
  /** The container's init, once created. */
  init?: ProcessRef;
  /** A background container's monitor, once it runs. */
  monitor?: MonitorRecord;
  /** Ran in the foreground of the process that created it (`berth run` without -d): no monitor. */
  foreground?: boolean;
  /** The CRI log file; absent: <dir>/container.log (monitored) or none (foreground). null: no log. */
  logPath?: string | null;
  /** Rotation of a background container's log (`run --log-opt`). */
  logLimits?: LogLimits;
  /** The container's stdin is a pipe its monitor holds (`run -d -i`, the CRI's stdin). */
  stdinOpen?: boolean;
  /** The signal `stop` sends first (the image's StopSignal, the CRI's); default SIGTERM. */
  stopSignal?: string;
  /** When it was started and when it ended (RFC 3339 with nanoseconds). */
  started?: string;
  finished?: string;
  exitCode?: number;
  reason?: ExitReason;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** `run --restart`: carried out after each exit by the exit command (restart.ts). */
  restartPolicy?: RestartPolicy;
  /** Times the container was restarted by its policy. */
  restartCount?: number;
  /** The delay before the last restart (the next one doubles it). */
  restartDelayMs?: number;
  /** Between an exit and the restart its policy asked for: since when, and how long the wait is. */
  restarting?: { since: string; delayMs: number };
  /** Frozen (`berth pause`). */
  paused?: boolean;
}

/** What is known about the processes a record names, now. */
export interface LiveFacts {
  /** The creator of a record still 'creating' is alive. */
  creatorAlive?: boolean;
  /** The monitor runs (meaningful only when the record has one). */
  monitorAlive?: boolean;
  /** The container's init runs. */
  initAlive?: boolean;
  /** The exit the monitor (or a foreground run) recorded, if any. */
  exit?: MonitorExit | { status: number; time?: bigint };
}

/** The status shown to users: OCI's words, as `berth-runtime state` and `docker ps` use them. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'restarting' | 'stopped';

/**
 * Who still watches over the container: 'supervised' while its monitor runs, 'ended' once the
 * exit was recorded, 'lost' when the monitor died without recording it (nothing logs its output
 * or will record its exit any more).
 */
export type Supervision = 'supervised' | 'ended' | 'lost';

export interface ContainerView {
  status: ContainerStatus;
  supervision?: Supervision;
  exitCode?: number;
  /** When it ended (RFC 3339 with ns), once known: the record's, or the exit file's time. */
  finished?: string;
  /** A 'creating' record whose creator is gone: half-made, to be removed. */
  abandoned?: boolean;
  /** Running, frozen (`berth pause`). */
  paused?: boolean;
}

/** The status of a record, from the facts. */
export function viewOf(record: ContainerRecord, facts: LiveFacts): ContainerView {
  const exitCode = record.exitCode ?? facts.exit?.status;
  const time = facts.exit?.time;
  const finished = record.finished ?? (time !== undefined ? formatLogTime(time) : undefined);
  const ended = { exitCode, ...(finished ? { finished } : {}) };
  const state = record.state ?? 'running';
  if (state === 'creating') return { status: 'creating', ...(facts.creatorAlive ? {} : { abandoned: true }) };
  // Between two runs: the last one's exit is known, the next one's monitor is not there yet.
  if (record.restarting) return { status: 'restarting', ...ended };
  if (record.monitor) {
    if (exitCode !== undefined) return { status: 'stopped', supervision: 'ended', ...ended };
    if (facts.monitorAlive) return { status: state, supervision: 'supervised', ...(record.paused && state === 'running' ? { paused: true } : {}) };
    return { status: facts.initAlive ? state : 'stopped', supervision: 'lost' };
  }
  if (exitCode !== undefined) return { status: 'stopped', ...ended };
  if (state === 'stopped') return { status: 'stopped' };
  // A foreground container lives as long as its init (and its creator, which waits for it).
  return { status: facts.initAlive || facts.creatorAlive ? state : 'stopped' };
}

/** The CRI's reason for an exit: OOMKilled when the kernel's OOM killer was at work. */
export function exitReason(status: number, oomKilled: boolean): ExitReason {
  if (oomKilled) return 'OOMKilled';
  return status === 0 ? 'Completed' : 'Error';
}

/** "Up", "Exited (3)"...: what `ps` shows for a status. */
export function statusText(view: ContainerView): string {
  if (view.supervision === 'lost') {
    if (view.status === 'running') return 'Up (unsupervised)';
    if (view.status === 'stopped') return 'Exited (monitor died)';
    return `${statusText({ ...view, supervision: undefined })} (unsupervised)`;
  }
  switch (view.status) {
    case 'running':
      return view.paused ? 'Up (Paused)' : 'Up';
    case 'restarting':
      return `Restarting (${view.exitCode ?? 0})`;
    case 'created':
      return 'Created';
    case 'creating':
      return 'Creating';
    case 'stopped':
      return view.exitCode !== undefined ? `Exited (${view.exitCode})` : 'Exited';
  }
}
