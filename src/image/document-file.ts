// Documents read from files (image layouts, archives, registries.conf, credential files),
// under the document cap: the size is checked with fstat before anything is read, and the read
// stops at the cap anyway (a file may grow while it is read). Synchronous: a document is at most a
// few MiB, read in one or two calls.
import * as fs from 'node:fs';
import { fromSystemError } from '../oci/errors.ts';
import { MAX_DOCUMENT_BYTES, checkDocumentSize, documentTooLarge } from '../oci/json-document.ts';

/** Whether an error from readDocumentFile means that the file does not exist. */
export function isMissingFile(err: unknown): boolean {
  const errno = (err as { where?: { errno?: string } })?.where?.errno;
  return errno === 'ENOENT' || errno === 'ENOTDIR';
}

export function readDocumentFile(path: string, what = path, limit = MAX_DOCUMENT_BYTES): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw fromSystemError(err, 'read', path);
  }
  try {
    const size = fs.fstatSync(fd).size;
    checkDocumentSize(what, size, limit);
    let buf = Buffer.alloc(size + 1);
    let len = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) return buf.subarray(0, len);
      len += n;
      if (len > limit) throw documentTooLarge(what, limit);
      if (len === buf.length) buf = Buffer.concat([buf, Buffer.alloc(Math.min(buf.length, limit + 1 - len))]);
    }
  } catch (err) {
    throw fromSystemError(err, 'read', path);
  } finally {
    fs.closeSync(fd);
  }
}
