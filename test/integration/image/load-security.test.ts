// `berth load` of hostile archives (built by test/fixtures/image/malicious-archives.ts): a load
// that fails records no name and leaves no content behind; documents above the size cap are
// refused quickly, by name, with memory bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berth } from '../../fixtures/image/cli-run.ts';
import { buildImage } from '../../fixtures/image/test-image.ts';
import { archive, dockerArchiveEntries, imageWithRefusedLayer, ociLayoutEntries, withWrongDiffId } from '../../fixtures/image/malicious-archives.ts';

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
  { label: 'a layer the unpacker refuses', img: refused, code: 2, match: /^berth: layer sha256:[0-9a-f]{64}: entry "\.\.\/escape": name contains "\.\."/ },
  { label: 'a diff_id that does not match its layer', img: lying, code: 9, match: /layer (sha256:[0-9a-f]{64}|[0-9a-f]{64}\/layer\.tar): (uncompressed )?content hashes to sha256:[0-9a-f]{64},? but the (image )?config says sha256:/ },
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
  for (const e of ociLayoutEntries([{ img: refused, name: 'docker.io/evil/dir:1' }])) {
    mkdirSync(join(dir, e.name, '..'), { recursive: true });
    writeFileSync(join(dir, e.name), e.data);
  }
  const r = await berth([...args, 'load', '-i', dir]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(JSON.parse((await berth([...args, 'images', '--format', 'json'])).stdout), []);
  assert.deepEqual(storeContent(root), { blobs: [], snapshots: [] });
});
