// A parsed Dockerfile and the build's options to a plan: which stages the target needs, in which
// order they can build, every step with its variables substituted, and each stage's image config.
// Pure: base images' configs come from the caller (`baseImage`), nothing is read or fetched here.

import { notFound, type BerthError } from '../../oci/errors.ts';
import {
  automaticArgs,
  expandAt,
  formatPlatform,
  globalScope,
  hostPlatform,
  parsePlatform,
  PROXY_ARGS,
  unusedBuildArgs,
  type BuildPlatform,
} from './build-args.ts';
import { scanDockerfile } from './dockerfile-lines.ts';
import { heredocsInLine } from './heredoc.ts';
import { cloneConfig, DEFAULT_PATH, envMap, type BuildImageConfig } from './image-config.ts';
import type { Instruction, ParsedDockerfile, Stage } from './instructions.ts';
import { dockerfileError } from './parse-error.ts';
import { parseInstruction } from './parse-instruction.ts';
import { dispatchInstruction, type StageState } from './plan-step.ts';
import type { BuildPlan, BuildWarning, PlannedStage, SourceRef, StageBase } from './plan-types.ts';
import { buildLevels, reachableStages, type StageNode } from './stage-graph.ts';

export interface BaseImage {
  config: BuildImageConfig;
  author?: string;
}

export interface PlanOptions {
  /** The stage to build (its AS name); the last stage when absent. */
  target?: string;
  buildArgs?: ReadonlyMap<string, string> | Record<string, string>;
  /** The platform of the result (TARGETPLATFORM); this machine's by default. */
  platform?: BuildPlatform;
  /** The platform running the build (BUILDPLATFORM); this machine's by default. */
  buildPlatform?: BuildPlatform;
  /** The config of a base image the build is FROM; undefined when the caller has not resolved it. */
  baseImage?: (ref: string, platform: BuildPlatform) => BaseImage | undefined;
}

interface StageInfo {
  stage: Stage;
  base: StageBase;
  platform: BuildPlatform;
  /** ONBUILD triggers of the base, parsed; undefined until the stage is known to be needed. */
  triggers?: Instruction[];
  baseImage?: BaseImage;
}

