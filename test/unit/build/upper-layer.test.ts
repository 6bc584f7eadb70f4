// An upper directory to layer tar: entry order, whiteouts and opaque markers, hardlinks, xattrs,
// normalised headers (SOURCE_DATE_EPOCH clamps mtimes; equal trees give equal bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upperTar } from '../../../src/containers/build/upper-layer.ts';
import { readTar } from '../../../src/image/tar-reader.ts';
import type { TarHeader } from '../../../src/image/tar-format.ts';
import { mknod, S_IFCHR } from '../../../src/sys/mknod.ts';
import { lsetxattr } from '../../../src/sys/xattr.ts';

const root = process.geteuid?.() === 0;

async function entries(dir: string, epoch?: number): Promise<{ headers: TarHeader[]; bytes: Buffer }> {
  const bytes = Buffer.concat([...upperTar(dir, epoch !== undefined ? { epoch } : {})]);
  const headers: TarHeader[] = [];
  for await (const e of readTar((async function* () { yield bytes; })())) headers.push(e.header);
  return { headers, bytes };
}

function tree(name: string, mtime: number): string {
  const dir = mkdtempSync(join(tmpdir(), `berth-upper-${name}-`));
  mkdirSync(join(dir, 'b/sub'), { recursive: true });
  writeFileSync(join(dir, 'b/sub/file'), 'data');
  linkSync(join(dir, 'b/sub/file'), join(dir, 'a-link'));
  symlinkSync('b/sub/file', join(dir, 'c-sym'));
  writeFileSync(join(dir, 'B-upper'), '');
  for (const p of ['b/sub/file', 'b/sub', 'b', 'B-upper']) utimesSync(join(dir, p), mtime, mtime);
  return dir;
}

test('entries in path order with parents first; hardlinks point at the first name; symlinks are kept', async () => {
  const dir = tree('order', 1_600_000_000);
  try {
    const { headers } = await entries(dir);
    assert.deepEqual(
      headers.map((h) => `${h.type} ${h.name}${h.linkname ? ` -> ${h.linkname}` : ''}`),
      ['file B-upper', 'file a-link', 'dir b/', 'dir b/sub/', 'hardlink b/sub/file -> a-link', 'symlink c-sym -> b/sub/file'],
    );
    const file = headers.find((h) => h.name === 'a-link')!;
    assert.equal(file.size, 4);
    assert.equal(headers.find((h) => h.name === 'b/')!.mtime, 1_600_000_000);
    assert.ok(headers.every((h) => h.uname === '' && h.gname === ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SOURCE_DATE_EPOCH clamps later mtimes and keeps earlier ones; equal trees give equal bytes', async () => {
  const a = tree('repro-a', 1_800_000_000);
  const b = tree('repro-b', 1_900_000_000);
  try {
    const ea = await entries(a, 1_700_000_000);
    const eb = await entries(b, 1_700_000_000);
    assert.ok(ea.headers.every((h) => h.mtime === 1_700_000_000 || h.type === 'symlink' || h.type === 'hardlink' || h.name === 'a-link'));
    assert.ok(ea.headers.every((h) => h.mtime <= 1_700_000_000));
    // hardlinked files share an inode: the same mtime in both trees once clamped
    assert.deepEqual(ea.bytes, eb.bytes);
    const older = await entries(a, 2_000_000_000);
    assert.equal(older.headers.find((h) => h.name === 'b/')!.mtime, 1_800_000_000);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('overlay whiteouts and opaque directories become .wh. entries; overlay xattrs stay out, others stay in', { skip: !root && 'needs root (mknod, trusted.* xattrs)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-upper-wh-'));
  try {
    mkdirSync(join(dir, 'etc'));
    mknod(join(dir, 'etc/gone'), S_IFCHR | 0o000, 0, 0);
    mkdirSync(join(dir, 'opaque'));
    lsetxattr(join(dir, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    lsetxattr(join(dir, 'opaque'), 'trusted.overlay.origin', Buffer.from([1, 2, 3]));
    writeFileSync(join(dir, 'opaque/new'), 'n');
    writeFileSync(join(dir, 'capable'), 'c');
    lsetxattr(join(dir, 'capable'), 'user.note', Buffer.from('hello'));
    mknod(join(dir, 'tty'), S_IFCHR | 0o620, 4, 1);
    chmodSync(join(dir, 'tty'), 0o620);
    const { headers } = await entries(dir);
    assert.deepEqual(
      headers.map((h) => `${h.type} ${h.name}`),
      ['file capable', 'dir etc/', 'file etc/.wh.gone', 'dir opaque/', 'file opaque/.wh..wh..opq', 'file opaque/new', 'char tty'],
    );
    assert.deepEqual([...headers.find((h) => h.name === 'opaque/')!.xattrs.keys()], []);
    assert.equal(headers.find((h) => h.name === 'capable')!.xattrs.get('user.note')?.toString(), 'hello');
    const tty = headers.find((h) => h.name === 'tty')!;
    assert.deepEqual([tty.devmajor, tty.devminor, tty.mode & 0o777], [4, 1, 0o620]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
