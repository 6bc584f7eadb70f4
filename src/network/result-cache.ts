// The result cache on disk: one file per attachment under <cache dir>/results/, written
// atomically (temporary file, fsync, rename), so that DEL after a restart or a crash has the
// result of ADD, the config and the arguments it ran with.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fromSystemError } from '../oci/errors.ts';
import { cacheFileName, decodeCacheRecord, encodeCacheRecord, type CacheRecord } from './cache-record.ts';

export interface AttachmentKey {
  networkName: string;
  containerId: string;
  ifname: string;
}

export type CacheLookup = { state: 'missing' } | { state: 'corrupt'; path: string } | { state: 'found'; record: CacheRecord; path: string };

export class ResultCache {
  readonly resultsDir: string;

  constructor(readonly cacheDir: string) {
    this.resultsDir = join(cacheDir, 'results');
  }

  pathOf(key: AttachmentKey): string {
    return join(this.resultsDir, cacheFileName(key.networkName, key.containerId, key.ifname));
  }

  async write(record: CacheRecord): Promise<void> {
    const path = this.pathOf(record);
    const tmp = join(this.resultsDir, `.${cacheFileName(record.networkName, record.containerId, record.ifname)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await mkdir(this.resultsDir, { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(encodeCacheRecord(record));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      const dir = await open(this.resultsDir, 'r');
      await dir.sync().finally(() => dir.close());
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw fromSystemError(err, 'write CNI result cache', path);
    }
  }

  async read(key: AttachmentKey): Promise<CacheLookup> {
    const path = this.pathOf(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
      throw fromSystemError(err, 'read CNI result cache', path);
    }
    const record = decodeCacheRecord(text, key);
    return record ? { state: 'found', record, path } : { state: 'corrupt', path };
  }

  /** Removes an attachment's record; a missing one is not an error. */
  async remove(key: AttachmentKey): Promise<void> {
    const path = this.pathOf(key);
    try {
      await rm(path, { force: true });
    } catch (err) {
      throw fromSystemError(err, 'remove CNI result cache', path);
    }
  }

  /** Every cached attachment (of one container when given), in file name order, as libcni lists them. */
  async list(containerId?: string): Promise<CacheRecord[]> {
    let names: string[];
    try {
      names = (await readdir(this.resultsDir)).filter((n) => !n.startsWith('.')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromSystemError(err, 'read CNI result cache', this.resultsDir);
    }
    const records: CacheRecord[] = [];
    for (const name of names) {
      if (containerId && !name.includes(`-${containerId}-`)) continue;
      const text = await readFile(join(this.resultsDir, name), 'utf8').catch(() => undefined);
      const record = text === undefined ? undefined : decodeCacheRecord(text);
      if (record && (!containerId || record.containerId === containerId)) records.push(record);
    }
    return records;
  }
}
