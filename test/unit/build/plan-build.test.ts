// The build plan: image config per instruction, substitution and ARG scoping, ONBUILD,
// --target pruning and levels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/image/build/parse-dockerfile.ts';
import { planBuild, type BaseImage, type PlanOptions } from '../../../src/image/build/plan-build.ts';
import type { BuildPlan, PlannedStage } from '../../../src/image/build/plan-types.ts';
import { DEFAULT_PATH } from '../../../src/image/build/image-config.ts';
import { baseImagesNeeded, imagesOf } from '../../../src/image/build/plan-images.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm = { os: 'linux', architecture: 'arm', variant: 'v7' };

function plan(text: string, opts: PlanOptions = {}): BuildPlan {
  return planBuild(parseDockerfile(text), { platform: amd64, buildPlatform: amd64, ...opts });
}
const last = (p: BuildPlan): PlannedStage => p.stages[p.stages.length - 1]!;
const images = (m: Record<string, BaseImage>) => (ref: string) => m[ref];

function planError(text: string, opts: PlanOptions = {}): BerthError {
  try {
    plan(text, opts);
  } catch (err) {
    assert.ok(err instanceof BerthError, String(err));
    return err;
  }
  assert.fail(`expected an error for:\n${text}`);
}

test('a FROM scratch stage: the image config every instruction produces', () => {
  const p = plan(`FROM scratch
ENV APP=/opt/app LEGACY_FORM="quoted value"
ENV REF=$APP/bin
LABEL org.opencontainers.image.title="demo" "multi word"="v $APP"
USER 1000:1000
WORKDIR $APP
WORKDIR sub/../data
EXPOSE 80 443/tcp 53/udp 9000-9002/sctp
VOLUME ["/data"]
VOLUME /logs $APP/cache
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD ["/bin/check"]
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
CMD echo "$APP"
ONBUILD RUN echo child
MAINTAINER Jane <jane@example.com>
`);
  const s = last(p);
  assert.deepEqual(s.config, {
    Env: [DEFAULT_PATH, 'APP=/opt/app', 'LEGACY_FORM=quoted value', 'REF=/opt/app/bin'],
    Labels: { 'org.opencontainers.image.title': 'demo', 'multi word': 'v /opt/app' },
    User: '1000:1000',
    WorkingDir: '/opt/app/data',
    ExposedPorts: { '80/tcp': {}, '443/tcp': {}, '53/udp': {}, '9000/sctp': {}, '9001/sctp': {}, '9002/sctp': {} },
    Volumes: { '/data': {}, '/logs': {}, '/opt/app/cache': {} },
    StopSignal: 'SIGQUIT',
    Healthcheck: { Test: ['CMD', '/bin/check'], Interval: 30e9, Timeout: 5e9, Retries: 2 },
    Shell: ['/bin/ash', '-eo', 'pipefail', '-c'],
    Cmd: ['/bin/ash', '-eo', 'pipefail', '-c', 'echo "$APP"'],
    ArgsEscaped: true,
    OnBuild: ['RUN echo child'],
  });
  assert.equal(s.author, 'Jane <jane@example.com>');
  assert.equal(s.base.kind, 'scratch');
  assert.deepEqual(p.warnings.map((w) => w.message), ['MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=...']);
});

test('ENV: each pair expands with the environment before the instruction', () => {
  const s = last(plan('FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n'));
  assert.deepEqual(s.config.Env, [DEFAULT_PATH, 'abc=bye', 'def=hello', 'ghi=bye']);
});

test('ENTRYPOINT resets CMD unless CMD was set in the same stage; the base image CMD is dropped', () => {
  const base = images({ app: { config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null } } });
  assert.equal(last(plan('FROM app\nENTRYPOINT ["/e"]\n', { baseImage: base })).config.Cmd, null);
  assert.deepEqual(last(plan('FROM app\nCMD ["x"]\nENTRYPOINT ["/e"]\n', { baseImage: base })).config.Cmd, ['x']);
  assert.deepEqual(last(plan('FROM app\nENTRYPOINT ["/e"]\nCMD ["y"]\n', { baseImage: base })).config.Cmd, ['y']);
  assert.deepEqual(last(plan('FROM app\nLABEL a=b\n', { baseImage: base })).config.Cmd, ['sh']);
  // A stage FROM a stage: CMD set in the parent stage is still reset by an ENTRYPOINT in the child.
  assert.equal(last(plan('FROM scratch AS a\nCMD ["x"]\nFROM a\nENTRYPOINT ["/e"]\n')).config.Cmd, null);
  assert.deepEqual(last(plan('FROM scratch\nENTRYPOINT echo hi\n')).config.Entrypoint, ['/bin/sh', '-c', 'echo hi']);
  assert.equal(last(plan('FROM scratch\nENTRYPOINT []\n')).config.Entrypoint, null);
});

