// Pure: an image config (plus run-time overrides) becomes the process part of an OCI runtime Spec,
// with docker's rules: args = Entrypoint + Cmd (an override Cmd replaces the image's Cmd; an
// override Entrypoint replaces both), env = image Env then overrides by key, PATH and HOME
// defaulted, cwd = WorkingDir or "/", user resolved from the image's passwd/group (see image-user.ts).
import { invalid } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import { OCI_VERSION, type Spec } from '../oci/runtime-spec.ts';
import type { ImageConfig } from '../oci/image-spec.ts';
import { resolveUserSpec, type ResolvedUser } from './image-user.ts';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunOverrides {
  cmd?: string[];
  entrypoint?: string[];
  /** KEY=VALUE entries; a KEY without "=" removes the variable. */
  env?: string[];
  workdir?: string;
  /** user[:group]; names need `resolvedUser` (they are looked up in the image). */
  user?: string;
  terminal?: boolean;
  hostname?: string;
}

export interface SpecOptions {
  /** A base spec (e.g. the runtime's default spec with mounts, namespaces and capabilities). */
  base?: Spec;
  /** The user resolved against the image's files by prepareRootfs. */
  resolvedUser?: ResolvedUser;
}

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

export function mergeEnv(image: readonly string[], overrides: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const e of image) out.set(envKey(e), e);
  for (const e of overrides) {
    if (!e.includes('=')) out.delete(e);
    else out.set(envKey(e), e);
  }
  return [...out.values()];
}

export function imageConfigToSpec(config: ImageConfig, overrides: RunOverrides = {}, options: SpecOptions = {}): Spec {
  const c = config.config ?? {};
  const entrypoint = overrides.entrypoint ?? c.Entrypoint ?? [];
  const cmd = overrides.cmd ?? (overrides.entrypoint ? [] : c.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalid('no command: the image has no Entrypoint or Cmd and none was given', { field: 'process.args' });
  const cwd = overrides.workdir ?? (c.WorkingDir || '/');
  if (!cwd.startsWith('/')) throw invalid(`working directory ${quote(cwd)} must be absolute`, { field: 'process.cwd' });
  const userSpec = overrides.user ?? c.User ?? '';
  const user = options.resolvedUser ?? resolveUserSpec(numericOnly(userSpec), undefined, undefined);
  let env = mergeEnv(c.Env ?? [], overrides.env ?? []);
  if (!env.some((e) => envKey(e) === 'PATH')) env = [DEFAULT_PATH, ...env];
  if (!env.some((e) => envKey(e) === 'HOME')) env.push(`HOME=${user.home || '/'}`);
  if (overrides.terminal && !env.some((e) => envKey(e) === 'TERM')) env.push('TERM=xterm');
  const base = options.base ? structuredClone(options.base) : ({ ociVersion: OCI_VERSION } as Spec);
  const spec: Spec = {
    ...base,
    process: {
      ...(base.process ?? {}),
      terminal: overrides.terminal ?? false,
      user: {
        uid: user.uid,
        gid: user.gid,
        ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}),
      },
      args,
      env,
      cwd,
    },
    root: base.root ?? { path: 'rootfs' },
  };
  if (overrides.hostname) spec.hostname = overrides.hostname;
  const labels = c.Labels ?? {};
  if (c.StopSignal || Object.keys(labels).length) {
    spec.annotations = { ...(spec.annotations ?? {}) };
    if (c.StopSignal) spec.annotations['org.opencontainers.image.stopSignal'] = c.StopSignal;
  }
  return spec;
}

function numericOnly(spec: string): string {
  const [u, g] = spec.split(':');
  if ((u && !/^[0-9]+$/.test(u)) || (g && !/^[0-9]+$/.test(g))) {
    throw invalid(`user ${quote(spec)} must be resolved against the image first (prepareRootfs does this)`, { field: 'User' });
  }
  return spec;
}
