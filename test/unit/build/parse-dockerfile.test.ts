// The Dockerfile parser: every instruction and option, and BuildKit's known parser edge cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/image/build/parse-dockerfile.ts';
import { heredocsInLine } from '../../../src/image/build/heredoc.ts';
import type { Instruction } from '../../../src/image/build/instructions.ts';
import { BerthError } from '../../../src/oci/errors.ts';

/** The one instruction after `FROM scratch`, without location fields. */
function only(body: string): Record<string, unknown> {
  const parsed = parseDockerfile(`FROM scratch\n${body}\n`);
  const ins = parsed.stages[0]!.instructions;
  assert.equal(ins.length, 1, body);
  return strip(ins[0]!);
}

function strip(ins: Instruction): Record<string, unknown> {
  const { line: _l, endLine: _e, column: _c, original: _o, ...fields } = ins;
  const rest: Record<string, unknown> = { ...fields };
  if (ins.kind === 'onbuild') rest.trigger = strip(ins.trigger);
  for (const k of Object.keys(rest)) if (rest[k] === undefined) delete rest[k];
  return rest;
}

function parseError(text: string): BerthError {
  try {
    parseDockerfile(text, 'Dockerfile');
  } catch (err) {
    assert.ok(err instanceof BerthError, String(err));
    assert.equal(err.kind, 'invalid-argument');
    return err;
  }
  assert.fail(`expected a parse error for:\n${text}`);
}

const copyDefaults = { inline: [], link: false, parents: false, exclude: [], keepGitDir: false, json: false };

