// CONTEXT `-`: the build context as a tar on standard input (plain, gzip or zstd), unpacked into
// a private directory with the layer unpacker's rules: `..` in a name is refused, no entry is
// written through a symlink, hardlinks only point inside the archive. Nothing outside that
// directory is touched; the caller removes it after the build.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../oci/errors.ts';
import { sniffCompression } from '../../image/decompress.ts';
import { unpackLayer } from '../../image/unpack-layer.ts';
import { PRIVATE_DIR_MODE } from '../../image/store-permissions.ts';

export async function unpackContextTar(input: AsyncIterable<Uint8Array>, tmpRoot: string): Promise<{ dir: string; remove: () => void }> {
  const dir = join(tmpRoot, `context-${randomUUID()}`);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const it = input[Symbol.asyncIterator]();
    const first = await it.next();
    const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
    const stream = (async function* () {
      if (!first.done) yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })();
    await unpackLayer(stream, { dir, compression: sniffCompression(head), what: 'build context from standard input' });
    return { dir, remove };
  } catch (err) {
    remove();
    if (err instanceof BerthError) throw err;
    throw new BerthError('invalid-argument', `build context from standard input: ${(err as Error).message}`, {}, { cause: err });
  }
}