test('the base image config is inherited; PATH kept when set, added when missing', () => {
  const base = images({ 'docker.io/library/app:1': { config: { Env: ['PATH=/usr/bin', 'LANG=C'], WorkingDir: '/srv', User: 'nobody', Labels: { a: '1' } }, author: 'upstream' } });
  const s = last(plan('FROM docker.io/library/app:1\nWORKDIR rel\nLABEL b=2\nENV X=$LANG\n', { baseImage: base }));
  assert.deepEqual(s.config.Env, ['PATH=/usr/bin', 'LANG=C', 'X=C']);
  assert.equal(s.config.WorkingDir, '/srv/rel');
  assert.equal(s.config.User, 'nobody');
  assert.deepEqual(s.config.Labels, { a: '1', b: '2' });
  assert.equal(s.author, 'upstream');
  assert.match(planError('FROM missing:1\n').message, /base image missing:1 \(linux\/amd64\) was not resolved/);
});

test('ARG scoping: global args only in FROM unless redeclared; --build-arg overrides; defaults expand', () => {
  const text = `ARG BASE=scratch
ARG VERSION=1.0
ARG FROMGLOBAL
FROM \${BASE} AS one
ENV BEFORE="[$VERSION]"
ARG VERSION
ENV AFTER="[$VERSION]"
ARG LOCAL=local-$VERSION
ENV L=$LOCAL
FROM scratch
ENV TWO="[$VERSION][$LOCAL]"
`;
  const p = plan(text, { target: 'one' });
  assert.deepEqual(p.stages.map((s) => s.index), [0]);
  assert.deepEqual(last(p).config.Env, [DEFAULT_PATH, 'BEFORE=[]', 'AFTER=[1.0]', 'L=local-1.0']);
  const q = plan(text, { buildArgs: { VERSION: '2.0', LOCAL: 'given' } });
  assert.deepEqual(q.stages.map((s) => s.index), [1]);
  assert.deepEqual(last(q).config.Env, [DEFAULT_PATH, 'TWO=[][]']);
  const r = plan(text, { target: 'one', buildArgs: { VERSION: '2.0', LOCAL: 'given' } });
  assert.deepEqual(last(r).config.Env, [DEFAULT_PATH, 'BEFORE=[]', 'AFTER=[2.0]', 'L=given']);
  assert.match(planError('ARG B\nFROM ${B}\n').message, /^Dockerfile:2:1: base name \(\$\{B\}\) should not be blank/);
});

test('ENV after ARG wins; an ARG after an ENV wins for the build but never enters the image Env', () => {
  const p = plan('FROM scratch\nARG V=arg\nENV V=env\nLABEL a=$V\nARG V=arg2\nLABEL b=$V\nRUN echo $V\n');
  const s = last(p);
  assert.deepEqual(s.config.Labels, { a: 'env', b: 'arg2' });
  assert.deepEqual(s.config.Env, [DEFAULT_PATH, 'V=env']);
  const run = s.steps[s.steps.length - 1]!.run!;
  assert.ok(run.env.includes('V=arg2'));
  // ARG without a value or a --build-arg does not hide an ENV.
  assert.deepEqual(last(plan('FROM scratch\nENV V=env\nARG V\nLABEL a=$V\n')).config.Labels, { a: 'env' });
});

test('automatic platform args: in FROM without ARG, in a stage after ARG', () => {
  const p = plan('FROM --platform=$BUILDPLATFORM scratch AS b\nARG TARGETPLATFORM TARGETARCH TARGETVARIANT BUILDOS TARGETSTAGE\nENV T=$TARGETPLATFORM A=$TARGETARCH V=$TARGETVARIANT B=$BUILDOS S=$TARGETSTAGE U=$TARGETOS\n', {
    platform: arm,
    buildPlatform: amd64,
  });
  const s = last(p);
  assert.deepEqual(s.platform, amd64);
  assert.deepEqual(s.config.Env, [DEFAULT_PATH, 'T=linux/arm/v7', 'A=arm', 'V=v7', 'B=linux', 'S=b', 'U=']);
  assert.deepEqual(last(plan('FROM scratch\n', { platform: arm })).platform, arm);
  assert.match(planError('FROM --platform=linux scratch\n').message, /invalid platform "linux"/);
});