export function planBuild(parsed: ParsedDockerfile, opts: PlanOptions = {}): BuildPlan {
  const { file, escape } = parsed;
  const buildArgs = opts.buildArgs instanceof Map ? opts.buildArgs : new Map(Object.entries(opts.buildArgs ?? {}));
  const targetPlatform = opts.platform ?? hostPlatform();
  const buildPlatform = opts.buildPlatform ?? hostPlatform();
  const warnings: BuildWarning[] = parsed.warnings.map((w) => ({ line: w.line, message: w.message }));
  const stages = parsed.stages;

  const seenNames = new Set<string>();
  for (const s of stages) {
    if (!s.name) continue;
    if (s.name === 'scratch' || s.name === 'context') warnings.push({ line: s.from.line, message: `stage name "${s.name}" is reserved` });
    if (seenNames.has(s.name)) warnings.push({ line: s.from.line, message: `duplicate stage name "${s.name}": later references use this one` });
    seenNames.add(s.name);
  }
  const target = findTarget(parsed, opts.target);
  const scope = globalScope(file, escape, parsed.globalArgs, buildArgs, automaticArgs(targetPlatform, buildPlatform, stages[target]!.name ?? ''));
  const at = (ins: { line: number; column: number }) => ({ file, line: ins.line, column: ins.column });

  const infos: StageInfo[] = [];
  for (const stage of stages) {
    const from = stage.from;
    const baseName = expandAt(from.base, scope, escape, at(from));
    if (baseName === '') throw dockerfileError(at(from), `base name (${from.base}) should not be blank: define the ARG before the first FROM or pass --build-arg`);
    const lower = baseName.toLowerCase();
    const parentIndex = stages.findLastIndex((s) => s.index < stage.index && s.name === lower);
    const base: StageBase = parentIndex >= 0 ? { kind: 'stage', stage: parentIndex } : lower === 'scratch' ? { kind: 'scratch' } : { kind: 'image', ref: baseName };
    let platform = base.kind === 'stage' ? infos[parentIndex]!.platform : targetPlatform;
    if (from.platform !== undefined) {
      const text = expandAt(from.platform, scope, escape, at(from));
      if (text === '') throw dockerfileError(at(from), `empty platform value from expression ${from.platform}`);
      const p = parsePlatform(text);
      if (!p) throw dockerfileError(at(from), `FROM --platform: invalid platform "${text}" (expected os/arch[/variant], like linux/amd64)`);
      platform = p;
    }
    infos.push({ stage, base, platform });
  }

  const resolveSource = (current: number) => (from: string, fail: (m: string) => BerthError): SourceRef => {
    const byIndex = /^\d+$/.test(from) ? Number(from) : undefined;
    const index = byIndex ?? stages.findLastIndex((s) => s.name === from.toLowerCase());
    if (byIndex !== undefined && byIndex >= stages.length) throw fail(`invalid stage index ${from} (the Dockerfile has ${stages.length} stages)`);
    if (index < 0) return { kind: 'image', ref: from };
    if (index >= current) throw fail(`cannot copy from stage "${from}", it needs to be defined before current stage ${stages[current]!.name ?? current}`);
    return { kind: 'stage', stage: index };
  };

  // Dependencies, then the stages the target reaches; ONBUILD triggers of a needed stage's base
  // can add dependencies (COPY --from), so repeat until nothing new is reached.
  const deps = infos.map((info, i) => staticDeps(info, info.stage.instructions, file, resolveSource(i)));
  let reach: number[];
  for (;;) {
    reach = reachableStages(deps.map((d, index) => ({ index, deps: [...d] })), target);
    let grew = false;
    for (const i of reach) {
      const info = infos[i]!;
      if (info.triggers) continue;
      info.triggers = triggersOf(info, infos, opts, file);
      for (const d of staticDeps(info, info.triggers, file, resolveSource(i))) {
        if (!deps[i]!.has(d)) {
          deps[i]!.add(d);
          grew = true;
        }
      }
    }
    if (!grew) break;
  }
  const nodes: StageNode[] = deps.map((d, index) => ({ index, deps: [...d].sort((a, b) => a - b) }));

  const proxyEnv = [...buildArgs].filter(([k]) => PROXY_ARGS.has(k)).map(([k, v]) => `${k}=${v}`);
  const planned = new Map<number, { stage: PlannedStage; state: StageState }>();
  for (const i of reach) {
    const info = infos[i]!;
    const state = initialState(info, planned);
    const steps = [];
    const all = [...info.triggers!.map((t) => ({ ins: t, onbuild: true })), ...info.stage.instructions.map((ins) => ({ ins, onbuild: false }))];
    for (const [index, { ins, onbuild }] of all.entries()) {
      steps.push(
        dispatchInstruction(state, ins, { file, escape, stage: i, index, onbuild, buildArgs, globalScope: scope, proxyEnv, resolveSource: resolveSource(i), warnings }),
      );
    }
    const stage: PlannedStage = {
      index: i,
      ...(info.stage.name ? { name: info.stage.name } : {}),
      line: info.stage.from.line,
      base: info.base,
      platform: info.platform,
      deps: nodes[i]!.deps.slice(),
      steps,
      config: state.config,
      ...(state.author !== undefined ? { author: state.author } : {}),
    };
    planned.set(i, { stage, state });
  }

  const declared = new Set<string>([...parsed.globalArgs.flatMap((a) => a.args.map((x) => x.key))]);
  for (const i of reach) for (const ins of [...infos[i]!.triggers!, ...infos[i]!.stage.instructions]) if (ins.kind === 'arg') for (const a of ins.args) declared.add(a.key);
  const unused = unusedBuildArgs(buildArgs, declared);
  if (unused.length) warnings.push({ message: `one or more build-args [${unused.join(' ')}] were not consumed` });

  return {
    file,
    target,
    stages: reach.map((i) => planned.get(i)!.stage),
    levels: buildLevels(nodes, reach),
    globalArgs: scope,
    warnings,
  };
}

