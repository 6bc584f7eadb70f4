// CNI spec versions: which berth speaks, how they compare, and what each one allows.
// 0.1.0 and 0.2.0 (the ip4/ip6 result) are not spoken; 0.3.x results have the 0.4.0 shape.

export const CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The newest spec version berth implements. */
export const LATEST_CNI_VERSION = '1.1.0';

/** Parses "X", "X.Y" or "X.Y.Z" (libcni accepts the short forms); undefined if malformed. */
export function parseCniVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

/** Negative, zero or positive as a is older than, equal to or newer than b. Malformed sorts oldest. */
export function compareCniVersions(a: string, b: string): number {
  const pa = parseCniVersion(a) ?? [-1, 0, 0];
  const pb = parseCniVersion(b) ?? [-1, 0, 0];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

export const atLeast = (v: string, min: string): boolean => compareCniVersions(v, min) >= 0;

export const isSupportedCniVersion = (v: string): boolean => (CNI_VERSIONS as readonly string[]).includes(v);

/** CHECK and a prevResult on DEL arrived in 0.4.0; GC and STATUS in 1.1.0. */
export const hasCheck = (v: string): boolean => atLeast(v, '0.4.0');
export const hasCachedDel = (v: string): boolean => atLeast(v, '0.4.0');
export const hasGcAndStatus = (v: string): boolean => atLeast(v, '1.1.0');

/** Results of 0.3.x and 0.4.0 carry `ips[].version`; 1.x results do not. */
export const resultShapeOf = (v: string): '0.4' | '1.0' => (atLeast(v, '1.0.0') ? '1.0' : '0.4');

/**
 * The spec's version selection for a config with `cniVersions`: the highest version listed (or
 * given as `cniVersion`) that this implementation knows, ignoring newer ones.
 */
export function selectCniVersion(cniVersion: string | undefined, cniVersions: string[]): string | undefined {
  const candidates = [...cniVersions, ...(cniVersion ? [cniVersion] : [])].filter(
    (v) => parseCniVersion(v) && compareCniVersions(v, LATEST_CNI_VERSION) <= 0,
  );
  candidates.sort(compareCniVersions);
  return candidates.at(-1) ?? cniVersion;
}
