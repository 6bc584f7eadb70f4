// `berth load` of hostile archives (built by test/fixtures/image/malicious-archives.ts): a load
// that fails records no name and leaves no content behind; documents above the size cap are
// refused quickly, by name, with memory bounded.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berth } from '../../fixtures/image/cli-run.ts';
import { buildImage } from '../../fixtures/image/test-image.ts';
import { archive, archiveWithHugeIndexHeader, dockerArchiveEntries, hugeJson, imageWithRefusedLayer, ociLayoutEntries, withWrongDiffId } from '../../fixtures/image/malicious-archives.ts';
import { berthMeasured } from '../../fixtures/image/cli-measured.ts';
import { startHostileRegistry, type HostileRegistry } from '../../fixtures/image/hostile-registry.ts';

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-load-evil-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const good = buildImage({ layers: [[{ name: 'hello', type: 'file', data: 'hello\n', mtime: 1700000000 }]], cmd: ['/hello'] });
const refused = imageWithRefusedLayer();
const lying = withWrongDiffId(buildImage({ layers: [[{ name: 'a', type: 'file', data: 'a\n', mtime: 1700000000 }], [{ name: 'b', type: 'file', data: 'b\n', mtime: 1700000000 }]], cmd: ['/a'] }));

let n = 0;
const G = () => {
  const root = join(work, `store-${++n}`);
  return { root, args: ['--root', root, '--config', join(work, 'config')] };
};

function storeContent(root: string): { blobs: string[]; snapshots: string[] } {
  const dir = (p: string) => (existsSync(p) ? readdirSync(p) : []);
  return { blobs: dir(join(root, 'content', 'blobs', 'sha256')), snapshots: dir(join(root, 'snapshots')) };
}

const faults = [
  { label: 'a layer the unpacker refuses', img: refused, code: 1, match: /^berth: layer sha256:[0-9a-f]{64}: entry "\.\.\/escape": name contains "\.\."/ },
  { label: 'a diff_id that does not match its layer', img: lying, code: 1, match: /layer (sha256:[0-9a-f]{64}|"[0-9a-f]{64}\/layer\.tar"): (uncompressed )?content hashes to sha256:[0-9a-f]{64},? but the (image )?config says sha256:/ },
];
const formats = [
  { label: 'OCI layout', entries: (imgs: Array<[typeof good, string]>) => ociLayoutEntries(imgs.map(([img, name]) => ({ img, name }))) },
  { label: 'docker-archive', entries: (imgs: Array<[typeof good, string]>) => dockerArchiveEntries(imgs.map(([img, name]) => ({ img, repoTags: [name] }))) },
];

for (const f of formats) {
  for (const fault of faults) {
    test(`load of a ${f.label} with ${fault.label}: one clear line, no name recorded (not even the good image's), no content left`, async () => {
      const { root, args } = G();
      const file = join(work, `evil-${n}.tar`);
      writeFileSync(file, archive(f.entries([[good, 'docker.io/good/app:1'], [fault.img, 'docker.io/evil/app:1']])));
      const r = await berth([...args, 'load', '-i', file]);
      assert.equal(r.code, fault.code, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, fault.match);
      const images = await berth([...args, 'images', '--format', 'json']);
      assert.equal(images.code, 0, images.stderr);
      assert.deepEqual(JSON.parse(images.stdout), []);
      assert.deepEqual(storeContent(root), { blobs: [], snapshots: [] });
      // The same store loads a good archive afterwards.
      const ok = join(work, `ok-${n}.tar`);
      writeFileSync(ok, archive(f.entries([[good, 'docker.io/good/again:1']])));
      const r2 = await berth([...args, 'load', '-i', ok]);
      assert.equal(r2.code, 0, r2.stderr);
      const names = (JSON.parse((await berth([...args, 'images', '--format', 'json'])).stdout) as Array<{ name: string }>).map((i) => i.name).sort();
      assert.deepEqual(names, ['docker.io/good/again:1']);
    });
  }
}