function findTarget(parsed: ParsedDockerfile, target: string | undefined): number {
  if (target === undefined || target === '') return parsed.stages.length - 1;
  const i = parsed.stages.findLastIndex((s) => s.name === target.toLowerCase());
  if (i < 0) {
    const names = parsed.stages.map((s) => s.name).filter(Boolean);
    throw notFound(`target stage "${target}" could not be found (${names.length ? `stages: ${names.join(', ')}` : 'no stage has an AS name'})`, { path: parsed.file, field: 'target' });
  }
  return i;
}

function staticDeps(info: StageInfo, instructions: readonly Instruction[], file: string, resolve: (from: string, fail: (m: string) => BerthError) => SourceRef): Set<number> {
  const out = new Set<number>();
  if (info.base.kind === 'stage') out.add(info.base.stage);
  const add = (from: string, ins: Instruction): void => {
    const ref = resolve(from, (m) => dockerfileError({ file, line: ins.line, column: ins.column }, m));
    if (ref.kind === 'stage') out.add(ref.stage);
  };
  for (const ins of instructions) {
    if (ins.kind === 'copy' && ins.from !== undefined) add(ins.from, ins);
    if (ins.kind === 'run') {
      for (const spec of ins.mounts) {
        const m = /(?:^|,)from=([^,]+)/i.exec(spec);
        if (m && !/(?:^|,)type=(secret|ssh)(?:,|$)/i.test(spec)) add(m[1]!, ins);
      }
    }
  }
  return out;
}

/** ONBUILD triggers a stage inherits: the base image's OnBuild, or the base stage's ONBUILD lines. */
function triggersOf(info: StageInfo, infos: readonly StageInfo[], opts: PlanOptions, file: string): Instruction[] {
  let expressions: string[] = [];
  if (info.base.kind === 'image') {
    const image = opts.baseImage?.(info.base.ref, info.platform);
    if (!image) throw notFound(`base image ${info.base.ref} (${formatPlatform(info.platform)}) was not resolved before planning`, { path: file, field: `line ${info.stage.from.line}` });
    info.baseImage = image;
    expressions = image.config.OnBuild ?? [];
  } else if (info.base.kind === 'stage') {
    expressions = infos[info.base.stage]!.stage.instructions.flatMap((ins) => (ins.kind === 'onbuild' ? [ins.expression] : []));
  }
  const from = info.stage.from;
  return expressions.map((expr) => {
    const scanned = scanDockerfile(expr, { file, opensHeredocs: () => true, heredocsOf: heredocsInLine });
    if (scanned.lines.length !== 1) throw dockerfileError({ file, line: from.line, column: from.column }, `onbuild trigger should be a single expression: ${expr}`);
    const line = scanned.lines[0]!;
    return parseInstruction({ text: line.text, line: from.line, endLine: from.endLine, column: from.column, heredocs: line.heredocs }, file, '\\');
  });
}

function initialState(info: StageInfo, planned: ReadonlyMap<number, { state: StageState }>): StageState {
  let state: StageState;
  if (info.base.kind === 'stage') {
    const parent = planned.get(info.base.stage)!.state;
    state = { config: cloneConfig(parent.config), env: new Map(parent.env), args: parent.args.map((a) => ({ ...a })), cmdSet: false, platform: info.platform };
    if (parent.author !== undefined) state.author = parent.author;
  } else {
    const config = info.baseImage ? cloneConfig(info.baseImage.config) : {};
    state = { config, env: new Map(), args: [], cmdSet: false, platform: info.platform };
    if (info.baseImage?.author !== undefined) state.author = info.baseImage.author;
  }
  delete state.config.OnBuild; // triggers run once, in the child; they are not passed on
  if (!(state.config.Env ?? []).some((e) => e.startsWith('PATH='))) state.config.Env = [...(state.config.Env ?? []), DEFAULT_PATH];
  for (const [k, v] of envMap(state.config.Env ?? [])) if (!state.env.has(k)) state.env.set(k, v);
  return state;
}