const table: [string, Record<string, unknown>][] = [
  ['RUN echo hi', { kind: 'run', cmd: { args: ['echo hi'], shellForm: true }, mounts: [], heredocs: [] }],
  ['RUN ["echo", "hi"]', { kind: 'run', cmd: { args: ['echo', 'hi'], shellForm: false }, mounts: [], heredocs: [] }],
  ['RUN    [  "echo"  ,"a b"   ]  ', { kind: 'run', cmd: { args: ['echo', 'a b'], shellForm: false }, mounts: [], heredocs: [] }],
  ['RUN ["echo" "x"]', { kind: 'run', cmd: { args: ['["echo" "x"]'], shellForm: true }, mounts: [], heredocs: [] }],
  ['RUN [not json', { kind: 'run', cmd: { args: ['[not json'], shellForm: true }, mounts: [], heredocs: [] }],
  [
    'RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=1000 --network=none --security=insecure pip install x',
    { kind: 'run', cmd: { args: ['pip install x'], shellForm: true }, mounts: ['type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=1000'], network: 'none', security: 'insecure', heredocs: [] },
  ],
  ['RUN --mount=type=bind,from=build,source=/out,target=/in make', { kind: 'run', cmd: { args: ['make'], shellForm: true }, mounts: ['type=bind,from=build,source=/out,target=/in'], heredocs: [] }],
  ['RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=ssh --mount=type=tmpfs,target=/t,size=64m x', { kind: 'run', cmd: { args: ['x'], shellForm: true }, mounts: ['type=secret,id=tok,env=TOKEN', 'type=ssh', 'type=tmpfs,target=/t,size=64m'], heredocs: [] }],
  ['CMD ["/bin/app", "--flag"]', { kind: 'cmd', cmd: { args: ['/bin/app', '--flag'], shellForm: false } }],
  ['CMD echo $HOME', { kind: 'cmd', cmd: { args: ['echo $HOME'], shellForm: true } }],
  ['CMD []', { kind: 'cmd', cmd: { args: [], shellForm: false } }],
  ['ENTRYPOINT ["/entry"]', { kind: 'entrypoint', cmd: { args: ['/entry'], shellForm: false } }],
  ['SHELL ["/bin/bash", "-o", "pipefail", "-c"]', { kind: 'shell', shell: ['/bin/bash', '-o', 'pipefail', '-c'] }],
  ['COPY a b /dst/', { kind: 'copy', sources: ['a', 'b'], dest: '/dst/', ...copyDefaults }],
  ['COPY ["a b", "/d e"]', { kind: 'copy', sources: ['a b'], dest: '/d e', ...copyDefaults, json: true }],
  [
    'COPY --from=build --chown=${U}:${G} --chmod=0644 --link --parents --exclude=*.md --exclude=tmp src/ /app/',
    { kind: 'copy', sources: ['src/'], dest: '/app/', from: 'build', chown: '${U}:${G}', chmod: '0644', ...copyDefaults, link: true, parents: true, exclude: ['*.md', 'tmp'] },
  ],
  ['COPY --from=0 /a /b', { kind: 'copy', sources: ['/a'], dest: '/b', from: '0', ...copyDefaults }],
  [
    'ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a.tar /x',
    { kind: 'add', sources: ['https://example.com/a.tar'], dest: '/x', checksum: 'sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d', ...copyDefaults },
  ],
  ['ADD --keep-git-dir=true git@github.com:moby/buildkit.git /src', { kind: 'add', sources: ['git@github.com:moby/buildkit.git'], dest: '/src', ...copyDefaults, keepGitDir: true }],
  ['ENV A=1 B="two words" C=\'x y\' D=', { kind: 'env', pairs: [{ key: 'A', value: '1', legacy: false }, { key: 'B', value: '"two words"', legacy: false }, { key: 'C', value: "'x y'", legacy: false }, { key: 'D', value: '', legacy: false }] }],
  ['ENV LEGACY value with  spaces', { kind: 'env', pairs: [{ key: 'LEGACY', value: 'value with  spaces', legacy: true }] }],
  ['ENV A=a\\ b', { kind: 'env', pairs: [{ key: 'A', value: 'a\\ b', legacy: false }] }],
  ['LABEL "com.example.vendor"="ACME" version=1.0 description="multi\\ word"', { kind: 'label', pairs: [{ key: '"com.example.vendor"', value: '"ACME"', legacy: false }, { key: 'version', value: '1.0', legacy: false }, { key: 'description', value: '"multi\\ word"', legacy: false }] }],
  ['ARG A', { kind: 'arg', args: [{ key: 'A' }] }],
  ['ARG A=1 B=', { kind: 'arg', args: [{ key: 'A', value: '1' }, { key: 'B', value: '' }] }],
  ['WORKDIR /app/$SUB', { kind: 'workdir', path: '/app/$SUB' }],
  ['USER app:app', { kind: 'user', user: 'app:app' }],
  ['STOPSIGNAL SIGQUIT', { kind: 'stopsignal', signal: 'SIGQUIT' }],
  ['EXPOSE 80 443/tcp 53/udp 8000-8010', { kind: 'expose', ports: ['80', '443/tcp', '53/udp', '8000-8010'] }],
  ['VOLUME ["/data", "/logs"]', { kind: 'volume', volumes: ['/data', '/logs'] }],
  ['VOLUME /data /logs', { kind: 'volume', volumes: ['/data', '/logs'] }],
  ['HEALTHCHECK NONE', { kind: 'healthcheck', health: { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } }],
  [
    'HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1',
    { kind: 'healthcheck', health: { test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], interval: 30e9, timeout: 3e9, startPeriod: 90e9, startInterval: 500e6, retries: 3 } },
  ],
  ['HEALTHCHECK CMD ["/bin/check", "-q"]', { kind: 'healthcheck', health: { test: ['CMD', '/bin/check', '-q'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } }],
  ['ONBUILD COPY . /src', { kind: 'onbuild', expression: 'COPY . /src', trigger: { kind: 'copy', sources: ['.'], dest: '/src', ...copyDefaults } }],
  ['MAINTAINER Jane <jane@example.com>', { kind: 'maintainer', maintainer: 'Jane <jane@example.com>' }],
  ['run echo lower-case keyword', { kind: 'run', cmd: { args: ['echo lower-case keyword'], shellForm: true }, mounts: [], heredocs: [] }],
];

test('every instruction and option parses to the expected instruction', () => {
  for (const [body, expected] of table) assert.deepEqual(only(body), expected, body);
});

