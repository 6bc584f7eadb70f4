// Hostile layers: each case of the corpus is refused with an error naming the entry, or contained;
// in every case nothing outside the snapshot directory changes. Needs root (mknod, trusted xattrs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, lstatSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maliciousCases, type MaliciousCase } from '../../fixtures/image/malicious-layers.ts';
import { tarArchive } from '../../../src/image/tar-writer.ts';
import { unpackLayer } from '../../../src/image/unpack-layer.ts';
import { createLayerUnpacker } from '../../../src/image/unpack-pool.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import { llistxattr } from '../../../src/sys/xattr.ts';
import { mount, umount } from '../../../src/sys/mount.ts';
import { listTree } from '../../support/tree.ts';

function tree(dir: string): string[] {
  return listTree(dir, (rel, p, st) => `${rel} ${st.mode.toString(8)} ${st.isFile() ? readFileSync(p, 'utf8') : ''}`);
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

const limits = { maxEntries: 50, maxEntryBytes: 65536, maxTotalBytes: 1 << 20 };

// The corpus runs on the calling thread and again through a worker thread, as `berth pull` unpacks:
// errors must cross the thread boundary with their kind and message.
const pool = createLayerUnpacker(1, { BERTH_UNPACK_THREADS: '1' });
test.after(() => pool.close());
const unpackers = [
  { label: '', unpack: unpackLayer },
  { label: ' (worker thread)', unpack: pool.unpack.bind(pool) },
];

async function unpackInto(dir: string, c: MaliciousCase, entries: MaliciousCase['entries'], unpack: typeof unpackLayer): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tar = c.raw ?? tarArchive(entries);
  await unpack(once(tar), { dir, compression: 'none', what: `layer "${c.name}"`, applyLimits: limits });
}

const base = mkdtempSync(join(tmpdir(), 'berth-evil-'));
test.after(() => rmSync(base, { recursive: true, force: true }));

for (const [u, { label, unpack }] of unpackers.entries()) for (const [i, c] of maliciousCases(join(base, 'CASE', 'outside')).entries()) {
  test(`hostile layer: ${c.name}${label}`, async () => {
    const root = join(base, `u${u}c${i}`);
    const outside = join(root, 'outside');
    // The corpus aims at <base>/CASE/outside; make that this case's directory.
    const fix = (s: string) => s.replaceAll(join(base, 'CASE'), root);
    const cs: MaliciousCase = {
      ...c,
      earlier: c.earlier?.map((l) => l.map((e) => ({ ...e, name: fix(e.name), ...(e.linkname ? { linkname: fix(e.linkname) } : {}) }))),
      entries: c.entries.map((e) => ({
        ...e,
        name: fix(e.name),
        ...(e.linkname ? { linkname: fix(e.linkname) } : {}),
        ...(e.xattrs ? { xattrs: Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [k, Buffer.from(fix(v.toString()))])) } : {}),
      })),
    };
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'sentinel'), 'untouched');
    const before = tree(outside);
    const lowers: string[] = [];
    for (const [j, layer] of (cs.earlier ?? []).entries()) {
      const d = join(root, `lower${j}`);
      await unpackInto(d, cs, layer, unpack);
      lowers.unshift(d);
    }
    const snap = join(root, 'snap');
    if ('refused' in c.expect) {
      await assert.rejects(unpackInto(snap, cs, cs.entries, unpack), (e: unknown) => {
        assert.ok(e instanceof BerthError, String(e));
        assert.match(e.message, c.expect && 'refused' in c.expect ? c.expect.refused : /./);
        return true;
      });
    } else {
      await unpackInto(snap, cs, cs.entries, unpack);
    }
    assert.deepEqual(tree(outside), before, 'nothing outside the snapshot changed');
    assert.equal(existsSync(join(root, 'escape')), false);
    assert.equal(existsSync(join(base, 'escape')), false);
    if (c.name === 'absolute name is made relative') assert.ok(existsSync(join(snap, outside.slice(1), 'abs')));
    if (c.name === 'duplicate entry: file, then symlink out, then file again') {
      assert.ok(lstatSync(join(snap, 'dup')).isFile());
      assert.equal(readFileSync(join(snap, 'dup'), 'utf8'), 'pwned');
    }
    if (c.name === 'hardlink to a symlink links the symlink itself') assert.ok(lstatSync(join(snap, 'h')).isSymbolicLink());
    if (c.name === 'overlay redirect xattr is not applied') assert.deepEqual(llistxattr(join(snap, 'r')).filter((x) => x.startsWith('trusted.overlay')), []);
    if (c.name === 'symlink planted in an earlier layer') {
      // Layer 2's etc/ is a real directory that overlay shows in place of layer 1's symlink.
      assert.ok(statSync(join(snap, 'etc')).isDirectory());
      const merged = join(root, 'merged');
      mkdirSync(merged);
      mount('overlay', merged, 'overlay', 0, `lowerdir=${snap}:${lowers.join(':')}`);
      try {
        assert.ok(lstatSync(join(merged, 'etc')).isDirectory());
        assert.equal(readFileSync(join(merged, 'etc', 'pwned'), 'utf8'), 'x');
      } finally {
        umount(merged);
      }
      assert.deepEqual(tree(outside), before);
    }
  });
}
