// Build arguments: the automatic platform ARGs, the predefined proxy ARGs, the global scope
// (ARGs before the first FROM, usable in FROM lines and by redeclaring them in a stage), and the
// warning for a --build-arg no ARG consumed.

import { expandWord, LexError, type Env } from './shell-lexer.ts';
import type { InstructionOf } from './instructions.ts';
import { dockerfileError } from './parse-error.ts';

export interface BuildPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Passed to RUN without an ARG line and kept out of the cache key and history (docker's rule). */
export const PROXY_ARGS: ReadonlySet<string> = new Set(
  ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((k) => [k, k.toLowerCase()]),
);

const AUTOMATIC_ARGS = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT', 'TARGETSTAGE'];

/** Arguments builders read themselves; never reported as unused. */
const BUILDER_ARGS = /^(BUILDKIT_[A-Z0-9_]+|SOURCE_DATE_EPOCH)$/;

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };

export function formatPlatform(p: BuildPlatform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** "linux/amd64", "linux/arm/v7", "linux/arm64": normalized as containerd does for the common cases. */
export function parsePlatform(text: string): BuildPlatform | undefined {
  const parts = text.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) return undefined;
  const os = parts[0]!;
  const architecture = ARCH_ALIASES[parts[1]!] ?? parts[1]!;
  let variant = parts[2];
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (variant && /^\d+$/.test(variant)) variant = `v${variant}`;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** The platform of this machine, as a build platform. */
export function hostPlatform(): BuildPlatform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const architecture = arch[process.arch] ?? process.arch;
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture };
}

export function automaticArgs(target: BuildPlatform, build: BuildPlatform, targetStage: string): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETSTAGE', targetStage],
  ]);
}

/**
 * The global scope: automatic args, then each ARG before the first FROM in order, its value the
 * --build-arg when given, else its default expanded with what came before.
 */
export function globalScope(
  file: string,
  escape: string,
  globalArgs: readonly InstructionOf<'arg'>[],
  buildArgs: ReadonlyMap<string, string>,
  automatic: ReadonlyMap<string, string>,
): Map<string, string> {
  const scope = new Map(automatic);
  for (const ins of globalArgs) {
    for (const { key, value } of ins.args) {
      const given = buildArgs.get(key);
      if (given !== undefined) scope.set(key, given);
      else if (value !== undefined) scope.set(key, expandAt(value, scope, escape, { file, line: ins.line, column: ins.column }));
    }
  }
  return scope;
}

export function expandAt(word: string, env: Env, escape: string, at: { file: string; line: number; column: number }): string {
  try {
    return expandWord(word, env, { escape });
  } catch (err) {
    if (err instanceof LexError) throw dockerfileError(at, `${err.message} in "${word}"`);
    throw err;
  }
}

/** --build-args that no ARG of the build declared: docker warns that they "were not consumed". */
export function unusedBuildArgs(buildArgs: ReadonlyMap<string, string>, declared: ReadonlySet<string>): string[] {
  return [...buildArgs.keys()].filter((k) => !declared.has(k) && !PROXY_ARGS.has(k) && !AUTOMATIC_ARGS.includes(k) && !BUILDER_ARGS.test(k)).sort();
}