test('proxy args reach RUN without ARG and stay out of its key text; unused build args warn', () => {
  const p = plan('FROM scratch\nARG USED\nRUN echo\n', { buildArgs: { HTTP_PROXY: 'http://proxy:3128', no_proxy: 'local', USED: 'u', NOTUSED: 'x', BUILDKIT_INLINE_CACHE: '1' } });
  const step = last(p).steps[1]!;
  assert.deepEqual(step.run!.proxyEnv, ['HTTP_PROXY=http://proxy:3128', 'no_proxy=local']);
  assert.ok(!step.text.includes('proxy'));
  assert.deepEqual(step.args, [['USED', 'u']]);
  assert.deepEqual(p.warnings.map((w) => w.message), ['one or more build-args [NOTUSED] were not consumed']);
});

test('RUN: shell form, exec form, SHELL, heredocs, mounts with variables, network', () => {
  const p = plan(`FROM scratch AS tools
FROM scratch
ARG CACHE=/root/.cache
WORKDIR /src
RUN echo $HOME
RUN ["/bin/echo", "$HOME"]
SHELL ["/bin/bash", "-c"]
RUN --mount=type=cache,target=$CACHE --mount=type=bind,from=tools,source=/bin,target=bin --network=none make
RUN <<EOF
echo one
EOF
RUN <<-EOT
\t#!/usr/bin/env python3
\tprint("hi")
EOT
RUN python3 <<EOF > /out
print(1)
EOF
RUN --mount=type=secret,id=tok cat /run/secrets/tok
`);
  const steps = last(p).steps;
  const run = (i: number) => steps[i]!.run!;
  assert.deepEqual(run(2).argv, ['/bin/sh', '-c', 'echo $HOME']);
  assert.deepEqual(run(3).argv, ['/bin/echo', '$HOME']);
  assert.deepEqual(run(5).argv, ['/bin/bash', '-c', 'make']);
  assert.equal(run(5).network, 'none');
  assert.deepEqual(run(5).mounts.map((m) => [m.type, m.target, m.id, m.sharing, m.readOnly, m.sourceRef]), [
    ['cache', '/root/.cache', '/root/.cache', 'shared', false, undefined],
    ['bind', '/src/bin', undefined, undefined, true, { kind: 'stage', stage: 0 }],
  ]);
  assert.deepEqual(last(p).deps, [0]);
  assert.deepEqual(run(6).argv, ['/bin/bash', '-c', 'echo one\n']);
  assert.deepEqual(run(7).argv, ['/dev/pipes/EOT']);
  assert.deepEqual(run(7).script, { path: '/dev/pipes/EOT', content: '#!/usr/bin/env python3\nprint("hi")\n' });
  assert.deepEqual(run(8).argv, ['/bin/bash', '-c', 'python3 <<EOF > /out\nprint(1)\nEOF']);
  assert.equal(run(9).mounts[0]!.type, 'secret');
  assert.deepEqual(p.warnings.map((w) => [w.line, w.message]), [[19, 'RUN --mount=type=secret: secret mounts are not supported by berth build yet; this RUN will fail']]);
  assert.equal(run(2).workdir, '/src');
  assert.ok(run(2).env.includes('CACHE=/root/.cache'));
});

