// Cache keys change exactly when they should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/image/build/parse-dockerfile.ts';
import { planBuild, type PlanOptions } from '../../../src/image/build/plan-build.ts';
import { cacheKeys, contentNeeded, type CacheKeyInputs } from '../../../src/image/build/cache-key.ts';
import { sha256Of, type Digest } from '../../../src/oci/digest.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };
const D1 = sha256Of('content one');
const D2 = sha256Of('content two');
const IMG = sha256Of('image manifest');

function keysOf(text: string, opts: PlanOptions = {}, inputs: Partial<CacheKeyInputs> = {}): Digest[][] {
  const plan = planBuild(parseDockerfile(text), { platform: amd64, buildPlatform: amd64, baseImage: () => ({ config: {} }), ...opts });
  const contentDigests = new Map<string, Digest[]>();
  for (const s of plan.stages) for (const st of s.steps) if (contentNeeded(st)) contentDigests.set(st.id, [D1]);
  const keys = cacheKeys(plan, { imageDigests: new Map([['alpine', IMG], ['busybox', IMG]]), contentDigests, ...inputs });
  return plan.stages.map((s) => keys.get(s.index)!.steps);
}

const base = 'FROM alpine\nARG V=1\nENV A=1\nRUN echo one\nCOPY f /f\nRUN echo two\n';

test('the same Dockerfile and inputs give the same keys', () => {
  assert.deepEqual(keysOf(base), keysOf(base));
  assert.equal(new Set(keysOf(base)[0]).size, 5);
});

test('a change invalidates that step and every later one, never an earlier one', () => {
  const before = keysOf(base)[0]!;
  const changed = keysOf(base.replace('echo two', 'echo 2'))[0]!;
  assert.deepEqual(changed.slice(0, 4), before.slice(0, 4));
  assert.notEqual(changed[4], before[4]);
  const env = keysOf(base.replace('ENV A=1', 'ENV A=2'))[0]!;
  assert.deepEqual(env.slice(0, 1), before.slice(0, 1));
  for (let i = 1; i < 5; i++) assert.notEqual(env[i], before[i]);
});

test('substituted text, not written text: equal values give equal keys', () => {
  const a = keysOf('FROM alpine\nENV D=/app\nWORKDIR $D\n')[0]!;
  const b = keysOf('FROM alpine\nENV D=/app\nWORKDIR /app\n')[0]!;
  assert.equal(a[1], b[1]);
  const c = keysOf('FROM alpine\nARG D=/app\nWORKDIR $D\n')[0]!;
  const d = keysOf('FROM alpine\nARG D=/app\nWORKDIR $D\n', { buildArgs: { D: '/other' } })[0]!;
  assert.notEqual(c[1], d[1]);
});

test('build args: RUN sees every ARG in scope; other steps only the ones they use', () => {
  const text = 'FROM alpine\nARG USED=1\nARG OTHER=1\nLABEL l=$USED\nRUN true\n';
  const a = keysOf(text)[0]!;
  const b = keysOf(text, { buildArgs: { OTHER: '2' } })[0]!;
  assert.equal(a[0], b[0]); // ARG USED
  assert.notEqual(a[1], b[1]); // ARG OTHER itself changed
  const t2 = 'FROM alpine\nLABEL l=1\nARG OTHER=1\nRUN true\n';
  const c = keysOf(t2)[0]!;
  const d = keysOf(t2, { buildArgs: { OTHER: '2' } })[0]!;
  assert.equal(c[0], d[0]);
  assert.notEqual(c[2], d[2]);
  // Undeclared proxy args change nothing; declared ones are ordinary args.
  assert.deepEqual(keysOf(base, { buildArgs: { HTTP_PROXY: 'http://p:1' } }), keysOf(base));
  const declared = 'FROM alpine\nARG HTTP_PROXY\nRUN true\n';
  assert.notDeepEqual(keysOf(declared, { buildArgs: { HTTP_PROXY: 'http://p:1' } }), keysOf(declared));
});

