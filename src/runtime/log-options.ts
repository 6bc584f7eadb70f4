// The log limits of a monitored container, decided here and applied by the monitor
// (native/log-writer.c): `berth run --log-opt max-size=10m --log-opt max-file=3`, read as docker's
// json-file driver reads them. max-size is a size in docker's format (units.FromHumanSize: 500k,
// 10m, 1g, 1.5m, 10MB; multiples of 1000), max-file the number of files kept, the live one
// included: container.log, container.log.1, container.log.2. Pure.
import { invalid } from '../oci/errors.ts';

export interface LogLimits {
  /** Bytes a file may reach before it is rotated. */
  maxSize: number;
  /** Files kept, the live one included (>= 1). */
  maxFiles: number;
}

/** 10 MiB x 3 files: at most 30 MiB per container (the kubelet's own default is 10 MiB x 5). */
export const DEFAULT_LOG_LIMITS: LogLimits = { maxSize: 10 * 1024 * 1024, maxFiles: 3 };

/** The smallest max-size: a file must hold whole records (a record's header alone is ~40 bytes). */
export const MIN_LOG_SIZE = 1000;

const MULTIPLIERS: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const SIZE = /^(\d+(?:\.\d*)?|\.\d+) ?([kmgtp](?:b|ib)?|b)?$/i;

/** A size as docker reads one (go-units FromHumanSize); undefined if it is not one. */
export function parseDockerSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b')[0]!.toLowerCase();
  return Math.floor(Number(m[1]) * (MULTIPLIERS[unit] ?? 1));
}

/** `--log-opt` values (each `key=value`, or several joined by commas) over the defaults. */
export function parseLogOpts(values: readonly string[], defaults: LogLimits = DEFAULT_LOG_LIMITS): LogLimits {
  const limits = { ...defaults };
  for (const opt of values.flatMap((v) => v.split(',')).filter(Boolean)) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    const field = `--log-opt ${key}`;
    if (key === 'max-size') {
      const size = parseDockerSize(value);
      if (size === undefined) throw invalid(`${field}: "${value}" is not a size (e.g. 500k, 10m, 1g)`, { field });
      if (size < MIN_LOG_SIZE) throw invalid(`${field}: ${value} is too small: at least ${MIN_LOG_SIZE / 1000}k`, { field });
      limits.maxSize = size;
    } else if (key === 'max-file') {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw invalid(`${field}: "${value}" is not a number of files (1 or more)`, { field });
      limits.maxFiles = Number(value);
    } else {
      throw invalid(`${field}: unknown log option (berth's CRI log takes max-size and max-file)`, { field });
    }
  }
  return limits;
}