test('COPY and ADD: sources and dest after substitution, from a stage, an index or an image', () => {
  const p = plan(`FROM scratch AS build
FROM scratch
ARG OWNER=app
ENV DIR=/srv
WORKDIR $DIR
COPY --chown=$OWNER:$OWNER --chmod=640 a.txt \${DIR}/b/ ./
COPY --from=build /out /bin/out
COPY --from=0 /o rel
COPY --from=alpine:3.19 /etc/os-release .
COPY <<EOF <<'RAW' conf/
dir=$DIR
EOF
raw=$DIR
RAW
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/x.tar.gz /x/
`);
  const steps = last(p).steps;
  const cp = (i: number) => steps[i]!.copy!;
  assert.deepEqual([cp(3).sources, cp(3).dest, cp(3).chown, cp(3).chmod, cp(3).from], [['a.txt', '/srv/b/'], '/srv/', 'app:app', 0o640, { kind: 'context' }]);
  assert.deepEqual([cp(4).from, cp(4).dest], [{ kind: 'stage', stage: 0 }, '/bin/out']);
  assert.deepEqual([cp(5).from, cp(5).dest], [{ kind: 'stage', stage: 0 }, '/srv/rel']);
  assert.deepEqual(cp(6).from, { kind: 'image', ref: 'alpine:3.19' });
  assert.deepEqual(cp(7).inline, [{ name: 'EOF', content: 'dir=/srv\n' }, { name: 'RAW', content: 'raw=$DIR\n' }]);
  assert.equal(cp(7).dest, '/srv/conf/');
  assert.equal(cp(8).add, true);
  assert.deepEqual(last(p).deps, [0]);
  assert.match(planError('FROM scratch\nCOPY https://example.com/x /x\n').message, /COPY: source can't be a URL/);
  assert.match(planError('FROM scratch\nADD --checksum=sha256:00 a b /x\n').message, /checksum can't be specified for multiple sources/);
  assert.match(planError('FROM scratch\nADD --checksum=sha256:00 local /x\n').message, /non-HTTP\(S\) sources/);
  assert.match(planError('FROM scratch\nCOPY --chmod=999 a /x\n').message, /invalid chmod parameter: '999'/);
  assert.match(planError('FROM scratch AS a\nCOPY --from=b /x /y\nFROM scratch AS b\n', { target: 'a' }).message, /cannot copy from stage "b", it needs to be defined before current stage a/);
  assert.match(planError('FROM scratch\nCOPY --from=5 /x /y\n').message, /invalid stage index 5/);
});

test('substitution errors and bad values are reported at the instruction', () => {
  assert.match(planError('FROM scratch\n\nENV A="${B:?must be set}"\n').message, /^Dockerfile:3:1: ENV: B: must be set/);
  assert.match(planError('FROM scratch\nEXPOSE 80/icmp\n').message, /^Dockerfile:2:1: EXPOSE: invalid proto: icmp/);
  assert.match(planError('FROM scratch\nEXPOSE 90000\n').message, /invalid port "90000"/);
  assert.match(planError('FROM scratch\nSTOPSIGNAL SIGNOPE\n').message, /STOPSIGNAL: invalid signal "SIGNOPE"/);
  assert.match(planError('FROM scratch\nRUN --mount=type=cache,target=/x,uid=$U x\n').message, /invalid value  for uid/);
  assert.match(planError('FROM scratch\nLABEL a=${b\n').message, /missing '}'/);
  assert.equal(last(plan('FROM scratch\nSTOPSIGNAL 9\nSTOPSIGNAL term\n')).config.StopSignal, 'term');
});

test('ONBUILD: a base image trigger runs first in the child, can add a dependency, and is not passed on', () => {
  const base = images({ 'onbuild-base': { config: { Env: ['PATH=/bin'], OnBuild: ['COPY --from=assets /a /a', 'ENV FROM_TRIGGER=$HOME'] } } });
  const text = 'FROM scratch AS assets\nFROM scratch AS unrelated\nFROM onbuild-base\nENV HOME=/h\nONBUILD RUN echo grandchild\n';
  const p = plan(text, { baseImage: base });
  const s = last(p);
  assert.deepEqual(p.stages.map((x) => x.index), [0, 2]); // the trigger's COPY --from pulled in "assets"
  assert.deepEqual(s.deps, [0]);
  assert.deepEqual(s.steps.map((x) => [x.instruction.kind, x.onbuild]), [['copy', true], ['env', true], ['env', false], ['onbuild', false]]);
  assert.deepEqual(s.config.OnBuild, ['RUN echo grandchild']);
  assert.deepEqual(s.config.Env, ['PATH=/bin', 'FROM_TRIGGER=', 'HOME=/h']);
  // ONBUILD in a stage applies to a stage FROM it.
  const q = last(plan('FROM scratch AS parent\nONBUILD LABEL from=parent\nFROM parent\nLABEL own=1\n'));
  assert.deepEqual(q.config.Labels, { from: 'parent', own: '1' });
  assert.equal(q.config.OnBuild, undefined);
  assert.deepEqual(q.steps.map((x) => x.onbuild), [true, false]);
});

test('--target pruning and levels of stages that can build in parallel', () => {
  const text = `FROM scratch AS base
FROM base AS deps
FROM scratch AS assets
FROM deps AS build
COPY --from=assets /a /a
RUN --mount=type=cache,target=/c,from=tools true
FROM scratch AS tools
FROM scratch AS docs
FROM build AS test
FROM base AS final
COPY --from=build /out /out
COPY --from=docs /d /d
`;
  // tools is defined after build: a mount from=tools needs it earlier.
  assert.match(planError(text).message, /cannot copy from stage "tools", it needs to be defined before current stage build/);
  const fixed = text.replace('FROM scratch AS tools\n', '').replace('FROM scratch AS base\n', 'FROM scratch AS base\nFROM scratch AS tools\n');
  const p = plan(fixed);
  const names = (ids: number[]) => ids.map((i) => p.stages.find((s) => s.index === i)!.name);
  assert.deepEqual(names(p.stages.map((s) => s.index)), ['base', 'tools', 'deps', 'assets', 'build', 'docs', 'final']);
  assert.deepEqual(p.levels.map(names), [['base', 'tools', 'assets', 'docs'], ['deps'], ['build'], ['final']]);
  const t = plan(fixed, { target: 'build' });
  assert.deepEqual(t.stages.map((s) => s.name), ['base', 'tools', 'deps', 'assets', 'build']);
  assert.deepEqual(t.levels.map((l) => l.length), [3, 1, 1]);
  assert.deepEqual(plan(fixed, { target: 'DOCS' }).stages.map((s) => s.name), ['docs']);
  assert.match(planError(fixed, { target: 'nope' }).message, /target stage "nope" could not be found \(stages: base, tools, deps, assets, build, docs, test, final\)/);
  // FROM a name defined later is an image, not a stage.
  const later = plan('FROM later AS first\nFROM scratch AS later\n', { target: 'first', baseImage: images({ later: { config: {} } }) });
  assert.deepEqual(later.stages[0]!.base, { kind: 'image', ref: 'later' });
});

test('history lines like BuildKit writes them', () => {
  const s = last(plan('FROM scratch\nARG A=1\nENV E=x\nRUN echo $A\nCOPY f /f\nCMD ["a", "b"]\nWORKDIR /w\n'));
  assert.deepEqual(s.steps.map((x) => [x.createdBy, x.layer]), [
    ['ARG A=1', false],
    ['ENV E=x', false],
    ['RUN |1 A=1 /bin/sh -c echo $A # buildkit', true],
    ['COPY f /f # buildkit', true],
    ['CMD ["a" "b"]', false],
    ['WORKDIR /w', true],
  ]);
  const wd = last(plan('FROM scratch\nUSER app\nWORKDIR /w\nWORKDIR /\n')).steps;
  assert.deepEqual([wd[1]!.mkdir, wd[2]!.mkdir, wd[2]!.layer], [{ path: '/w', user: 'app' }, undefined, false]);
});

test('duplicate and reserved stage names: later references use the later stage, with warnings', () => {
  const p = plan('FROM scratch AS x\nLABEL which=first\nFROM scratch AS x\nLABEL which=second\nFROM x\nFROM scratch AS scratch\nCOPY --from=x /a /b\n', { target: 'scratch' });
  assert.deepEqual(p.stages.map((s) => s.index), [1, 3]);
  assert.deepEqual(last(p).deps, [1]);
  assert.deepEqual(p.warnings.map((w) => [w.line, w.message]), [
    [3, 'duplicate stage name "x": later references use this one'],
    [6, 'stage name "scratch" is reserved'],
  ]);
  assert.deepEqual(plan('FROM scratch AS x\nLABEL which=first\nFROM scratch AS x\nLABEL which=second\nFROM x\n').stages.map((s) => [s.index, s.config.Labels?.which]), [[1, 'second'], [2, 'second']]);
});

test('the images a build needs: FROM bases with their platforms, then every image the plan reads', () => {
  const parsed = parseDockerfile('ARG TAG=3.19\nFROM --platform=linux/arm64 alpine:${TAG} AS a\nFROM scratch AS unused\nFROM debian:12\nCOPY --from=busybox:1 /bin/busybox /b\nRUN --mount=type=bind,from=a,target=/a --mount=type=cache,target=/c,from=golang:1 true\n');
  assert.deepEqual(baseImagesNeeded(parsed, { platform: amd64, buildPlatform: amd64 }), [
    { ref: 'alpine:3.19', platform: { os: 'linux', architecture: 'arm64' } },
    { ref: 'debian:12', platform: amd64 },
  ]);
  const p = planBuild(parsed, { platform: amd64, buildPlatform: amd64, baseImage: () => ({ config: {} }) });
  assert.deepEqual(imagesOf(p), ['alpine:3.19', 'debian:12', 'busybox:1', 'golang:1']);
});
