// Which ociVersion to write into a bundle for a runtime program. berth writes the runtime-spec
// version it implements, but some runtimes refuse versions newer than theirs (crun 1.8 answers
// "unknown version specified" to 1.2.0), while runc and runsc ignore the field. The program's
// `--version` names its spec version (a "spec: 1.0.2-dev" line, as runc, crun and runsc print);
// a bundle for it then says that version. Fields it does not know it ignores, as the spec asks.

/** The runtime-spec version a program's `--version` output names; undefined when none. */
export function runtimeSpecVersion(versionOutput: string): string | undefined {
  return /^spec(?:\s+version)?:\s*(\d+\.\d+\.\d+)(?:-\S*)?\s*$/im.exec(versionOutput)?.[1];
}

const parts = (v: string): number[] => v.split('.').map((n) => Number(n));

function older(a: string, b: string): boolean {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  return false;
}

/** The ociVersion for a runtime's bundle: ours, or the runtime's when that is older. */
export function bundleOciVersion(ours: string, runtimes: string | undefined): string {
  return runtimes && older(runtimes, ours) ? runtimes : ours;
}
