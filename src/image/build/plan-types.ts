// What planning a build produces: for each stage the build needs, its steps with every variable
// substituted, what each step reads (context, another stage, an image), and the image config.

import type { BuildPlatform } from './build-args.ts';
import type { BuildImageConfig } from './image-config.ts';
import type { Instruction } from './instructions.ts';
import type { RunMount } from './run-mount.ts';

export type StageBase = { kind: 'scratch' } | { kind: 'image'; ref: string } | { kind: 'stage'; stage: number };
export type SourceRef = { kind: 'context' } | { kind: 'stage'; stage: number } | { kind: 'image'; ref: string };

export interface PlannedMount extends RunMount {
  /** Where a bind or cache mount's files come from (bind without from: the build context). */
  sourceRef?: SourceRef;
}

export interface RunStep {
  /** The argv to execute: SHELL (or /bin/sh -c) + the command for the shell form. */
  argv: string[];
  /** The process environment: the image's Env with the build args in scope. */
  env: string[];
  /** Proxy variables from --build-arg that no ARG declared: set for RUN, kept out of keys. */
  proxyEnv: string[];
  user?: string;
  workdir: string;
  mounts: PlannedMount[];
  network: 'default' | 'none' | 'host';
  security: 'sandbox' | 'insecure';
  /** A heredoc script with a `#!` line: written here (read-only) and executed as argv[0]. */
  script?: { path: string; content: string };
}

export interface CopyStep {
  add: boolean;
  from: SourceRef;
  /** Source paths (wildcards allowed) or, for ADD, URLs and git repositories. */
  sources: string[];
  /** Absolute; a trailing slash means "into this directory". */
  dest: string;
  /** Heredoc files, content expanded unless the name was quoted. */
  inline: { name: string; content: string }[];
  chown?: string;
  chmod?: number;
  link: boolean;
  parents: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir: boolean;
  unpack?: boolean;
}

export interface PlannedStep {
  /** "stage:index", the key callers use for a step's content digests. */
  id: string;
  stage: number;
  index: number;
  instruction: Instruction;
  /** Came from an ONBUILD trigger of the base. */
  onbuild: boolean;
  /** The step with its variables substituted, as canonical JSON: what its cache key digests. */
  text: string;
  /** The build args the step sees: for RUN every ARG in scope with a value, else those it used. */
  args: [string, string][];
  /** Makes a filesystem layer (RUN, COPY, ADD, WORKDIR other than /). */
  layer: boolean;
  /** The image history line. */
  createdBy: string;
  run?: RunStep;
  copy?: CopyStep;
  /** WORKDIR: the directory to create (with parents), owned by `user` when set. */
  mkdir?: { path: string; user?: string };
}

export interface PlannedStage {
  index: number;
  name?: string;
  line: number;
  base: StageBase;
  platform: BuildPlatform;
  deps: number[];
  steps: PlannedStep[];
  /** The image config after the stage's last instruction. */
  config: BuildImageConfig;
  author?: string;
}

export interface BuildWarning {
  line?: number;
  message: string;
}

export interface BuildPlan {
  file: string;
  target: number;
  /** The stages the target needs, in Dockerfile order. */
  stages: PlannedStage[];
  /** Stage indices by level: a level's stages depend only on earlier levels. */
  levels: number[][];
  globalArgs: Map<string, string>;
  warnings: BuildWarning[];
}