test('COPY from the context: the caller-supplied content digest is part of the key', () => {
  const plan = planBuild(parseDockerfile(base), { platform: amd64, buildPlatform: amd64, baseImage: () => ({ config: {} }) });
  const step = plan.stages[0]!.steps[3]!;
  assert.equal(contentNeeded(step), 'context');
  const imageDigests = new Map([['alpine', IMG]]);
  const k1 = cacheKeys(plan, { imageDigests, contentDigests: new Map([[step.id, [D1]]]) }).get(0)!.steps;
  const k2 = cacheKeys(plan, { imageDigests, contentDigests: new Map([[step.id, [D2]]]) }).get(0)!.steps;
  assert.deepEqual(k1.slice(0, 3), k2.slice(0, 3));
  assert.notEqual(k1[3], k2[3]);
  assert.notEqual(k1[4], k2[4]);
  assert.throws(() => cacheKeys(plan, { imageDigests, contentDigests: new Map() }), (e: unknown) => e instanceof BerthError && /no content digest for step 0:3 \(COPY on line 5\)/.test(e.message));
  assert.throws(() => cacheKeys(plan, { imageDigests: new Map(), contentDigests: new Map() }), /no digest for image alpine/);
});

test('the base image digest and the platform are part of every key', () => {
  const a = keysOf(base);
  assert.notDeepEqual(keysOf(base, {}, { imageDigests: new Map([['alpine', sha256Of('other')]]) }), a);
  assert.notDeepEqual(keysOf(base, { platform: { os: 'linux', architecture: 'arm64' } }), a);
});

test('stage sources: COPY --from a stage changes with that stage; an unrelated stage changes nothing', () => {
  const text = (lib: string, doc: string) => `FROM alpine AS lib\nRUN ${lib}\nFROM alpine AS doc\nRUN ${doc}\nFROM busybox\nCOPY --from=lib /l /l\n`;
  const a = keysOf(text('make lib', 'make doc'));
  const libChanged = keysOf(text('make lib2', 'make doc'));
  const docChanged = keysOf(text('make lib', 'make doc2'));
  assert.notEqual(libChanged[libChanged.length - 1]![0], a[a.length - 1]![0]);
  assert.equal(docChanged.length, 2); // doc is not needed by the target: pruned
  assert.deepEqual(docChanged[1], a[1]);
  // A stage FROM another continues its chain.
  const chain = keysOf('FROM alpine AS one\nRUN a\nFROM one\nRUN b\n');
  const direct = keysOf('FROM alpine\nRUN a\nRUN b\n');
  assert.equal(chain[1]![0], direct[0]![1]);
});

test('COPY --from an image and RUN --mount from= use the image digest', () => {
  const t = 'FROM alpine\nCOPY --from=busybox /bin/busybox /b\nRUN --mount=type=bind,from=busybox,target=/bb true\n';
  const a = keysOf(t);
  const b = keysOf(t, {}, { imageDigests: new Map([['alpine', IMG], ['busybox', sha256Of('new busybox')]]) });
  assert.notEqual(a[0]![0], b[0]![0]);
  assert.notEqual(a[0]![1], b[0]![1]);
});

test('a heredoc COPY needs no content digest: its text is in the key', () => {
  const plan = planBuild(parseDockerfile('FROM scratch\nCOPY <<EOF /f\nhello\nEOF\n'), { platform: amd64, buildPlatform: amd64 });
  assert.equal(contentNeeded(plan.stages[0]!.steps[0]!), undefined);
  const k = cacheKeys(plan, { imageDigests: new Map(), contentDigests: new Map() });
  const plan2 = planBuild(parseDockerfile('FROM scratch\nCOPY <<EOF /f\nhello!\nEOF\n'), { platform: amd64, buildPlatform: amd64 });
  assert.notEqual(k.get(0)!.final, cacheKeys(plan2, { imageDigests: new Map(), contentDigests: new Map() }).get(0)!.final);
});
