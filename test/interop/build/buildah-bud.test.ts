// berth's build plan against buildah bud: the image config of small FROM scratch Dockerfiles,
// what COPY puts where (with .dockerignore), and which steps a rebuild takes from the cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDockerfile } from '../../../src/image/build/parse-dockerfile.ts';
import { planBuild, type PlanOptions } from '../../../src/image/build/plan-build.ts';
import { cacheKeys, contentNeeded } from '../../../src/image/build/cache-key.ts';
import { walkContext } from '../../../src/image/build/context-walk.ts';
import { contextPath, digestSources } from '../../../src/image/build/context-digest.ts';
import type { BuildPlan } from '../../../src/image/build/plan-types.ts';
import type { BuildImageConfig } from '../../../src/image/build/image-config.ts';
import type { Digest } from '../../../src/oci/digest.ts';
import { listTree } from '../../support/tree.ts';
import { BuildahStore, type BuildahConfig } from './buildah-peer.ts';

let store: BuildahStore;
before(() => {
  store = new BuildahStore();
});
after(() => store?.remove());

const planOf = (ctx: string, opts: PlanOptions = {}): BuildPlan => planBuild(parseDockerfile(readFileSync(join(ctx, 'Dockerfile'), 'utf8')), opts);

/** The fields both tools write, in the shape `docker inspect` shows. */
function comparable(c: BuildImageConfig | BuildahConfig): Record<string, unknown> {
  const labels = { ...(c.Labels ?? {}) };
  delete labels['io.buildah.version'];
  const out: Record<string, unknown> = {
    Env: c.Env ?? [],
    // An empty list and none mean the same to a runtime (buildah writes [], BuildKit null).
    Cmd: c.Cmd && c.Cmd.length > 0 ? c.Cmd : null,
    Entrypoint: c.Entrypoint && c.Entrypoint.length > 0 ? c.Entrypoint : null,
    User: c.User ?? '',
    WorkingDir: c.WorkingDir ?? '',
    ExposedPorts: c.ExposedPorts ?? {},
    Volumes: c.Volumes ?? {},
    Labels: labels,
    StopSignal: c.StopSignal ?? '',
    Healthcheck: c.Healthcheck ?? null,
    OnBuild: c.OnBuild ?? null,
  };
  return out;
}

test('image config of a FROM scratch Dockerfile with every config instruction matches buildah', () => {
  const ctx = store.context('config', {
    Dockerfile: `FROM scratch
ARG V=1.0
ARG UNSET
ENV APP=/opt/app VERSION=$V
ENV LEGACY two words
LABEL version=$VERSION "two words"="a b" empty=""
LABEL multi.line="a \\
b"
USER 1000:1000
WORKDIR $APP
WORKDIR data
EXPOSE 80 53/udp 443/tcp
VOLUME ["/data"]
VOLUME /logs $APP/cache
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --retries=2 CMD ["/bin/check", "-q"]
ONBUILD RUN echo for children
MAINTAINER Jane Doe <jane@example.com>
ENTRYPOINT ["/bin/app"]
CMD ["--help"]
`,
  });
  for (const buildArgs of [{}, { V: '2.0' }] as Record<string, string>[]) {
    const tag = `localhost/berth-interop/config:${buildArgs.V ?? 'default'}`;
    // --no-cache: buildah 1.28 reuses its cache when only a --build-arg changed (see below).
    store.bud(ctx, tag, buildArgs, { noCache: true });
    const peer = store.inspect(tag);
    const plan = planOf(ctx, { buildArgs });
    const ours = plan.stages[plan.stages.length - 1]!;
    assert.deepEqual(comparable(ours.config), comparable(peer.config), JSON.stringify(buildArgs));
    assert.equal(ours.author, peer.author);
  }
});

test('CMD and ENTRYPOINT: shell form, SHELL, and the CMD reset when ENTRYPOINT is set', () => {
  const cases: Record<string, string> = {
    shell: 'FROM scratch\nCMD echo "$HOME" && ls\n',
    reset: 'FROM scratch AS base\nCMD ["base-cmd"]\nFROM base\nENTRYPOINT ["/entry"]\n',
    kept: 'FROM scratch\nCMD ["mine"]\nENTRYPOINT /entry --flag\n',
    emptyEntrypoint: 'FROM scratch\nENTRYPOINT []\nCMD ["x"]\n',
  };
  for (const [name, dockerfile] of Object.entries(cases)) {
    const ctx = store.context(`cmd-${name}`, { Dockerfile: dockerfile });
    const tag = `localhost/berth-interop/cmd-${name.toLowerCase()}`;
    store.bud(ctx, tag);
    const peer = store.inspect(tag).config;
    const ours = planOf(ctx).stages.at(-1)!.config;
    const fields = (c: BuildImageConfig | BuildahConfig) => {
      const { Cmd, Entrypoint } = comparable(c);
      return { Cmd, Entrypoint };
    };
    assert.deepEqual(fields(ours), fields(peer), name);
  }
});

