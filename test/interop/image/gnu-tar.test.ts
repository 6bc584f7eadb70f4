// berth's tar reader and writer against GNU tar (pax headers, long names, binary xattrs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar } from '../../../src/image/tar-reader.ts';
import { tarArchive } from '../../../src/image/tar-writer.ts';

async function readAll(buf: Buffer) {
  const out = [];
  for await (const e of readTar((async function* () { yield buf; })())) {
    const parts: Buffer[] = [];
    for await (const c of e.body()) parts.push(c);
    out.push({ h: e.header, data: Buffer.concat(parts) });
  }
  return out;
}

test('GNU tar reads what berth writes, and berth reads GNU tar pax xattrs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tar-'));
  try {
    const archive = tarArchive([
      { name: 'a', type: 'file', data: 'A', xattrs: { 'user.bin': Buffer.from([0, 1, 2, 255]) } },
      { name: 'b/' + 'c'.repeat(150), type: 'file', data: 'C' },
    ]);
    writeFileSync(join(dir, 'x.tar'), archive);
    const listing = execFileSync('tar', ['--xattrs', '-tvf', join(dir, 'x.tar')], { encoding: 'utf8' });
    assert.match(listing, / a\n/);
    assert.match(listing, /c{150}/);
    writeFileSync(join(dir, 'f'), 'data');
    execFileSync('setfattr', ['-n', 'user.bin', '-v', '0x0001ff', join(dir, 'f')], { stdio: 'ignore' });
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--format=pax', '-C', dir, '-cf', join(dir, 'g.tar'), 'f']);
    const entries = await readAll(readFileSync(join(dir, 'g.tar')));
    assert.equal(entries[0]!.h.name, 'f');
    assert.deepEqual(entries[0]!.h.xattrs.get('user.bin'), Buffer.from([0, 1, 255]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

