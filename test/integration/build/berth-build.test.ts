// `berth build` end to end on the real kernel: Dockerfiles over the busybox test image (pulled from
// a local registry), RUN in berth's runtime, the layers it writes, COPY and ADD variants, stages,
// the cache, a failing RUN, reproducible digests, --push and --output.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tarArchive } from '../../../src/image/tar-writer.ts';
import { BuildEnv, describeEntries, inspect, layerEntries } from '../../fixtures/build/build-env.ts';
import { treeBytes as du } from '../../../src/image/tree-size.ts';
import { CAP_NET_BIND_SERVICE_EP } from '../../fixtures/image/test-image.ts';

let env: BuildEnv;
let root: string;
let http: Server;
let httpUrl: string;
const served = 'downloaded over http\n';

before(async () => {
  env = await BuildEnv.start();
  root = env.store();
  http = createServer((req, res) => {
    if (req.url === '/files/tool.txt') {
      res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end(served);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
});

after(async () => {
  await new Promise((r) => http?.close(r));
  await env?.stop();
});

const build = (ctx: string, ...args: string[]) => env.berth(root, ['build', '--progress', 'plain', ...args, ctx]);
const okBuild = (ctx: string, ...args: string[]) => {
  const r = build(ctx, ...args);
  assert.equal(r.code, 0, `build failed:\n${r.stderr}`);
  return r;
};
const run = (image: string, ...cmd: string[]) => env.ok(root, ['run', '--rm', image, ...cmd]).stdout;

/** The entries of the image's layers that the build added (after the 3 base layers). */
async function builtLayers(image: string): Promise<string[][]> {
  const info = inspect(env, root, image);
  const out: string[][] = [];
  for (const l of info.layers.slice(3)) out.push(describeEntries(await layerEntries(root, l.digest)));
  return out;
}

test('RUN: written and deleted files become a layer with whiteouts, opaque directories and hardlinks', async () => {
  const ctx = env.context('run-layers', {
    Dockerfile: `FROM $BASE
RUN echo one > /new.txt && rm /keep && rm -rf /data && mkdir /data && echo fresh > /data/f && ln /data/f /data/hl && mkdir -p /deep/er && chmod 0750 /deep/er
RUN touch /bin/netcap && chown 1000:1000 /new.txt
CMD ["cat", "/new.txt"]
`,
  });
  okBuild(ctx, '-t', 'localhost/t/run:1');
  const [first, second] = await builtLayers('localhost/t/run:1');
  // In path order; a whiteout stands where the name it deletes would.
  assert.deepEqual(first, [
    'dir data/ 755 0:0',
    'file data/.wh..wh..opq 0 0:0',
    'file data/f 644 0:0',
    'hardlink data/hl 644 0:0 -> data/f',
    'dir deep/ 755 0:0',
    'dir deep/er/ 750 0:0',
    'file .wh.keep 0 0:0',
    'file new.txt 644 0:0',
  ]);
  assert.deepEqual(second, ['dir bin/ 755 0:0', 'file bin/netcap 755 0:0', 'file new.txt 644 1000:1000']);
  // The copied-up file keeps its capability in the layer (a pax xattr record).
  const info = inspect(env, root, 'localhost/t/run:1');
  const netcap = (await layerEntries(root, info.layers[4]!.digest)).find((h) => h.name === 'bin/netcap')!;
  assert.deepEqual(netcap.xattrs.get('security.capability'), CAP_NET_BIND_SERVICE_EP);
  assert.equal(run('localhost/t/run:1'), 'one\n');
  assert.equal(run('localhost/t/run:1', 'sh', '-c', 'ls /data; [ -e /keep ] || echo gone; stat -c "%i" /data/f /data/hl | uniq | wc -l'), 'f\nhl\ngone\n1\n');
});

test('RUN: network none by default, stdin is empty, the image env and user apply; mount points stay out of the layer', async () => {
  const ctx = env.context('run-env', {
    Dockerfile: `FROM $BASE
ENV GREETING=hi
USER app
RUN echo "$GREETING $(id -u):$(id -g) $HOME"; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; cat || true
USER root
RUN --mount=type=tmpfs,target=/scratch/tmp echo x > /scratch/tmp/y
RUN --mount=type=cache,target=/home/app/.cache,id=berth-test-home echo x > /home/app/.cache/y
`,
  });
  const r = okBuild(ctx, '-t', 'localhost/t/env:1');
  assert.match(r.stderr, /#\d+ [\d.]+ hi 1000:1000 \/home\/app\n#\d+ [\d.]+ lo\n/);
  const layers = await builtLayers('localhost/t/env:1');
  assert.equal(layers.length, 0, `no RUN changed the filesystem (mount points and unchanged copied-up directories left out): ${JSON.stringify(layers)}`);
  // --network host: the RUN sees this machine's interfaces; RUN --network=host needs it.
  // Other work on the host may add or remove interfaces meanwhile: those present both before and
  // after the build must all be seen by it.
  const hostIfaces = (): string[] => readFileSync('/proc/net/dev', 'utf8').trim().split('\n').slice(2).map((l) => l.split(':')[0]!.trim());
  const hostCtx = env.context('run-host', { Dockerfile: "FROM $BASE\nRUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sed 's/^/if=/'\n" });
  const beforeBuild = hostIfaces();
  const hostNet = okBuild(hostCtx, '--no-cache', '--network', 'host', '-t', 'localhost/t/host:1');
  const seen = new Set([...hostNet.stderr.matchAll(/#\d+ [\d.]+ if=(\S+)\n/g)].map((m) => m[1]!));
  const steady = hostIfaces().filter((i) => beforeBuild.includes(i));
  assert.ok(steady.length > 1 && steady.every((i) => seen.has(i)), `the host's interfaces ${steady.join(' ')} in the RUN: ${[...seen].join(' ')}`);
  const asked = env.context('run-host-step', { Dockerfile: 'FROM $BASE\nRUN --network=host true\n' });
  assert.match(build(asked).stderr, /RUN --network=host needs the build to allow it: berth build --network host/);
});

test('RUN heredocs: a script for the shell, and a #! program', async () => {
  const ctx = env.context('heredoc', {
    Dockerfile: `FROM $BASE
RUN <<EOF
echo one > /one
echo two >> /one
EOF
RUN <<EOF
#!/bin/sh
echo "script as $0" > /two
EOF
`,
  });
  okBuild(ctx, '-t', 'localhost/t/heredoc:1');
  assert.equal(run('localhost/t/heredoc:1', 'cat', '/one', '/two'), 'one\ntwo\nscript as /dev/pipes/EOF\n');
});

test('COPY and ADD: files, directories, globs, --chown names, --chmod, heredocs, tar archives, URLs with checksums', async () => {
  const tgz = gzipSync(tarArchive([
    { name: 'pkg/', type: 'dir', mode: 0o755 },
    { name: 'pkg/bin/tool', type: 'file', mode: 0o755, uid: 1000, gid: 1000, data: 'tool\n' },
    { name: 'pkg/link', type: 'symlink', linkname: 'bin/tool' },
  ]));
  const sum = `sha256:${createHash('sha256').update(served).digest('hex')}`;
  const ctx = env.context('copy', {
    'a.txt': 'A\n',
    'b.txt': 'B\n',
    'c.md': 'C\n',
    'src/main.c': 'int main;\n',
    'src/lib/util.c': 'util\n',
    'src/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    'src/link': { link: 'main.c' },
    Dockerfile: `FROM $BASE
COPY a.txt /one/
COPY a.txt /renamed.txt
COPY *.txt /glob/
COPY src /srcdir
COPY --chown=app:staff --chmod=0640 b.txt /owned/b.txt
COPY --chown=1000 c.md /numeric/
COPY <<EOF /etc/inline.conf
key=value
EOF
ADD pkg.tgz /opt/
ADD --checksum=${sum} ${httpUrl}/files/tool.txt /dl/
`,
  });
  // a binary file written beside the text ones
  execFileSync('sh', ['-c', `cat > ${join(ctx, 'pkg.tgz')}`], { input: tgz });
  const built = await env.berthAsync(root, ['build', '-t', 'localhost/t/copy:1', ctx]);
  assert.equal(built.code, 0, built.stderr);
  const img = 'localhost/t/copy:1';
  const out = run(img, 'sh', '-c', [
    'cat /one/a.txt /renamed.txt',
    'ls /glob',
    'ls /srcdir /srcdir/lib',
    'stat -c "%n %a %u:%g" /srcdir/run.sh /owned /owned/b.txt /numeric/c.md /etc/inline.conf /opt/pkg/bin/tool /dl/tool.txt',
    'readlink /srcdir/link; readlink /opt/pkg/link',
    'cat /etc/inline.conf /dl/tool.txt',
    'stat -c %Y /dl/tool.txt',
  ].join('; '));
  assert.deepEqual(out.trim().split('\n'), [
    'A', 'A',
    'a.txt', 'b.txt',
    '/srcdir:', 'lib', 'link', 'main.c', 'run.sh', '', '/srcdir/lib:', 'util.c',
    '/srcdir/run.sh 755 0:0',
    '/owned 755 1000:50',
    '/owned/b.txt 640 1000:50',
    '/numeric/c.md 644 1000:1000',
    '/etc/inline.conf 644 0:0',
    '/opt/pkg/bin/tool 755 1000:1000',
    '/dl/tool.txt 600 0:0',
    'main.c', 'bin/tool',
    'key=value', served.trim(),
    String(Date.parse('2015-10-21T07:28:00Z') / 1000),
  ]);
  // A wrong checksum fails the step and names both digests.
  const bad = env.context('copy-bad-sum', { Dockerfile: `FROM $BASE\nADD --checksum=sha256:${'0'.repeat(64)} ${httpUrl}/files/tool.txt /dl/\n` });
  const r = await env.berthAsync(root, ['build', '-t', 'localhost/t/badsum:1', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /checksum mismatch: expected sha256:0{64}, got sha256:[0-9a-f]{64}/);
});

test('multi-stage: COPY --from a stage and an image, --target builds only what the target needs, independent stages run together', async () => {
  // Stages "one" and "two" wait for each other through a shared cache mount: run one after the
  // other, each would give up and write "alone".
  const sync = `berth-test-sync-${process.pid}-${Date.now()}`;
  const meet = (me: string, other: string): string =>
    `RUN --mount=type=cache,target=/sync,id=${sync} echo > /sync/${me}; i=0; while [ ! -e /sync/${other} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; if [ -e /sync/${other} ]; then echo together; else echo alone; fi > /${me}`;
  const ctx = env.context('stages', {
    Dockerfile: `FROM $BASE AS one
${meet('one', 'two')}
FROM $BASE AS two
${meet('two', 'one')}
FROM $BASE AS broken
RUN exit 9
FROM $BASE
COPY --from=one /one /from-one
COPY --from=two /two /from-two
COPY --from=$BASE /etc/motd /motd
`,
  });
  const r = okBuild(ctx, '-t', 'localhost/t/stages:1');
  assert.doesNotMatch(r.stderr, /exit 9/, 'the broken stage is not needed');
  assert.equal(run('localhost/t/stages:1', 'cat', '/from-one', '/from-two', '/motd'), 'together\ntogether\nhello from layer 3\n');
  const t = okBuild(ctx, '--target', 'two', '-t', 'localhost/t/stages:two');
  assert.doesNotMatch(t.stderr, /\[one /);
  assert.match(t.stderr, /CACHED/);
  assert.equal(run('localhost/t/stages:two', 'cat', '/two'), 'together\n');
});

test('cache: a rebuild prints CACHED and runs nothing (a cache mount counts the runs); --no-cache runs again; a changed file reruns from its COPY on', async () => {
  const ctx = env.context('cache', {
    'app.txt': 'v1\n',
    Dockerfile: `FROM $BASE
RUN --mount=type=cache,target=/cache,id=berth-test-runs echo ran >> /cache/runs; echo first > /first
COPY app.txt /app.txt
RUN --mount=type=cache,target=/cache,id=berth-test-runs echo ran >> /cache/runs; cat /app.txt > /after
`,
  });
  const count = env.context('cache-count', { Dockerfile: `FROM $BASE\nRUN --mount=type=cache,target=/cache,id=berth-test-runs wc -l < /cache/runs > /count\n` });
  const runs = (tag: string): number => {
    okBuild(count, '--no-cache', '-t', tag);
    return Number(run(tag, 'cat', '/count').trim());
  };
  const first = okBuild(ctx, '-t', 'localhost/t/cache:1');
  assert.equal(runs('localhost/t/count:1'), 2);
  const again = okBuild(ctx, '-t', 'localhost/t/cache:1');
  assert.equal((again.stderr.match(/^#\d+ CACHED$/gm) ?? []).length, 3, again.stderr);
  assert.equal(again.stdout, first.stdout, 'a fully cached rebuild gives the same image');
  assert.equal(runs('localhost/t/count:2'), 2, 'nothing ran');
  const noCache = okBuild(ctx, '--no-cache', '-t', 'localhost/t/cache:1');
  assert.doesNotMatch(noCache.stderr, /CACHED/);
  assert.equal(runs('localhost/t/count:3'), 4);
  execFileSync('sh', ['-c', `echo v2 > ${join(ctx, 'app.txt')}`]);
  const changed = okBuild(ctx, '-t', 'localhost/t/cache:1');
  assert.equal((changed.stderr.match(/^#\d+ CACHED$/gm) ?? []).length, 1, changed.stderr);
  assert.equal(run('localhost/t/cache:1', 'cat', '/after'), 'v2\n');
  assert.equal(runs('localhost/t/count:4'), 5);

  // a plain prune leaves the build cache alone
  env.ok(root, ['rmi', 'localhost/t/cache:1']);
  env.ok(root, ['image', 'prune']);
  assert.equal((okBuild(ctx, '-t', 'localhost/t/cache:1').stderr.match(/^#\d+ CACHED$/gm) ?? []).length, 3);
  // prune --build-cache drops the records (the next build runs everything) and says what it freed
  const before = du(root);
  const pruned = env.ok(root, ['image', 'prune', '--build-cache']).stdout;
  const freed = du(root) - before;
  assert.match(pruned, /Deleted \d+ build cache records/);
  const m = /Total reclaimed space: ([\d.]+)(B|kB|MB|GB)/.exec(pruned)!;
  const reported = Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B'];
  // What the store's directory lost on disk, give or take the metadata database and rounding.
  assert.ok(Math.abs(reported + freed) <= Math.max(64 * 1024, 0.1 * reported), `reported ${reported}, the store shrank by ${-freed}`);
  assert.doesNotMatch(okBuild(ctx, '-t', 'localhost/t/cache:1').stderr, /CACHED/);
});

test('a failing RUN shows its exit code and last output, stops the build and tags nothing; nothing is left mounted', async () => {
  const ctx = env.context('fail', {
    Dockerfile: `FROM $BASE
RUN echo before > /before
RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line-$i; done; exit 42
RUN echo never
`,
  });
  const r = build(ctx, '-t', 'localhost/t/fail:1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /did not complete successfully: exit code: 42/);
  assert.match(r.stderr, /line-12\n------/);
  assert.doesNotMatch(r.stderr, /echo never/);
  assert.doesNotMatch(env.ok(root, ['images']).stdout, /t\/fail/);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(root, 'tmp')), false);
  assert.deepEqual(readdirSync(join(root, 'tmp')).filter((n) => n.startsWith('build-')), []);
});

test('SOURCE_DATE_EPOCH: two builds on clean stores give the same image digest', () => {
  const ctx = env.context('repro', {
    'data/x.txt': 'x\n',
    Dockerfile: `FROM $BASE
RUN mkdir -p /out && echo built > /out/file && ln -s file /out/link && rm /keep
COPY data /data/
LABEL built=yes
`,
  });
  const digests: string[] = [];
  const created: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    const store = env.store();
    const r = env.berth(store, ['build', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '-t', 'localhost/t/repro:1', ctx]);
    assert.equal(r.code, 0, r.stderr);
    digests.push(r.stdout.trim());
    created.push(inspect(env, store, 'localhost/t/repro:1').config.created);
    // a touched context file between the builds changes nothing either
    execFileSync('touch', [join(ctx, 'data/x.txt')]);
  }
  assert.equal(digests[0], digests[1]);
  assert.deepEqual(created, ['2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z']);
});

test('--push to a local registry; the pushed image runs with berth run from a clean store; --output writes an OCI layout tar', () => {
  const ctx = env.context('push', {
    Dockerfile: `FROM $BASE AS build
RUN echo compiled > /artifact
FROM $BASE
COPY --from=build /artifact /app/artifact
CMD ["cat", "/app/artifact"]
`,
  });
  const name = `${env.registry.host}/app/built:1`;
  const out = join(env.work, 'built-oci.tar');
  execFileSync('mv', [join(ctx, 'Dockerfile'), join(ctx, 'Build.dockerfile')]);
  const r = okBuild(ctx, '-f', join(ctx, 'Build.dockerfile'), '--pull', '--label', 'org.example.ci=yes', '-t', name, '--push', '--output', `type=oci,dest=${out}`);
  assert.match(r.stderr, /^pulling /m, '--pull pulls the base again');
  assert.equal((inspect(env, root, name).config.config.Labels as Record<string, string>)['org.example.ci'], 'yes');
  assert.match(r.stderr, new RegExp(`pushed ${name.replaceAll('.', '\\.')}@sha256:`));
  const other = env.store();
  env.ok(other, ['pull', name]);
  assert.equal(env.ok(other, ['run', '--rm', name]).stdout, 'compiled\n');
  assert.ok(statSync(out).size > 0);
  const listing = execFileSync('tar', ['tf', out], { encoding: 'utf8' });
  assert.match(listing, /^index\.json$/m);
  assert.match(listing, /^oci-layout$/m);
  const loaded = env.store();
  assert.match(env.ok(loaded, ['load', '-i', out]).stdout, /Loaded image/);
  assert.ok(existsSync(join(loaded, 'metadata.db')));
});
