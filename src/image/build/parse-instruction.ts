// One logical line to a typed instruction, with BuildKit's argument rules and error messages.
// Errors name the file, line and column (of the offending flag when there is one).

import { FlagError, parseFlags, type FlagKind, type ParsedFlags } from './instruction-flags.ts';
import { parseJsonArgs, splitInstruction, splitWhitespace, splitWordsKeepingQuotes } from './instruction-words.ts';
import type { CommandLine, HealthConfig, InlineSource, Instruction, KeyValue, Located } from './instructions.ts';
import { chompHeredoc, parseHeredocWord, type Heredoc } from './heredoc.ts';
import { parseGoDuration } from './go-duration.ts';
import { csvFields, MountError, parseRunMount } from './run-mount.ts';
import { dockerfileError } from './parse-error.ts';
import type { BerthError } from '../../oci/errors.ts';

export interface LineInput {
  text: string;
  line: number;
  endLine: number;
  column: number;
  /** How much of `text` is on the first physical line; columns are only given there. */
  firstLength?: number;
  heredocs: Heredoc[];
}

export const INSTRUCTIONS = ['add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir'] as const;

const FLAGS: Record<string, Record<string, FlagKind>> = {
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  add: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', exclude: 'strings', unpack: 'bool' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

export function parseInstruction(input: LineInput, file: string, escape: string): Instruction {
  const split = splitInstruction(input.text);
  const at = { file, line: input.line, column: input.column };
  const fail = (message: string, near?: string): BerthError => {
    const idx = near ? input.text.indexOf(near) : -1;
    const onFirstLine = idx >= 0 && idx < (input.firstLength ?? input.text.length);
    return dockerfileError({ ...at, column: onFirstLine ? input.column + idx : input.column }, message);
  };
  const name = split.keyword.toUpperCase();
  const base: Located = { line: input.line, endLine: input.endLine, column: input.column, original: input.text };
  const flags = (spec: Record<string, FlagKind> = {}): ParsedFlags => {
    try {
      return parseFlags(name, split.flags, spec);
    } catch (err) {
      if (err instanceof FlagError) throw fail(err.message, err.flag);
      throw err;
    }
  };
  const rest = split.rest;
  const json = (): { json: true; args: string[] } | { json: false } => {
    const parsed = parseJsonArgs(rest);
    if ('error' in parsed) throw fail(`${name}: ${parsed.error}`);
    return parsed;
  };
  const commandLine = (): CommandLine => {
    const j = json();
    if (j.json) return { args: j.args, shellForm: false };
    return { args: rest === '' ? [] : [rest], shellForm: true };
  };
  const list = (): { args: string[]; json: boolean } => {
    const j = json();
    return j.json ? { args: j.args, json: true } : { args: splitWhitespace(rest), json: false };
  };
  const exactlyOne = (): string => {
    if (rest === '') throw fail(`${name} requires exactly one argument`);
    return rest;
  };

  switch (split.keyword) {
    case 'from': {
      const f = flags(FLAGS.from);
      const args = splitWhitespace(rest);
      let stageName: string | undefined;
      if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
        stageName = args[2]!.toLowerCase();
        if (!STAGE_NAME_RE.test(stageName)) throw fail(`invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`, args[2]);
      } else if (args.length !== 1) {
        throw fail('FROM requires either one or three arguments: FROM image [AS name]');
      }
      return { ...base, kind: 'from', base: args[0]!, name: stageName, platform: f.strings.get('platform') };
    }
    case 'run': {
      const f = flags(FLAGS.run);
      const mounts = f.lists.get('mount') ?? [];
      for (const spec of mounts) checkMountSyntax(spec, (m) => fail(`RUN --mount: ${m}`, spec));
      const network = f.strings.get('network');
      if (network !== undefined && !['none', 'host', 'default'].includes(network)) throw fail(`RUN: unsupported network mode "${network}" (expected none, host or default)`, '--network');
      const security = f.strings.get('security');
      if (security !== undefined && !['insecure', 'sandbox'].includes(security)) throw fail(`RUN: unsupported security mode "${security}" (expected insecure or sandbox)`, '--security');
      const cmd = commandLine();
      return { ...base, kind: 'run', cmd, mounts, network, security, heredocs: cmd.shellForm ? input.heredocs : [] };
    }
    case 'cmd':
    case 'entrypoint': {
      flags();
      return { ...base, kind: split.keyword, cmd: commandLine() };
    }
    case 'shell': {
      flags();
      const j = json();
      if (!j.json) throw fail('SHELL requires the arguments to be in JSON form: SHELL ["executable", "parameters"]');
      if (j.args.length === 0) throw fail('SHELL requires at least one argument');
      return { ...base, kind: 'shell', shell: j.args };
    }
    case 'copy':
    case 'add': {
      const f = flags(FLAGS[split.keyword]);
      const { args, json: isJson } = list();
      if (args.length < 2) throw fail(`${name} requires at least two arguments, but only one was provided. Destination could not be determined`);
      const dest = args[args.length - 1]!;
      if (parseHeredocWord(dest)) throw fail(`${name} cannot accept a heredoc as a destination`, dest);
      const docs = new Map((isJson ? [] : input.heredocs).map((h) => [h.name, h]));
      const sources: string[] = [];
      const inline: InlineSource[] = [];
      for (const src of args.slice(0, -1)) {
        const h = isJson ? undefined : parseHeredocWord(src);
        if (h) {
          const doc = docs.get(h.name);
          const content = doc?.content ?? '';
          inline.push({ name: h.name, content: h.chomp ? chompHeredoc(content) : content, expand: h.expand });
        } else sources.push(src);
      }
      const common = {
        ...base,
        sources,
        dest,
        inline,
        chown: f.strings.get('chown'),
        chmod: f.strings.get('chmod'),
        link: f.bools.get('link') ?? false,
        exclude: f.lists.get('exclude') ?? [],
        json: isJson,
      };
      if (split.keyword === 'copy') {
        const from = f.strings.get('from');
        if (from !== undefined && /\$./.test(from)) throw fail("COPY --from doesn't support variable expansion: define an alias stage (FROM ${VAR} AS alias) and copy from it", '--from');
        return { ...common, kind: 'copy', from, parents: f.bools.get('parents') ?? false, keepGitDir: false };
      }
      return { ...common, kind: 'add', parents: false, checksum: f.strings.get('checksum'), keepGitDir: f.bools.get('keep-git-dir') ?? false, unpack: f.bools.get('unpack') };
    }
    case 'env':
    case 'label': {
      flags();
      return { ...base, kind: split.keyword, pairs: keyValues(rest, name, escape, fail) };
    }
    case 'arg': {
      flags();
      const words = splitWordsKeepingQuotes(rest, escape);
      if (words.length === 0) throw fail('ARG requires at least one argument');
      const args = words.map((w) => {
        const eq = w.indexOf('=');
        if (eq === 0) throw fail('ARG names can not be blank', w);
        return eq > 0 ? { key: w.slice(0, eq), value: w.slice(eq + 1) } : { key: w };
      });
      return { ...base, kind: 'arg', args };
    }
    case 'workdir':
      flags();
      return { ...base, kind: 'workdir', path: exactlyOne() };
    case 'user':
      flags();
      return { ...base, kind: 'user', user: exactlyOne() };
    case 'stopsignal':
      flags();
      return { ...base, kind: 'stopsignal', signal: exactlyOne() };
    case 'maintainer':
      flags();
      return { ...base, kind: 'maintainer', maintainer: exactlyOne() };
    case 'expose': {
      flags();
      const ports = splitWhitespace(rest);
      if (ports.length === 0) throw fail('EXPOSE requires at least one argument');
      return { ...base, kind: 'expose', ports };
    }
    case 'volume': {
      flags();
      const { args } = list();
      if (args.length === 0) throw fail('VOLUME requires at least one argument');
      const volumes = args.map((v) => v.trim());
      if (volumes.some((v) => v === '')) throw fail('VOLUME specified can not be an empty string');
      return { ...base, kind: 'volume', volumes };
    }
    case 'healthcheck':
      // Like docker, flags are read only for HEALTHCHECK CMD; with NONE they are ignored.
      return { ...base, kind: 'healthcheck', health: healthcheck(rest, () => flags(FLAGS.healthcheck), fail) };
    case 'onbuild': {
      flags();
      if (rest === '') throw fail('ONBUILD requires at least one argument');
      const sub = splitInstruction(rest);
      if (sub.keyword === 'onbuild') throw fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (sub.keyword === 'maintainer' || sub.keyword === 'from') throw fail(`${sub.keyword.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      const offset = input.text.indexOf(rest);
      const trigger = parseInstruction({ ...input, text: rest, column: input.column + Math.max(offset, 0), firstLength: (input.firstLength ?? input.text.length) - Math.max(offset, 0) }, file, escape);
      let expression = rest;
      for (const h of input.heredocs) expression += `\n${h.content}${h.name}`;
      return { ...base, kind: 'onbuild', expression, trigger };
    }
    default: {
      const known = INSTRUCTIONS.map((i) => i.toUpperCase());
      const near = closest(name, known);
      throw fail(`unknown instruction: ${split.written}${near ? ` (did you mean ${near}?)` : ''} (expected one of ${known.join(', ')})`);
    }
  }
}

function checkMountSyntax(spec: string, fail: (message: string) => BerthError): void {
  try {
    if (!spec.includes('$')) {
      parseRunMount(spec);
      return;
    }
    // Values with variables are checked when planned; `from` must be literal.
    for (const field of csvFields(spec)) {
      if (/^from=.*\$./i.test(field)) throw new MountError("'from' doesn't support variable expansion, define alias stage instead");
    }
  } catch (err) {
    if (err instanceof MountError) throw fail(err.message);
    throw err;
  }
}

/** `ENV a=b c="d e"` or the legacy `ENV a b c` (key, then the rest of the line as the value). */
function keyValues(rest: string, name: string, escape: string, fail: (m: string, near?: string) => BerthError): KeyValue[] {
  const words = splitWordsKeepingQuotes(rest, escape);
  if (words.length === 0) throw fail(`${name} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    const m = /[\t\v\f\r ]+/.exec(rest);
    if (!m) throw fail(`${name} must have two arguments: ${name} key=value`);
    return [{ key: rest.slice(0, m.index), value: rest.slice(m.index + m[0].length), legacy: true }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw fail(`Syntax error - can't find = in "${w}". Must be of the form: name=value`, w);
    if (eq === 0) throw fail(`${name} names can not be blank`, w);
    return { key: w.slice(0, eq), value: w.slice(eq + 1), legacy: false };
  });
}

function healthcheck(rest: string, readFlags: () => ParsedFlags, fail: (m: string, near?: string) => BerthError): HealthConfig {
  const m = /^(\S+)\s*/.exec(rest);
  if (!m) throw fail('HEALTHCHECK requires at least one argument');
  const type = m[1]!.toUpperCase();
  const after = rest.slice(m[0].length);
  const health: HealthConfig = { test: [], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === 'NONE') {
    if (after !== '') throw fail('HEALTHCHECK NONE takes no arguments');
    health.test = ['NONE'];
    return health;
  }
  const f = readFlags();
  if (type !== 'CMD') throw fail(`Unknown type "${m[1]}" in HEALTHCHECK (try CMD)`, m[1]);
  const parsed = parseJsonArgs(after);
  if ('error' in parsed) throw fail(`HEALTHCHECK: ${parsed.error}`);
  const args = parsed.json ? parsed.args : after === '' ? [] : [after];
  if (args.length === 0) throw fail('Missing command after HEALTHCHECK CMD');
  health.test = parsed.json ? ['CMD', ...args] : ['CMD-SHELL', ...args];
  const durations: [keyof HealthConfig, string][] = [['interval', 'interval'], ['timeout', 'timeout'], ['startPeriod', 'start-period'], ['startInterval', 'start-interval']];
  for (const [field, flag] of durations) {
    const v = f.strings.get(flag);
    if (v === undefined || v === '') continue;
    const ns = parseGoDuration(v);
    if (ns === undefined) throw fail(`HEALTHCHECK: invalid duration --${flag}=${v} (expected a number with a unit: 30s, 1m30s, 500ms)`, `--${flag}`);
    if (ns !== 0 && ns < 1e6) throw fail(`HEALTHCHECK: Interval "${flag}" cannot be less than 1ms`, `--${flag}`);
    (health[field] as number) = ns;
  }
  const retries = f.strings.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries) || Math.abs(Number(retries)) > 2 ** 31 - 1) throw fail(`HEALTHCHECK: invalid --retries=${retries} (expected a whole number)`, '--retries');
    if (Number(retries) < 0) throw fail(`HEALTHCHECK: --retries cannot be negative (${retries})`, '--retries');
    health.retries = Number(retries);
  }
  return health;
}

/** The closest known word by edit distance, when it is close enough to be a likely typo. */
function closest(word: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word, o);
    if (d < bestD) [best, bestD] = [o, d];
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
