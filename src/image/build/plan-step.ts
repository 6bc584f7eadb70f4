// One instruction of a stage, dispatched as BuildKit does: its variables substituted with the
// stage's environment (image Env, then ENV and ARG in order, the later one winning), its effect on
// the image config, and what a RUN, COPY or ADD will need to execute.

import { dockerfileError } from './parse-error.ts';
import { lex, LexError, type LexOptions, type LexResult } from './shell-lexer.ts';
import { chompHeredoc, parseHeredocWord } from './heredoc.ts';
import { copyDestination, isValidStopSignal, nextWorkdir, setEnv, withShell, type BuildImageConfig } from './image-config.ts';
import { exposedPorts, PortError } from './port-spec.ts';
import { MountError, parseRunMount, refusedMount } from './run-mount.ts';
import type { BuildPlatform } from './build-args.ts';
import type { Instruction, InstructionOf } from './instructions.ts';
import type { BuildWarning, CopyStep, PlannedMount, PlannedStep, RunStep, SourceRef } from './plan-types.ts';
import type { BerthError } from '../../oci/errors.ts';

export interface StageState {
  config: BuildImageConfig;
  author?: string;
  /** What variables expand to: the image's Env, then ENV and ARG values in order. */
  env: Map<string, string>;
  /** ARGs declared in scope (this stage and the stages it is FROM). */
  args: { key: string; value?: string }[];
  /** CMD was set in this stage: a later ENTRYPOINT keeps it (else ENTRYPOINT resets CMD). */
  cmdSet: boolean;
  platform: BuildPlatform;
}

export interface StepContext {
  file: string;
  escape: string;
  stage: number;
  index: number;
  onbuild: boolean;
  buildArgs: ReadonlyMap<string, string>;
  globalScope: ReadonlyMap<string, string>;
  /** Proxy settings from --build-arg, passed to RUN. */
  proxyEnv: string[];
  /** A COPY --from or mount from= value: an earlier stage, or an image. */
  resolveSource: (from: string, fail: (m: string) => BerthError) => SourceRef;
  warnings: BuildWarning[];
}

