// Platform strings (`linux/arm64/v8`) and choosing a manifest from an index, as containerd's
// default matcher does: same os and architecture; variant must match when both sides name one,
// arm64's empty variant means v8, and arm vN also runs lower arm variants.
import { invalid, notFound } from './errors.ts';
import { quote } from './quote.ts';
import type { Descriptor, Platform } from './image-spec.ts';

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** The host's platform; linux/amd64 when Node reports something unknown. */
export function hostPlatform(nodeArch: string = process.arch): Platform {
  const architecture = NODE_ARCH[nodeArch] ?? 'amd64';
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture };
}

export function parsePlatformString(value: string, field = 'platform'): Platform {
  const parts = value.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw invalid(`invalid platform ${quote(value)}: expected os/arch[/variant]`, { field });
  }
  const [os, arch, variant] = parts as [string, string, string | undefined];
  const p: Platform = { os, architecture: normaliseArch(arch) };
  if (variant) p.variant = variant;
  return p;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function normaliseArch(arch: string): string {
  switch (arch) {
    case 'x86_64':
    case 'x86-64':
      return 'amd64';
    case 'aarch64':
      return 'arm64';
    case 'i386':
      return '386';
    default:
      return arch;
  }
}

function normaliseVariant(arch: string, variant: string | undefined): string {
  if (arch === 'arm64' && (variant === undefined || variant === '' || variant === 'v8')) return 'v8';
  return variant ?? '';
}

/** Whether an image for `candidate` runs on `wanted`. */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  if (candidate.os.toLowerCase() !== wanted.os.toLowerCase()) return false;
  if (normaliseArch(candidate.architecture) !== wanted.architecture) return false;
  const w = normaliseVariant(wanted.architecture, wanted.variant);
  const c = normaliseVariant(wanted.architecture, candidate.variant);
  if (w === '' || c === '' || w === c) return true;
  if (wanted.architecture === 'arm') {
    const wn = Number(w.replace(/^v/, ''));
    const cn = Number(c.replace(/^v/, ''));
    return Number.isFinite(wn) && Number.isFinite(cn) && cn <= wn;
  }
  return false;
}

/** Ranks a matching candidate: exact variant first, then higher variants. */
function score(wanted: Platform, candidate: Platform): number {
  const w = normaliseVariant(wanted.architecture, wanted.variant);
  const c = normaliseVariant(wanted.architecture, candidate.variant);
  if (w === c) return 1000;
  return Number(c.replace(/^v/, '')) || 0;
}

/**
 * Picks the manifest for `wanted` from an index's descriptors. Entries without a platform
 * (attestations, unknown artifacts) are skipped. Throws not-found listing what the index offers.
 */
export function selectPlatformManifest(manifests: readonly Descriptor[], wanted: Platform, what: string): Descriptor {
  let best: Descriptor | undefined;
  let bestScore = -1;
  for (const d of manifests) {
    if (!d.platform || !platformMatches(wanted, d.platform)) continue;
    const s = score(wanted, d.platform);
    if (s > bestScore) {
      best = d;
      bestScore = s;
    }
  }
  if (best) return best;
  const offered = manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform!));
  throw notFound(
    `${what}: no manifest for platform ${formatPlatform(wanted)}${offered.length ? ` (available: ${offered.join(', ')})` : ''}`,
    { field: 'platform' },
  );
}