test('FROM: AS name, scratch, --platform, ARG before FROM', () => {
  const p = parseDockerfile('ARG BASE=alpine:3.19\nARG PLAT\nFROM --platform=$BUILDPLATFORM ${BASE} AS Builder\nFROM scratch\n');
  assert.deepEqual(p.globalArgs.map((a) => a.args), [[{ key: 'BASE', value: 'alpine:3.19' }], [{ key: 'PLAT' }]]);
  assert.equal(p.stages.length, 2);
  assert.deepEqual([p.stages[0]!.from.base, p.stages[0]!.name, p.stages[0]!.from.platform], ['${BASE}', 'builder', '$BUILDPLATFORM']);
  assert.equal(p.stages[1]!.from.base, 'scratch');
  assert.equal(p.stages[1]!.name, undefined);
});

test('directives: syntax, escape with backtick, check recorded; only at the top', () => {
  const p = parseDockerfile('# syntax=docker/dockerfile:1.7\n# check=skip=all\n# escape=`\nFROM scratch\nRUN dir c:\\ `\n  && echo done\n');
  assert.equal(p.syntax, 'docker/dockerfile:1.7');
  assert.equal(p.check, 'skip=all');
  assert.equal(p.escape, '`');
  assert.deepEqual(p.stages[0]!.instructions[0]!.kind === 'run' && p.stages[0]!.instructions[0]!.cmd.args, ['dir c:\\   && echo done']);
  // After a comment or a blank line, `# escape=` is a comment: the backslash still continues.
  for (const head of ['# hello\n# escape=`\n', '\n# escape=`\n', 'FROM scratch\n# escape=`\n']) {
    const q = parseDockerfile(`${head}${head.startsWith('FROM') ? '' : 'FROM scratch\n'}RUN a \\\n b\n`);
    assert.equal(q.escape, '\\', head);
    const run = q.stages[0]!.instructions[0]!;
    assert.ok(run.kind === 'run' && run.cmd.args[0] === 'a  b', head);
  }
  assert.match(parseError('# escape=\\\n# escape=`\nFROM scratch\n').message, /^Dockerfile:2:1: only one escape parser directive/);
  assert.match(parseError('# escape=x\nFROM scratch\n').message, /invalid escape token 'x'/);
  const other = parseDockerfile('#SYNTAX = a/b:1\nFROM scratch');
  assert.equal(other.syntax, 'a/b:1');
  assert.deepEqual(other.warnings.map((w) => w.message), ['# syntax=a/b:1: berth builds with its own Dockerfile frontend and does not run this one']);
  assert.deepEqual(parseDockerfile('# syntax=docker.io/docker/dockerfile:1\nFROM scratch').warnings, []);
});

test('continuations: comments and empty lines inside, escaped escape, whitespace kept', () => {
  const p = parseDockerfile('FROM scratch\nRUN echo a \\\n# a comment inside\n    # an indented comment\n\n  b \\\n\t\n  c\nRUN echo \\\\\nLABEL x=1\n');
  const [run, run2, label] = p.stages[0]!.instructions as [Instruction, Instruction, Instruction];
  assert.ok(run.kind === 'run');
  assert.deepEqual(run.cmd.args, ['echo a   b   c']);
  assert.deepEqual([run.line, run.endLine], [2, 8]);
  assert.equal(p.warnings.filter((w) => w.message.startsWith('empty continuation')).length, 1);
  // `echo \\` ends in an escaped escape: no continuation, so LABEL is its own instruction.
  assert.ok(run2.kind === 'run' && run2.cmd.args[0] === 'echo \\\\');
  assert.equal(label.kind, 'label');
  // A `#` inside an instruction is text, and a continuation at the end of the file just ends.
  const q = parseDockerfile('FROM scratch\nRUN echo # not a comment \\');
  const r = q.stages[0]!.instructions[0]!;
  assert.ok(r.kind === 'run' && r.cmd.args[0] === 'echo # not a comment');
});

