// A terminal exec through runc or crun: they hand the pty master to --console-socket only with
// --detach, and then exit, leaving a process nobody can wait for. berth-spawn --exec-reaper runs
// the runtime as a child subreaper (as containerd's shim is), inherits that process and reports
// its status on stdout (native/exec-reaper.c): "exit <status>", or "runtime <status>" when the
// runtime itself failed (its stderr says why).

export type ReaperReport = { kind: 'exit'; code: number } | { kind: 'runtime'; code: number };

/** The reaper's report from its stdout; undefined when it wrote none (it was killed). */
export function parseReaperReport(stdout: string): ReaperReport | undefined {
  const m = /^(exit|runtime) (\d{1,3})$/m.exec(stdout);
  if (!m) return undefined;
  return { kind: m[1] as ReaperReport['kind'], code: Number(m[2]) };
}

/** berth-spawn's argv: the runtime's command line, run under the reaper, which reads `pidFile`. */
export function reaperArgs(pidFile: string, runtime: string, args: string[]): string[] {
  return ['--exec-reaper', pidFile, runtime, ...args];
}