const HTTP_RE = /^https?:\/\//;
const GIT_RE = /^(git@|git:\/\/|ssh:\/\/)|^https?:\/\/\S+\.git(#.*)?$|^github\.com\//;

export function dispatchInstruction(state: StageState, ins: Instruction, ctx: StepContext): PlannedStep {
  const at = { file: ctx.file, line: ins.line, column: ins.column };
  const fail = (message: string): BerthError => dockerfileError(at, message);
  const used = new Set<string>();
  const lexed = (word: string, opts: LexOptions = {}): LexResult => {
    try {
      const r = lex(word, state.env, { escape: ctx.escape, ...opts });
      for (const m of r.matched) used.add(m);
      return r;
    } catch (err) {
      if (err instanceof LexError) throw fail(`${ins.kind.toUpperCase()}: ${err.message} in "${word}"`);
      throw err;
    }
  };
  const expand = (word: string, opts: LexOptions = {}): string => lexed(word, opts).result;
  const step: PlannedStep = {
    id: `${ctx.stage}:${ctx.index}`,
    stage: ctx.stage,
    index: ctx.index,
    instruction: ins,
    onbuild: ctx.onbuild,
    text: '',
    args: [],
    layer: false,
    createdBy: '',
  };
  const c = state.config;
  let text: unknown;

  switch (ins.kind) {
    case 'env': {
      const pairs = ins.pairs.map((p) => [expand(p.key), expand(p.value)] as const);
      for (const [k, v] of pairs) {
        c.Env = setEnv(c.Env ?? [], k, v);
        state.env.delete(k);
        state.env.set(k, v);
      }
      step.createdBy = `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      text = { kind: 'env', pairs };
      break;
    }
    case 'label': {
      const pairs = ins.pairs.map((p) => [expand(p.key), expand(p.value)] as const);
      c.Labels ??= {};
      for (const [k, v] of pairs) c.Labels[k] = v;
      step.createdBy = `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      text = { kind: 'label', pairs };
      break;
    }
    case 'arg': {
      const resolved: [string, string | null][] = [];
      for (const a of ins.args) {
        const given = ctx.buildArgs.get(a.key);
        let value: string | undefined;
        if (given !== undefined) value = given;
        else if (a.value !== undefined) value = expand(a.value);
        else value = ctx.globalScope.get(a.key);
        if (value !== undefined) {
          state.env.delete(a.key);
          state.env.set(a.key, value);
        }
        state.args.push(value === undefined ? { key: a.key } : { key: a.key, value });
        resolved.push([a.key, value ?? null]);
        used.add(a.key);
      }
      step.createdBy = `ARG ${resolved.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join(' ')}`;
      text = { kind: 'arg', args: resolved };
      break;
    }
    case 'workdir': {
      const wd = nextWorkdir(c.WorkingDir, expand(ins.path));
      c.WorkingDir = wd;
      // BuildKit creates the directory (as USER), a layer of its own unless it is /.
      if (wd !== '/') {
        step.layer = true;
        step.mkdir = { path: wd, ...(c.User ? { user: c.User } : {}) };
      }
      step.createdBy = `WORKDIR ${wd}`;
      text = { kind: 'workdir', path: wd };
      break;
    }
    case 'user': {
      c.User = expand(ins.user);
      step.createdBy = `USER ${c.User}`;
      text = { kind: 'user', user: c.User };
      break;
    }
    case 'stopsignal': {
      const sig = expand(ins.signal);
      if (!isValidStopSignal(sig)) throw fail(`STOPSIGNAL: invalid signal "${sig}" (expected a name like SIGTERM or TERM, or a number)`);
      c.StopSignal = sig;
      step.createdBy = `STOPSIGNAL ${sig}`;
      text = { kind: 'stopsignal', signal: sig };
      break;
    }
    case 'expose': {
      const ports: string[] = [];
      for (const p of ins.ports) {
        // EXPOSE splits words after substitution: `EXPOSE $PORTS` can expose several.
        for (const word of lexed(p).words) {
          try {
            ports.push(...exposedPorts(word));
          } catch (err) {
            if (err instanceof PortError) throw fail(`EXPOSE: ${err.message}`);
            throw err;
          }
        }
      }
      c.ExposedPorts ??= {};
      for (const p of ports) c.ExposedPorts[p] = {};
      step.createdBy = `EXPOSE ${ports.join(' ')}`;
      text = { kind: 'expose', ports };
      break;
    }
    case 'volume': {
      const volumes = ins.volumes.map((v) => expand(v));
      if (volumes.some((v) => v === '')) throw fail('VOLUME specified can not be an empty string');
      c.Volumes ??= {};
      for (const v of volumes) c.Volumes[v] = {};
      step.createdBy = `VOLUME [${volumes.join(' ')}]`;
      text = { kind: 'volume', volumes };
      break;
    }
    case 'cmd': {
      const args = ins.cmd.shellForm ? withShell(c, ins.cmd.args) : [...ins.cmd.args];
      c.Cmd = args;
      c.ArgsEscaped = true;
      state.cmdSet = true;
      step.createdBy = `CMD ${goQuoted(args)}`;
      text = { kind: 'cmd', args };
      break;
    }
    case 'entrypoint': {
      const args = ins.cmd.shellForm ? withShell(c, ins.cmd.args) : ins.cmd.args.length === 0 ? null : [...ins.cmd.args];
      c.Entrypoint = args;
      if (!state.cmdSet) c.Cmd = null;
      step.createdBy = `ENTRYPOINT ${goQuoted(args ?? [])}`;
      text = { kind: 'entrypoint', args };
      break;
    }
    case 'shell': {
      c.Shell = [...ins.shell];
      step.createdBy = `SHELL [${ins.shell.join(' ')}]`;
      text = { kind: 'shell', shell: ins.shell };
      break;
    }
    case 'healthcheck': {
      const h = ins.health;
      c.Healthcheck = { Test: [...h.test] };
      if (h.interval) c.Healthcheck.Interval = h.interval;
      if (h.timeout) c.Healthcheck.Timeout = h.timeout;
      if (h.startPeriod) c.Healthcheck.StartPeriod = h.startPeriod;
      if (h.startInterval) c.Healthcheck.StartInterval = h.startInterval;
      if (h.retries) c.Healthcheck.Retries = h.retries;
      step.createdBy = `HEALTHCHECK ${JSON.stringify(c.Healthcheck)}`;
      text = { kind: 'healthcheck', health: c.Healthcheck };
      break;
    }
    case 'onbuild': {
      c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
      step.createdBy = `ONBUILD ${ins.expression}`;
      text = { kind: 'onbuild', expression: ins.expression };
      break;
    }
    case 'maintainer': {
      state.author = ins.maintainer;
      step.createdBy = `MAINTAINER ${ins.maintainer}`;
      text = { kind: 'maintainer', maintainer: ins.maintainer };
      break;
    }
    case 'run': {
      step.run = planRun(state, ins, ctx, expand, fail);
      step.layer = true;
      step.args = runArgs(state);
      const shown = step.args.length ? `|${step.args.length} ${step.args.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
      step.createdBy = `RUN ${shown}${step.run.argv.join(' ')} # buildkit`;
      const { env: _env, proxyEnv: _proxy, ...keyed } = step.run;
      text = { kind: 'run', ...keyed };
      break;
    }
    case 'copy':
    case 'add': {
      step.copy = planCopy(state, ins, ctx, expand, fail);
      step.layer = true;
      const cp = step.copy;
      const flags = [cp.chown !== undefined ? `--chown=${cp.chown}` : '', ins.chmod !== undefined ? `--chmod=${ins.chmod}` : ''].filter(Boolean);
      step.createdBy = `${ins.kind.toUpperCase()} ${[...flags, ...cp.sources, ...cp.inline.map((i) => `<<${i.name}`), cp.dest].join(' ')} # buildkit`;
      text = { kind: ins.kind, ...cp };
      break;
    }
    case 'from':
      throw fail('FROM inside a stage'); // the parser starts a new stage at every FROM
  }
  if (ins.kind !== 'run') {
    const declared = new Map<string, string>();
    for (const a of state.args) if (a.value !== undefined && used.has(a.key)) declared.set(a.key, state.env.get(a.key) ?? a.value);
    step.args = [...declared];
  }
  step.text = JSON.stringify(text);
  return step;
}

/** RUN's view of build args: every ARG in scope with a value, the current value winning. */
function runArgs(state: StageState): [string, string][] {
  const out = new Map<string, string>();
  for (const a of state.args) {
    const v = state.env.get(a.key) ?? a.value;
    if (v !== undefined) out.set(a.key, v);
  }
  return [...out];
}

function planRun(state: StageState, ins: InstructionOf<'run'>, ctx: StepContext, expand: (w: string, o?: LexOptions) => string, fail: (m: string) => BerthError): RunStep {
  const c = state.config;
  let args = ins.cmd.args;
  let script: RunStep['script'];
  if (ins.heredocs.length > 0) {
    if (args.length !== 1 || !ins.cmd.shellForm) throw fail(`RUN: parsing produced an invalid run command: ${JSON.stringify(args)}`);
    const first = ins.heredocs[0]!;
    if (parseHeredocWord(args[0]!)) {
      const data = first.chomp ? chompHeredoc(first.content) : first.content;
      if (data.startsWith('#!')) {
        script = { path: `/dev/pipes/${first.name}`, content: data };
        args = [script.path];
      } else args = [data];
    } else {
      args = [args[0]! + ins.heredocs.map((h) => `\n${h.content}${h.name}`).join('')];
    }
  }
  const argv = ins.cmd.shellForm && !script ? withShell(c, args) : [...args];
  const mounts: PlannedMount[] = ins.mounts.map((spec) => {
    try {
      const m: PlannedMount = parseRunMount(spec, (v) => expand(v));
      if (m.type === 'bind' || m.type === 'cache') {
        if (m.from !== undefined) m.sourceRef = ctx.resolveSource(m.from, (msg) => fail(`RUN --mount from=${m.from}: ${msg}`));
        else if (m.type === 'bind') m.sourceRef = { kind: 'context' };
      }
      if (m.target !== '' && !m.target.startsWith('/')) m.target = nextWorkdir(c.WorkingDir, m.target);
      const refused = refusedMount(m);
      if (refused) ctx.warnings.push({ line: ins.line, message: `RUN --mount=type=${m.type}: ${refused}; this RUN will fail` });
      return m;
    } catch (err) {
      if (err instanceof MountError) throw fail(`RUN --mount: ${err.message}`);
      throw err;
    }
  });
  const env = [...state.env].map(([k, v]) => `${k}=${v}`);
  const declared = new Set(state.args.map((a) => a.key));
  return {
    argv,
    env,
    proxyEnv: ctx.proxyEnv.filter((e) => !declared.has(e.split('=', 1)[0]!)),
    user: c.User || undefined,
    workdir: c.WorkingDir || '/',
    mounts,
    network: (ins.network as RunStep['network'] | undefined) ?? 'default',
    security: (ins.security as RunStep['security'] | undefined) ?? 'sandbox',
    ...(script ? { script } : {}),
  };
}

function planCopy(state: StageState, ins: InstructionOf<'copy' | 'add'>, ctx: StepContext, expand: (w: string, o?: LexOptions) => string, fail: (m: string) => BerthError): CopyStep {
  const name = ins.kind.toUpperCase();
  const sources = ins.sources.map((s) => expand(s));
  const dest = copyDestination(state.config.WorkingDir, expand(ins.dest));
  const chown = ins.chown !== undefined ? expand(ins.chown) : undefined;
  const checksum = ins.checksum !== undefined ? expand(ins.checksum) : undefined;
  let chmod: number | undefined;
  if (ins.chmod !== undefined) {
    if (!/^[0-7]+$/.test(ins.chmod) || parseInt(ins.chmod, 8) > 0o7777) throw fail(`${name}: invalid chmod parameter: '${ins.chmod}'. it should be octal string and between 0 and 07777`);
    chmod = parseInt(ins.chmod, 8);
  }
  const from: SourceRef = ins.from !== undefined ? ctx.resolveSource(ins.from, (m) => fail(`COPY --from=${ins.from}: ${m}`)) : { kind: 'context' };
  for (const s of sources) {
    if (ins.kind === 'copy' && (HTTP_RE.test(s) || GIT_RE.test(s))) throw fail(`COPY: source can't be a URL or git repository: ${s} (use ADD)`);
  }
  if (checksum !== undefined) {
    if (sources.length !== 1) throw fail('ADD: checksum can\'t be specified for multiple sources');
    if (!HTTP_RE.test(sources[0]!) || GIT_RE.test(sources[0]!)) throw fail('ADD: checksum can\'t be specified for non-HTTP(S) sources');
    if (!/^sha(256|384|512):[a-f0-9]+$/.test(checksum)) throw fail(`ADD: invalid checksum "${checksum}" (expected sha256:<hex>)`);
  }
  if (ins.kind === 'add' && ins.keepGitDir && !sources.some((s) => GIT_RE.test(s))) {
    ctx.warnings.push({ line: ins.line, message: 'ADD --keep-git-dir has no effect without a git source' });
  }
  const inline = ins.inline.map((i) => ({ name: i.name, content: i.expand ? expand(i.content, { skipProcessQuotes: true, escape: '\\' }) : i.content }));
  return {
    add: ins.kind === 'add',
    from,
    sources,
    dest,
    inline,
    ...(chown !== undefined ? { chown } : {}),
    ...(chmod !== undefined ? { chmod } : {}),
    link: ins.link,
    parents: ins.parents,
    exclude: [...ins.exclude],
    ...(checksum !== undefined ? { checksum } : {}),
    keepGitDir: ins.keepGitDir,
    ...(ins.unpack !== undefined ? { unpack: ins.unpack } : {}),
  };
}

/** Go's %q of a string slice: ["a" "b"], as BuildKit writes CMD and ENTRYPOINT history lines. */
function goQuoted(args: readonly string[]): string {
  return `[${args.map((a) => JSON.stringify(a)).join(' ')}]`;
}

