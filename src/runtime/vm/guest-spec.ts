// The container as the guest sees it: the rootfs and each bind source come through the virtiofs
// share (the host binds them into it), so config.json's host paths become guest paths before the
// plan is compiled. Pure.

import { invalid, unimplemented } from '../../oci/errors.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import { absoluteBindSource, type HostFacts, type SourceKind } from '../plan-compiler.ts';

/** Where the agent mounts the share, and the guest's own runtime files. */
export const GUEST_SHARE = '/run/berth/share';
export const GUEST_ROOTFS = `${GUEST_SHARE}/rootfs`;
export const GUEST_FIFO = '/run/berth/exec.fifo';
export const guestConsoleSocket = (session: number): string => `/run/berth/console-${session}.sock`;
/** CAP_LAST_CAP of the guest kernel (Debian 12's 6.1: CAP_CHECKPOINT_RESTORE). */
export const GUEST_LAST_CAP = 40;

export interface Share {
  kind: 'd' | 'f';
  readonly: boolean;
  /** Name inside the share. */
  name: string;
  /** Host path. */
  source: string;
}

export interface GuestLayout {
  spec: Spec;
  shares: Share[];
  /** Kinds of the guest bind sources, for the compiler's HostFacts. */
  sources: Map<string, SourceKind>;
}

function isBind(m: { type?: string; options?: string[] }): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** `kinds`: the type of each host bind source (from host-facts). */
export function guestLayout(spec: Spec, bundle: string, rootfs: string, kinds: ReadonlyMap<string, SourceKind>): GuestLayout {
  const hooks = spec.hooks ?? {};
  for (const kind of ['prestart', 'createRuntime', 'createContainer', 'startContainer'] as const) {
    if (hooks[kind]?.length) {
      throw unimplemented(`hooks.${kind}: berth-vm runs only poststart and poststop hooks (on the host)`, { field: `hooks.${kind}` });
    }
  }
  const shares: Share[] = [{ kind: 'd', readonly: false, name: 'rootfs', source: rootfs }];
  const sources = new Map<string, SourceKind>();
  const mounts = (spec.mounts ?? []).map((m, i) => {
    if (!isBind(m)) return m;
    const source = absoluteBindSource(m, bundle);
    const kind = kinds.get(source) ?? 'missing';
    if (kind === 'missing') throw invalid(`mounts[${i}].source: bind source ${source} does not exist`, { field: `mounts[${i}].source`, path: source });
    const name = `m${i}`;
    const readonly = (m.options ?? []).includes('ro');
    shares.push({ kind: kind === 'dir' ? 'd' : 'f', readonly, name, source });
    sources.set(`${GUEST_SHARE}/${name}`, kind);
    return { ...m, source: `${GUEST_SHARE}/${name}` };
  });
  return { spec: { ...spec, mounts }, shares, sources };
}

export function guestHostFacts(sources: Map<string, SourceKind>, home: string | undefined): HostFacts {
  return {
    sources,
    cgroup: { version: 2 },
    hasKcore: false,
    lastCap: GUEST_LAST_CAP,
    heldCaps: (1n << BigInt(GUEST_LAST_CAP + 1)) - 1n,
    home,
    rootfsMount: { mountpoint: GUEST_SHARE, shared: false },
  };
}

/** A share entry as the monitor's configuration spells it. */
export function shareConfigValue(s: Share): string {
  return `${s.kind} ${s.readonly ? 'ro' : 'rw'} ${s.name} ${s.source}`;
}