test('CRLF line endings and a UTF-8 BOM', () => {
  const p = parseDockerfile('\uFEFFFROM scratch\r\nENV A=1 \\\r\n B=2\r\n');
  const env = p.stages[0]!.instructions[0]!;
  assert.ok(env.kind === 'env');
  assert.deepEqual(env.pairs.map((x) => [x.key, x.value]), [['A', '1'], ['B', '2']]);
});

test('heredocs: RUN, <<- tab stripping, quoted names, several on a line, COPY <<EOF', () => {
  const p = parseDockerfile(
    'FROM scratch\nRUN <<EOF\necho $HOME\n  EOF\nEOF\nRUN <<-EOT\n\tindented\n\tEOT\nRUN 3<<A cat /dev/fd/3 - <<"B"\na\nA\nb $X\nB\nCOPY <<-\'EOF\' <<X /etc/\n\tq $Y\n\tEOF\nx $Y\nX\nRUN ["sh", "-c", "<<EOF"]\nLABEL after=1\n',
  );
  const [r1, r2, r3, copy, json, label] = p.stages[0]!.instructions as Instruction[] as [Instruction, Instruction, Instruction, Instruction, Instruction, Instruction];
  assert.ok(r1.kind === 'run' && r2.kind === 'run' && r3.kind === 'run' && copy.kind === 'copy' && json.kind === 'run');
  assert.deepEqual(r1.heredocs, [{ name: 'EOF', chomp: false, expand: true, fd: 0, content: 'echo $HOME\n  EOF\n' }]);
  assert.deepEqual(r2.heredocs.map((h) => [h.name, h.chomp, h.content]), [['EOT', true, '\tindented\n']]);
  assert.deepEqual(r3.heredocs.map((h) => [h.name, h.fd, h.expand, h.content]), [['A', 3, true, 'a\n'], ['B', 0, false, 'b $X\n']]);
  assert.deepEqual(copy.inline, [{ name: 'EOF', content: 'q $Y\n', expand: false }, { name: 'X', content: 'x $Y\n', expand: true }]);
  assert.equal(copy.dest, '/etc/');
  assert.deepEqual(json.heredocs, []); // exec form opens no heredoc
  assert.equal(label.kind, 'label');
  assert.match(parseError('FROM scratch\nRUN <<EOF\necho\n').message, /^Dockerfile:2:1: unterminated heredoc <<EOF/);
  assert.match(parseError('FROM scratch\nCOPY a <<EOF\nx\nEOF\n').message, /COPY cannot accept a heredoc as a destination/);
});

