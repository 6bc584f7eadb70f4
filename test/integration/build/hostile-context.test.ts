// Build contexts and Dockerfiles that try to reach the host: symlinks out of the context, `..`
// sources, .dockerignore'd files, a context tar with `..` entries, RUN steps and mounts that write
// outside the rootfs, destinations through symlinks. Nothing outside the build's own directories
// may change, and nothing the context hides may reach the image.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tarArchive } from '../../../src/image/tar-writer.ts';
import { listTree } from '../../support/tree.ts';
import { BuildEnv } from '../../fixtures/build/build-env.ts';

let env: BuildEnv;
let root: string;
/** A host directory no build may touch (outside the context and the store). */
let host: string;
let snapshot: () => string[];

before(async () => {
  env = await BuildEnv.start();
  root = env.store();
  host = join(env.work, 'host-only');
  mkdirSync(join(host, 'dir'), { recursive: true });
  writeFileSync(join(host, 'secret'), 'host secret\n');
  writeFileSync(join(host, 'dir', 'file'), 'host file\n');
  snapshot = () => listTree(host, (rel, _p, st) => `${rel} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
});

after(async () => {
  await env?.stop();
});

const build = (ctx: string, tag: string) => env.berth(root, ['build', '--progress', 'plain', '-t', tag, ctx]);
const run = (image: string, script: string) => env.berth(root, ['run', '--rm', image, 'sh', '-c', script]);

test('symlinks out of the context are never followed: a source through one is not found, COPY . keeps them as links', () => {
  const before = snapshot();
  const files = {
    'ok.txt': 'fine\n',
    escape: { link: host },
    'up/far': { link: '../../../../../../..' },
    'secret-link': { link: join(host, 'secret') },
  };
  const through = env.context('through-link', { ...files, Dockerfile: 'FROM $BASE\nCOPY escape/secret /stolen\n' });
  const r = build(through, 'localhost/h/through:1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not (found )?in the build context/);
  const direct = env.context('direct-link', { ...files, Dockerfile: 'FROM $BASE\nCOPY secret-link /stolen\n' });
  assert.match(build(direct, 'localhost/h/direct:1').stderr, /not (found )?in the build context/);
  const climb = env.context('climb-link', { ...files, Dockerfile: 'FROM $BASE\nCOPY up/far/ok.txt /ok.txt\n' });
  const c = build(climb, 'localhost/h/climb:1');
  assert.equal(c.code, 0, c.stderr);
  assert.equal(run('localhost/h/climb:1', 'cat /ok.txt').stdout, 'fine\n', 'a climbing link resolves inside the context');
  const all = env.context('all', { ...files, Dockerfile: 'FROM $BASE\nCOPY . /ctx/\n' });
  assert.equal(build(all, 'localhost/h/all:1').code, 0);
  const out = run('localhost/h/all:1', `readlink /ctx/escape; cat /ctx/escape/secret 2>&1 || echo unreadable; cat /ctx/secret-link 2>&1 || echo unreadable`);
  assert.equal(out.stdout.split('\n')[0], host);
  assert.doesNotMatch(out.stdout, /host secret/);
  assert.deepEqual(snapshot(), before);
});

test('COPY ../x is refused; .dockerignore exclusions and negations decide what COPY sees', () => {
  const up = env.context('dotdot', { Dockerfile: 'FROM $BASE\nCOPY ../host-only/secret /x\n' });
  const r = build(up, 'localhost/h/dotdot:1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /forbidden path outside the build context/);
  const ignored = {
    '.dockerignore': '*.secret\n!keep.secret\nbuild/\n!build/keep/**\n',
    'a.secret': 'hidden\n',
    'keep.secret': 'kept\n',
    'build/drop.o': 'drop\n',
    'build/keep/me.txt': 'me\n',
  };
  const all = env.context('ignore-all', { ...ignored, Dockerfile: 'FROM $BASE\nCOPY . /c/\n' });
  assert.equal(build(all, 'localhost/h/ignore:1').code, 0);
  assert.equal(run('localhost/h/ignore:1', 'cd /c && find . -type f | sort').stdout, './.dockerignore\n./Dockerfile\n./build/keep/me.txt\n./keep.secret\n');
  const named = env.context('ignore-named', { ...ignored, Dockerfile: 'FROM $BASE\nCOPY a.secret /x\n' });
  assert.match(build(named, 'localhost/h/named:1').stderr, /not in the build context \(or is excluded by .dockerignore\)/);
  const mounted = env.context('ignore-mount', { ...ignored, Dockerfile: 'FROM $BASE\nRUN --mount=type=bind,target=/ctx find /ctx -name "*.secret" | sort > /seen\n' });
  assert.equal(build(mounted, 'localhost/h/mounted:1').code, 0);
  assert.equal(run('localhost/h/mounted:1', 'cat /seen').stdout, '/ctx/keep.secret\n');
});

test('a context tar on stdin with .. entries is refused and writes nothing outside', () => {
  const before = snapshot();
  const tar = join(env.work, 'evil-context.tar');
  writeFileSync(tar, tarArchive([
    { name: 'Dockerfile', type: 'file', data: `FROM ${env.base}\nCOPY . /c/\n` },
    { name: '../../host-only/planted', type: 'file', data: 'planted\n' },
  ]));
  const r = env.berth(root, ['build', '-t', 'localhost/h/evil-tar:1', '-'], { stdinFile: tar });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /"\.\."/);
  assert.deepEqual(snapshot(), before);
  // A good tar on stdin builds.
  const good = join(env.work, 'good-context.tar');
  writeFileSync(good, tarArchive([
    { name: 'Dockerfile', type: 'file', data: `FROM ${env.base}\nCOPY hello /hello\n` },
    { name: 'hello', type: 'file', data: 'from stdin\n' },
  ]));
  const g = env.berth(root, ['build', '-t', 'localhost/h/stdin:1', '-'], { stdinFile: good });
  assert.equal(g.code, 0, g.stderr);
  assert.equal(run('localhost/h/stdin:1', 'cat /hello').stdout, 'from stdin\n');
});

test('RUN, its mounts and COPY destinations through symlinks write inside the rootfs only', () => {
  const before = snapshot();
  const ctx = env.context('writes', {
    escape: { link: host },
    'f.txt': 'f\n',
    Dockerfile: `FROM $BASE AS stage
RUN ln -s / /rootlink && ln -s ${host} /hostlink && ln -s ${host}/dir /out && mkdir -p ${host}/dir
FROM stage
RUN echo pwn > /../../../${host.slice(1)}/pwned && echo pwn > /hostlink/pwned2
RUN --mount=type=bind,target=/ctx,rw echo pwn > /ctx/escape/pwned3
RUN --mount=type=cache,target=/c,id=../../../../..${host} echo pwn > /c/pwned4
COPY f.txt /out/
COPY --from=stage /rootlink/etc/passwd /passwd-copy
`,
  });
  const r = build(ctx, 'localhost/h/writes:1');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(snapshot(), before, 'the host directory is untouched');
  // The writes that succeeded landed in the image, under the same names.
  const out = run('localhost/h/writes:1', `cat ${host}/pwned ${host}/pwned2 ${host}/pwned3 ${host}/dir/f.txt; head -1 /passwd-copy`);
  assert.equal(out.stdout, 'pwn\npwn\npwn\nf\nroot:x:0:0:root:/root:/bin/sh\n');
});
