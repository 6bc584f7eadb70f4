// The image configuration a stage builds up, in docker's JSON shape (what `docker inspect` and
// `buildah inspect` show under .Config), plus the rules its instructions follow.

import { constants } from 'node:os';
import { posix } from 'node:path';
import type { ImageRunConfig } from '../../oci/image-spec.ts';

export interface HealthcheckConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface BuildImageConfig extends ImageRunConfig {
  Healthcheck?: HealthcheckConfig;
  Shell?: string[];
  OnBuild?: string[] | null;
}

export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function cloneConfig(c: BuildImageConfig): BuildImageConfig {
  return structuredClone(c);
}

/** Sets KEY=VALUE in an env list, replacing an existing KEY in place (docker keeps the order). */
export function setEnv(env: string[], key: string, value: string): string[] {
  const i = env.findIndex((e) => e.split('=', 1)[0] === key);
  const out = [...env];
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

export function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq < 0) m.set(e, '');
    else m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return m;
}

/** A shell-form command: the stage's SHELL (or /bin/sh -c) followed by the command as one string. */
export function withShell(config: BuildImageConfig, args: readonly string[]): string[] {
  const shell = config.Shell && config.Shell.length > 0 ? config.Shell : DEFAULT_SHELL;
  return [...shell, args.join(' ')];
}

/** WORKDIR: relative paths are taken from the current one; the result is clean and absolute. */
export function nextWorkdir(current: string | undefined, requested: string): string {
  return requested.startsWith('/') ? posix.normalize(requested).replace(/(.)\/$/, '$1') : posix.join('/', current ?? '/', requested).replace(/(.)\/$/, '$1');
}

/** A COPY/ADD destination: relative to WORKDIR, cleaned, a trailing slash kept (it means "into"). */
export function copyDestination(workdir: string | undefined, dest: string): string {
  const p = dest === '' || dest === '.' ? './' : dest;
  const joined = p.startsWith('/') ? posix.normalize(p) : posix.join(workdir ?? '/', p);
  const clean = joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
  return (p.endsWith('/') || p.endsWith('/.')) && clean !== '/' ? `${clean}/` : clean;
}

/** STOPSIGNAL values as docker accepts them: a number, or a name with or without SIG. */
export function isValidStopSignal(value: string): boolean {
  if (/^\d+$/.test(value)) return Number(value) !== 0;
  const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
  if (name in constants.signals) return true;
  const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(name);
  return rt !== null;
}