test('a directory layout with a bad layer records no name either', async () => {
  const { root, args } = G();
  const dir = join(work, 'evil-dir');
  writeFiles(dir, ociLayoutEntries([{ img: refused, name: 'docker.io/evil/dir:1' }]));
  const r = await berth([...args, 'load', '-i', dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(JSON.parse((await berth([...args, 'images', '--format', 'json'])).stdout), []);
  assert.deepEqual(storeContent(root), { blobs: [], snapshots: [] });
});

// Item: documents above the cap. Each run is a child process whose peak memory is compared with
// that of a load of a small good archive: reading a 64 MiB document whole would cost hundreds of MiB.
const HUGE = 64 * 1024 * 1024 + 1;
const CAP = /the 4 MiB allowed for a JSON document/;

describe('JSON documents above the 4 MiB cap are refused at once, by name, with memory bounded', () => {
  let baselineMiB = 0;
  before(async () => {
    const dir = join(work, 'small-layout');
    writeFiles(dir, ociLayoutEntries([{ img: good, name: 'docker.io/good/small:1' }]));
    const r = await berthMeasured(['--root', join(work, 'baseline'), 'load', '-i', dir]);
    assert.equal(r.code, 0, r.stderr);
    baselineMiB = r.maxRssMiB;
  });

  const refusedQuickly = async (args: string[], match: RegExp, root?: string, env?: NodeJS.ProcessEnv) => {
    const r = await berthMeasured(args, env);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, match);
    assert.match(r.stderr, CAP);
    assert.ok(r.maxRssMiB < baselineMiB + 24, `peak RSS ${r.maxRssMiB.toFixed(1)} MiB vs ${baselineMiB.toFixed(1)} MiB for a small load`);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    if (root) {
      assert.deepEqual(storeContent(root), { blobs: [], snapshots: [] });
      assert.deepEqual(existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : [], [], 'no staging directory left');
    }
  };

  test('an OCI layout whose index.json is 64 MiB', async () => {
    const dir = join(work, 'huge-index');
    writeFiles(dir, ociLayoutEntries([{ img: good, name: 'docker.io/good/x:1' }]));
    writeFileSync(join(dir, 'index.json'), hugeJson('index', HUGE));
    const { root, args } = G();
    await refusedQuickly([...args, 'load', '-i', dir], /^berth: index\.json is \d{8} bytes, more than/, root);
  });

  test('a docker archive whose manifest.json is 64 MiB, and one whose image config is', async () => {
    const dir = join(work, 'huge-manifest');
    writeFiles(dir, dockerArchiveEntries([{ img: good, repoTags: ['good/x:1'] }]));
    writeFileSync(join(dir, 'manifest.json'), hugeJson('docker-manifest', HUGE));
    const a = G();
    await refusedQuickly([...a.args, 'load', '-i', dir], /^berth: manifest\.json is \d{8} bytes, more than/, a.root);
    const dir2 = join(work, 'huge-config');
    const entries = dockerArchiveEntries([{ img: good, repoTags: ['good/x:1'] }]);
    writeFiles(dir2, entries);
    writeFileSync(join(dir2, entries[0]!.name), hugeJson('config', HUGE));
    const b = G();
    await refusedQuickly([...b.args, 'load', '-i', dir2], new RegExp(`^berth: config "${entries[0]!.name.replace('.', '\\.')}" is \\d{8} bytes, more than`), b.root);
  });

  test('a tar archive whose index.json entry claims 1.5 GiB is refused from its header (nothing of it stored)', async () => {
    const file = join(work, 'huge-header.tar');
    writeFileSync(file, archiveWithHugeIndexHeader(1.5 * 1024 ** 3));
    const { root, args } = G();
    await refusedQuickly([...args, 'load', '-i', file], /^berth: archive entry index\.json is 1610612736 bytes, more than/, root);
  });

  test("berth's auth.json and registries.conf", async () => {
    const config = join(work, 'huge-config-dir');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'auth.json'), hugeJson('config', HUGE));
    await refusedQuickly(['--config', config, 'logout', 'example.test'], new RegExp(`^berth: ${join(config, 'auth.json').replace(/[.]/g, '\\.')} is \\d{8} bytes`));
    rmSync(join(config, 'auth.json'));
    writeFileSync(join(config, 'registries.conf'), `# ${'x'.repeat(HUGE)}\n`);
    const { args } = G();
    await refusedQuickly([...args, '--config', config, 'pull', '127.0.0.1:1/x:y'], /registries\.conf is \d{8} bytes/);
  });
});

function writeFiles(dir: string, entries: Array<{ name: string; data: Buffer | string }>): void {
  for (const e of entries) {
    mkdirSync(join(dir, e.name, '..'), { recursive: true });
    writeFileSync(join(dir, e.name), e.data);
  }
}

describe('registry responses above the cap: refused while they stream, the connection dropped', () => {
  let reg: HostileRegistry;
  before(async () => {
    reg = await startHostileRegistry();
  });
  after(() => reg?.stop());

  const cases = [
    { repo: 'huge-manifest', code: 1, match: /^berth: image [^ ]+\/huge-manifest\/app:v1 is larger than the 4 MiB allowed for a JSON document$/ },
    { repo: 'declared-manifest', code: 1, match: /^berth: image [^ ]+\/declared-manifest\/app:v1 is 1610612736 bytes, more than the 4 MiB allowed/ },
    { repo: 'huge-error', code: 1, match: /^berth: image [^ ]+\/huge-error\/app:v1 not found in registry [^ ]+$/ },
    { repo: 'token', code: 1, match: /^berth: token response from http:\/\/127\.0\.0\.1:\d+ is larger than the 4 MiB allowed/ },
    { repo: 'long-blob', code: 1, match: /^berth: blob sha256:[0-9a-f]{64}: the registry sent more than the 100 bytes the manifest gives it/ },
    { repo: 'huge-config', code: 1, match: /^berth: config of [^ ]+\/huge-config\/app:v1 is 1610612736 bytes, more than the 4 MiB allowed/ },
  ];
  for (const c of cases) {
    test(`pull from ${c.repo}`, async () => {
      const { root, args } = G();
      const started = Date.now();
      const r = await berth([...args, 'pull', `${reg.host}/${c.repo}/app:v1`]);
      assert.equal(r.code, c.code, r.stderr);
      assert.match(r.stderr.trim(), c.match);
      assert.ok(Date.now() - started < 10_000);
      for (const [path, bytes] of reg.sent) {
        if (path.includes(c.repo) || (c.repo === 'token' && path === '/token')) assert.ok(bytes < 16 * 1024 * 1024, `${path}: the registry got to send ${bytes} bytes`);
      }
      assert.deepEqual(storeContent(root), { blobs: [], snapshots: [] });
    });
  }

  test("a 64 MiB docker config.json, read when the registry asks for credentials", async () => {
    const dir = join(work, 'huge-docker-config');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), hugeJson('config', HUGE));
    const { args } = G();
    const r = await berthMeasured([...args, 'pull', `${reg.host}/basic/app:v1`], { DOCKER_CONFIG: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`^berth: ${join(dir, 'config.json').replace(/[.]/g, '\\.')} is \\d{8} bytes, more than the 4 MiB allowed for a JSON document`));
  });
});
