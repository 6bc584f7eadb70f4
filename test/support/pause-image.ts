// The images CRI tests and benchmarks run: a sandbox (pause) image holding only berth's static
// pause program (native/pause.c), and a workload image of busybox-static plus the same program
// as /bin/pause (a container that exits at once on SIGTERM, so a stop costs no grace period).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, type BuiltImage, type Entry } from '../fixtures/image/test-image.ts';

export const PAUSE_BINARY = resolve(dirname(fileURLToPath(import.meta.url)), '../../native/build/berth-pause');
const T = 1700000000;

function pauseBytes(): Buffer {
  if (!existsSync(PAUSE_BINARY)) throw new Error(`${PAUSE_BINARY} is missing: run \`npm run build\` (native/Makefile builds it)`);
  return readFileSync(PAUSE_BINARY);
}

export function pauseImage(): BuiltImage {
  const layer: Entry[] = [{ name: 'pause', type: 'file', mode: 0o755, data: pauseBytes(), mtime: T }];
  return buildImage({ layers: [layer], user: '65535:65535', cmd: ['/pause'], env: [] });
}

export function workloadImage(): BuiltImage {
  const bb = readFileSync('/bin/busybox');
  const layer: Entry[] = [
    { name: 'bin/', type: 'dir', mtime: T },
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: bb, mtime: T },
    ...['sh', 'ls', 'cat', 'echo', 'sleep', 'true', 'false', 'id', 'hostname', 'wc', 'head', 'dd', 'nc'].map(
      (n): Entry => ({ name: `bin/${n}`, type: 'symlink', linkname: 'busybox', mtime: T }),
    ),
    { name: 'bin/pause', type: 'file', mode: 0o755, data: pauseBytes(), mtime: T },
    { name: 'etc/', type: 'dir', mtime: T },
    { name: 'etc/passwd', type: 'file', data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n', mtime: T },
    { name: 'etc/group', type: 'file', data: 'root:x:0:\nnogroup:x:65534:\n', mtime: T },
    { name: 'tmp/', type: 'dir', mode: 0o1777, mtime: T },
  ];
  return buildImage({ layers: [layer], cmd: ['/bin/pause'] });
}
