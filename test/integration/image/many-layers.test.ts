// An image of 80 layers: its overlay options only fit one page as relative lowerdirs, mounted by
// berth-spawn from inside the snapshots directory. `berth run` sees the lowest and highest layer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, testLayers, writeOciLayout, type Entry } from '../../fixtures/image/test-image.ts';
import { removeBerthStore, repoRoot, runCli } from '../../support/cli.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { prepareRootfs } from '../../../src/image/prepare-rootfs.ts';

const LAYERS = 80;
let work: string;
let root: string;
let imageName: string;
const berthBin = join(repoRoot, 'bin/berth');

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-many-layers-'));
  // A long store path, as a real /var/lib/... one with a deep prefix: 80 absolute lowerdirs of
  // this length cannot fit the kernel's one-page limit on mount data.
  root = join(work, 'store-with-a-long-name-' + 'x'.repeat(48));
  const layers: Entry[][] = [testLayers()[0]!];
  for (let i = 1; i < LAYERS; i++) layers.push([{ name: `layer${i}`, type: 'file', data: `from layer ${i}\n` }]);
  writeOciLayout(buildImage({ layers, cmd: ['sh'] }), join(work, 'layout'), 'many');
  const r = runCli(berthBin, ['--root', root, 'load', '-i', join(work, 'layout')]);
  assert.equal(r.code, 0, r.stderr);
  const images = runCli(berthBin, ['--root', root, 'images', '--format', 'json']);
  const [first] = JSON.parse(images.stdout) as Array<{ name?: string; repository?: string }>;
  imageName = first?.name ?? first?.repository ?? '';
});

after(() => removeBerthStore(root, work));

test('the 80-layer chain needs relative lowerdirs', async () => {
  const store = ImageStore.open(root);
  const prepared = await prepareRootfs(store, imageName, { key: 'probe' });
  try {
    assert.equal(prepared.mount.type, 'overlay');
    assert.ok(prepared.mount.cwd, 'the spec lists lowerdirs relative to the snapshots directory');
    const absoluteBytes = prepared.mount.options.join(',').length + (LAYERS + 1) * (prepared.mount.cwd!.length + 1);
    assert.ok(absoluteBytes > 4096, `absolute paths would take ${absoluteBytes} bytes`);
  } finally {
    await store.snapshots.remove('probe');
    store.close();
  }
});

test('a container of an 80-layer image sees its lowest and its highest layer', () => {
  const cwd = process.cwd();
  const r = runCli(berthBin, ['--root', root, 'run', '--rm', imageName, 'sh', '-c', 'cat /keep; echo; cat /layer1 /layer79; pwd']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['kept', 'from layer 1', 'from layer 79', '/']);
  assert.equal(process.cwd(), cwd);
});
