// The typed Dockerfile instructions the parser produces. Values are as written (quotes and
// variables not yet processed) except where noted; the planner expands them per BuildKit's rules.

import type { Heredoc } from './heredoc.ts';

export interface Located {
  /** 1-based first and last physical line of the instruction, and its column. */
  line: number;
  endLine: number;
  column: number;
  /** The logical line as written (continuations joined). */
  original: string;
}

/** Shell form (`RUN echo hi`: one string, run by the image's shell) or exec form (`["echo","hi"]`). */
export interface CommandLine {
  args: string[];
  shellForm: boolean;
}

export interface KeyValue {
  key: string;
  value: string;
  /** `ENV key value` (no `=`): the legacy form, deprecated by docker. */
  legacy: boolean;
}

export interface InlineSource {
  /** The heredoc name, used as the file name. */
  name: string;
  content: string;
  /** Unquoted name: variables in the content are expanded. */
  expand: boolean;
}

export interface HealthConfig {
  /** ["NONE"], ["CMD", ...args] or ["CMD-SHELL", command]. */
  test: string[];
  /** Durations in nanoseconds, as docker stores them; 0 = the runtime's default. */
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export type Instruction = Located &
  (
    | { kind: 'from'; base: string; name?: string; platform?: string }
    | {
        kind: 'run';
        cmd: CommandLine;
        /** `--mount` specs as written; parsed with variables expanded when planned. */
        mounts: string[];
        network?: string;
        security?: string;
        heredocs: Heredoc[];
      }
    | { kind: 'cmd' | 'entrypoint'; cmd: CommandLine }
    | { kind: 'shell'; shell: string[] }
    | {
        kind: 'copy' | 'add';
        sources: string[];
        dest: string;
        inline: InlineSource[];
        /** COPY only: a stage name or index, or an image. */
        from?: string;
        chown?: string;
        chmod?: string;
        link: boolean;
        /** COPY only. */
        parents: boolean;
        exclude: string[];
        /** ADD only. */
        checksum?: string;
        keepGitDir: boolean;
        unpack?: boolean;
        /** The sources and dest were a JSON array. */
        json: boolean;
      }
    | { kind: 'env' | 'label'; pairs: KeyValue[] }
    | { kind: 'arg'; args: { key: string; value?: string }[] }
    | { kind: 'workdir'; path: string }
    | { kind: 'user'; user: string }
    | { kind: 'stopsignal'; signal: string }
    | { kind: 'expose'; ports: string[] }
    | { kind: 'volume'; volumes: string[] }
    | { kind: 'healthcheck'; health: HealthConfig }
    | { kind: 'onbuild'; expression: string; trigger: Instruction }
    | { kind: 'maintainer'; maintainer: string }
  );

export type InstructionKind = Instruction['kind'];
export type InstructionOf<K extends InstructionKind> = Extract<Instruction, { kind: K }>;

export interface Stage {
  index: number;
  /** Lower-cased `AS` name. */
  name?: string;
  from: InstructionOf<'from'>;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  file: string;
  syntax?: string;
  check?: string;
  escape: '\\' | '`';
  /** ARGs before the first FROM. */
  globalArgs: InstructionOf<'arg'>[];
  stages: Stage[];
  warnings: { line: number; message: string }[];
}