test('ONBUILD of a heredoc keeps the body in its expression; forbidden triggers', () => {
  const p = parseDockerfile('FROM scratch\nONBUILD RUN <<EOF\necho hi\nEOF\n');
  const ob = p.stages[0]!.instructions[0]!;
  assert.ok(ob.kind === 'onbuild');
  assert.equal(ob.expression, 'RUN <<EOF\necho hi\nEOF');
  assert.match(parseError('FROM scratch\nONBUILD ONBUILD RUN x\n').message, /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/);
  assert.match(parseError('FROM scratch\nONBUILD FROM alpine\n').message, /FROM isn't allowed as an ONBUILD trigger/);
  assert.match(parseError('FROM scratch\nONBUILD MAINTAINER me\n').message, /MAINTAINER isn't allowed as an ONBUILD trigger/);
});

test('errors name file, line, column and what was expected', () => {
  const cases: [string, RegExp][] = [
    ['FROM scratch\n\nCOPY --form=x a b\n', /^Dockerfile:3:6: COPY: unknown flag --form \(expected one of --from, --chown, --chmod, --link, --parents, --exclude\)/],
    ['FROM scratch\n  RUNN echo\n', /^Dockerfile:2:3: unknown instruction: RUNN \(did you mean RUN\?\)/],
    ['FROM scratch\nCOPY \\\n  --bad=1 b c\n', /^Dockerfile:2:1: COPY: unknown flag --bad/],
    ['FROM scratch\nONBUILD COPY --bad=1 b c\n', /^Dockerfile:2:14: COPY: unknown flag --bad/],
    ['FROM scratch\nRUN --network=bridge x\n', /^Dockerfile:2:5: RUN: unsupported network mode "bridge" \(expected none, host or default\)/],
    ['FROM scratch\nRUN --mount=type=cache x\n', /RUN --mount: mount target must be specified/],
    ['FROM scratch\nRUN --mount=type=nfs,target=/x x\n', /unsupported mount type "nfs"/],
    ['FROM scratch\nRUN --mount=type=bind,target=/x,sharing=locked x\n', /invalid cache sharing set for bind mount/],
    ['FROM scratch\nRUN --mount=type=bind,target=/x,mode=0700 x\n', /mode not allowed for "bind" type mounts/],
    ['FROM scratch\nRUN --mount=type=cache,target=/x,from=$S x\n', /'from' doesn't support variable expansion/],
    ['FROM scratch\nRUN ["echo", 1]\n', /arrays must be comprised of strings only/],
    ['FROM scratch\nCOPY onlyone\n', /^Dockerfile:2:1: COPY requires at least two arguments/],
    ['FROM scratch\nCOPY --link=maybe a b\n', /expecting boolean value for flag --link, not: maybe/],
    ['FROM scratch\nCOPY --from a b\n', /missing a value on flag --from/],
    ['FROM scratch\nCOPY --from=a --from=b x y\n', /duplicate flag specified: --from/],
    ['FROM scratch\nCOPY --from=$STAGE a b\n', /COPY --from doesn't support variable expansion/],
    ['FROM scratch AS 1st\n', /invalid name for build stage: "1st"/],
    ['FROM a b\n', /FROM requires either one or three arguments/],
    ['RUN echo\n', /^Dockerfile:1:1: RUN before the first FROM/],
    ['# only a comment\n', /file with no instructions/],
    ['ARG A\n', /no build stage: expected a FROM/],
    ['FROM scratch\nSHELL /bin/bash -c\n', /SHELL requires the arguments to be in JSON form/],
    ['FROM scratch\nHEALTHCHECK --interval=5 CMD x\n', /invalid duration --interval=5/],
    ['FROM scratch\nHEALTHCHECK --interval=10us CMD x\n', /cannot be less than 1ms/],
    ['FROM scratch\nHEALTHCHECK --retries=-1 CMD x\n', /--retries cannot be negative/],
    ['FROM scratch\nHEALTHCHECK CMD\n', /Missing command after HEALTHCHECK CMD/],
    ['FROM scratch\nHEALTHCHECK RUN x\n', /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/],
    ['FROM scratch\nHEALTHCHECK NONE x\n', /HEALTHCHECK NONE takes no arguments/],
    ['FROM scratch\nENV A=1 B\n', /can't find = in "B"/],
    ['FROM scratch\nENV A\n', /ENV must have two arguments/],
    ['FROM scratch\nARG =x\n', /ARG names can not be blank/],
    ['FROM scratch\nWORKDIR\n', /WORKDIR requires exactly one argument/],
    ['FROM scratch\nVOLUME []\n', /VOLUME requires at least one argument/],
    ['FROM scratch\nEXPOSE\n', /EXPOSE requires at least one argument/],
    ['FROM scratch\nCMD --x=1 a\n', /CMD: unknown flag --x \(CMD takes no flags\)/],
  ];
  for (const [text, re] of cases) {
    const err = parseError(text);
    assert.match(err.message, re, text);
    assert.equal(err.where.path, 'Dockerfile');
  }
});

test('BuildKit testfiles: a real-world Dockerfile parses (docker/docker testfile shape)', () => {
  const text = `# A comment
FROM ubuntu:14.04
LABEL maintainer Tianon Gravi <admwiggin@gmail.com> (@tianon)

RUN apt-get update && apt-get install -y \\
	apparmor \\
	aufs-tools \\
	automake \\
	--no-install-recommends
ENV PATH /go/bin:$PATH
ENV GOPATH /go:/go/src/github.com/docker/docker/vendor
ENV DOCKER_CROSSPLATFORMS \\
	linux/386 linux/arm \\
	darwin/amd64 darwin/386
WORKDIR /go/src/github.com/docker/docker
ENV DOCKER_BUILDTAGS apparmor selinux
ENTRYPOINT ["hack/dind"]
COPY . /go/src/github.com/docker/docker
`;
  const p = parseDockerfile(text);
  const ins = p.stages[0]!.instructions;
  assert.deepEqual(ins.map((i) => i.kind), ['label', 'run', 'env', 'env', 'env', 'workdir', 'env', 'entrypoint', 'copy']);
  const run = ins[1]!;
  assert.ok(run.kind === 'run');
  assert.equal(run.cmd.args[0], 'apt-get update && apt-get install -y \tapparmor \taufs-tools \tautomake \t--no-install-recommends');
  const cross = ins[4]!;
  assert.ok(cross.kind === 'env');
  assert.deepEqual(cross.pairs, [{ key: 'DOCKER_CROSSPLATFORMS', value: 'linux/386 linux/arm \tdarwin/amd64 darwin/386', legacy: true }]);
});

test('heredoc names as BuildKit reads them: quotes anywhere turn off expansion, blanks after <<', () => {
  const names = (line: string) => heredocsInLine(line).map((h) => [h.name, h.expand, h.chomp, h.fd]);
  assert.deepEqual(names('RUN <<EOF'), [['EOF', true, false, 0]]);
  assert.deepEqual(names('RUN <<- EOF'), [['EOF', true, true, 0]]);
  assert.deepEqual(names('RUN << -EOF'), [['-EOF', true, false, 0]]);
  assert.deepEqual(names("RUN <<'EOF'"), [['EOF', false, false, 0]]);
  assert.deepEqual(names('RUN <<EO"F"'), [['EOF', false, false, 0]]);
  assert.deepEqual(names("RUN <<eo\\'f"), [["eo'f", true, false, 0]]);
  assert.deepEqual(names("RUN <<'e'o\\'f"), [["eo'f", false, false, 0]]);
  assert.deepEqual(names("RUN <<'one two'"), [['one two', false, false, 0]]);
  assert.deepEqual(names('RUN <<$EOF'), [['$EOF', true, false, 0]]);
  assert.deepEqual(names('RUN 4<<EOF <<EOF2'), [['EOF', true, false, 4], ['EOF2', true, false, 0]]);
  for (const none of ["RUN '<<EOF'", 'RUN "<<EOF"', 'RUN <<', 'RUN <EOF', 'RUN <<<EOF', "RUN <<'EOF"]) assert.deepEqual(names(none), [], none);
  const p = parseDockerfile('FROM scratch\nRUN <<  EOF\nEOF\nRUN <<  EOF  > foo\nbody\nEOF\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n');
  const [a, b, c] = p.stages[0]!.instructions as [Instruction, Instruction, Instruction];
  assert.ok(a.kind === 'run' && b.kind === 'run' && c.kind === 'copy');
  assert.deepEqual(a.heredocs.map((h) => [h.name, h.content]), [['EOF', '']]);
  assert.deepEqual(b.heredocs.map((h) => [h.name, h.content]), [['EOF', 'body\n']]);
  assert.deepEqual(c.inline, [{ name: 'X', content: 'Y\n', expand: true }, { name: 'Y', content: 'X\n', expand: true }]);
});

test('empty continuation lines warn (once per instruction); comment lines inside do not', () => {
  const p = parseDockerfile('FROM scratch\nRUN ok \\\n    continued\nRUN something \\\n\n    following \\\n\n    more\nRUN another \\\n\n    thing\nRUN plain \\\n# comment\n   after\nRUN indented \\\n    # indented comment\n    comment\n');
  assert.deepEqual(p.warnings.map((w) => [w.line, w.message]), [
    [4, 'empty continuation line in: RUN something     following     more'],
    [9, 'empty continuation line in: RUN another     thing'],
  ]);
  const runs = p.stages[0]!.instructions.map((i) => (i.kind === 'run' ? [i.cmd.args[0], i.line, i.endLine] : []));
  assert.deepEqual(runs, [['ok     continued', 2, 3], ['something     following     more', 4, 8], ['another     thing', 9, 11], ['plain    after', 12, 14], ['indented     comment', 15, 17]]);
});