test('COPY puts context files where the plan says, and .dockerignore excludes the same files', async () => {
  const ctx = store.context('copy', {
    Dockerfile: 'FROM scratch\nARG DEST=/srv\nWORKDIR /app\nCOPY file.txt ${DEST}/\nCOPY . tree/\nCOPY --chmod=0600 file.txt renamed\n',
    '.dockerignore': '# comment\n*.tmp\n**/*.log\nbuild\n!build/keep.txt\nnode_modules\n/Dockerfile\n',
    'file.txt': 'hello\n',
    'a.tmp': 'x',
    'sub/b.tmp': 'kept: *.tmp matches at the root only',
    'sub/deep/c.log': 'x',
    'sub/d.txt': 'd',
    'build/keep.txt': 'keep',
    'build/drop.txt': 'drop',
    'node_modules/m/index.js': 'x',
  });
  const tag = 'localhost/berth-interop/copy';
  store.bud(ctx, tag);
  const root = store.rootfs(tag);
  const plan = planOf(ctx);
  const steps = plan.stages[0]!.steps;
  const first = steps[2]!.copy!;
  assert.equal(first.dest, '/srv/');
  assert.equal(readFileSync(join(root, first.dest, 'file.txt'), 'utf8'), 'hello\n');
  assert.equal(steps[4]!.copy!.dest, '/app/renamed');
  assert.ok(existsSync(join(root, 'app/renamed')));

  const entries = await walkContext(ctx);
  const ours = entries.map((e) => `${e.type} ${e.path}`);
  const theirs = listTree(join(root, 'app/tree'), (rel, _p, st) => `${st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file'} ${rel}`);
  assert.deepEqual(ours, theirs);
  assert.ok(theirs.includes('file sub/b.tmp') && theirs.includes('file build/keep.txt') && !theirs.includes('file build/drop.txt'));
  assert.equal(contextPath('./sub/../file.txt'), 'file.txt');
});

test('a rebuild reuses exactly the steps whose berth cache key did not change', async () => {
  const files = {
    Dockerfile: 'FROM scratch\nARG V=1\nENV A=1\nCOPY file.txt /f\nLABEL l=1\nUSER 1000\nCOPY other.txt /o\nWORKDIR /w\nCMD ["x"]\n',
    'file.txt': 'one',
    'other.txt': 'other',
  };
  const variants: [string, Record<string, string>][] = [
    ['unchanged', files],
    ['label changed', { ...files, Dockerfile: files.Dockerfile.replace('LABEL l=1', 'LABEL l=2') }],
    ['copied file changed', { ...files, 'file.txt': 'two' }],
    ['last instruction changed', { ...files, Dockerfile: files.Dockerfile.replace('CMD ["x"]', 'CMD ["y"]') }],
    ['env changed', { ...files, Dockerfile: files.Dockerfile.replace('ENV A=1', 'ENV A=2') }],
  ];
  const keysFor = async (ctx: string): Promise<Digest[]> => {
    const plan = planOf(ctx);
    const entries = await walkContext(ctx, { digests: true });
    const contentDigests = new Map<string, Digest[]>();
    for (const st of plan.stages[0]!.steps) if (contentNeeded(st)) contentDigests.set(st.id, [digestSources(entries, st.copy!.sources)]);
    return cacheKeys(plan, { imageDigests: new Map(), contentDigests }).get(0)!.steps;
  };
  const baseCtx = store.context('cache-base', files);
  store.bud(baseCtx, 'localhost/berth-interop/cache');
  const baseKeys = await keysFor(baseCtx);
  for (const [name, variant] of variants) {
    // Each variant differs from the first build only; buildah's cache holds the earlier builds.
    const ctx = store.context('cache-base', variant);
    const { cached } = store.bud(ctx, 'localhost/berth-interop/cache');
    const keys = await keysFor(ctx);
    const unchanged = keys.map((k, i) => k === baseKeys[i]);
    assert.deepEqual(unchanged, cached, name);
  }
});

test('documented differences from buildah 1.28 (berth follows docker build)', () => {
  const ctx = store.context('diff', { Dockerfile: 'FROM scratch\nARG V=1\nLABEL v=$V\nEXPOSE 9000-9001/udp\nCMD ["x"]\nSHELL ["/bin/ash", "-c"]\nENTRYPOINT run.sh\n' });
  store.bud(ctx, 'localhost/berth-interop/diff');
  const peer = store.inspect('localhost/berth-interop/diff').config;
  const ours = planOf(ctx).stages[0]!.config;
  // docker expands a port range into one entry per port; buildah 1.28 keeps the range as one key.
  assert.deepEqual(Object.keys(peer.ExposedPorts ?? {}), ['9000-9001/udp']);
  assert.deepEqual(Object.keys(ours.ExposedPorts ?? {}), ['9000/udp', '9001/udp']);
  // BuildKit marks CMD as ArgsEscaped; buildah does not write the field.
  assert.equal(ours.ArgsEscaped, true);
  assert.equal((peer as { ArgsEscaped?: boolean }).ArgsEscaped, undefined);
  // docker runs shell-form CMD/ENTRYPOINT with the stage's SHELL; buildah 1.28 uses /bin/sh -c.
  assert.deepEqual(ours.Entrypoint, ['/bin/ash', '-c', 'run.sh']);
  assert.deepEqual(peer.Entrypoint, ['/bin/sh', '-c', 'run.sh']);
  // Changing only a --build-arg: docker rebuilds the steps that see it; buildah 1.28 reuses its
  // cache (and so keeps the old label), while berth's key for those steps changes.
  const again = store.bud(ctx, 'localhost/berth-interop/diff', { V: '2' });
  assert.ok(again.cached.every(Boolean));
  assert.deepEqual(store.inspect('localhost/berth-interop/diff').config.Labels?.v, '1');
  assert.equal(planOf(ctx, { buildArgs: { V: '2' } }).stages[0]!.config.Labels?.v, '2');
});
