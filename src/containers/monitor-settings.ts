// What a container's monitor is told, from its record and files: the same for the first run
// (create.ts) and every run its restart policy starts (restart.ts).
import type { LogLimits } from '../runtime/log-options.ts';
import type { MonitoredCreate } from '../runtime/runtime-handler.ts';
import type { ContainerFiles } from './record-store.ts';

export interface MonitorChoices {
  /** The CRI log file; undefined: <dir>/container.log; null: no log. */
  logPath?: string | null;
  logLimits?: LogLimits;
  stdinOpen?: boolean;
  /** Tie the container to its monitor (not `--survive-monitor`). */
  exitKill: boolean;
  exitCommand?: string[];
}

export function monitorSettings(files: ContainerFiles, c: MonitorChoices): MonitoredCreate['monitor'] {
  return {
    logFile: c.logPath === null ? undefined : (c.logPath ?? files.logFile),
    ...(c.logLimits ? { logLimits: c.logLimits } : {}),
    exitFile: files.exitFile,
    attachSocket: files.attachSocket,
    stdinPipe: !!c.stdinOpen,
    exitKill: c.exitKill,
    ...(c.exitCommand ? { exitCommand: c.exitCommand } : {}),
  };
}
