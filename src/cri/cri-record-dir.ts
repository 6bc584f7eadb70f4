// berthd's own records (pods, CRI containers): one JSON file per id in a directory under the root,
// written durably (fsync + rename), all read once at start and kept in memory, so that List and
// Status never touch the disk.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError } from '../oci/errors.ts';
import { writeDurably } from '../containers/record-store.ts';

export class RecordDir<T extends { id: string }> {
  readonly memory = new Map<string, T>();

  constructor(
    readonly dir: string,
    warn: (message: string) => void,
  ) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fromSystemError(err, 'mkdir', dir);
    }
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.json')) continue;
      const file = join(dir, name);
      try {
        const record = JSON.parse(readFileSync(file, 'utf8')) as T;
        this.memory.set(record.id, record);
      } catch (err) {
        warn(`skipping the unreadable record ${file}: ${(err as Error).message}`);
      }
    }
  }

  get(id: string): T | undefined {
    return this.memory.get(id);
  }

  values(): T[] {
    return [...this.memory.values()];
  }

  save(record: T): void {
    writeDurably(join(this.dir, `${record.id}.json`), JSON.stringify(record));
    this.memory.set(record.id, record);
  }

  delete(id: string): void {
    rmSync(join(this.dir, `${id}.json`), { force: true });
    this.memory.delete(id);
  }
}
