// Whether a network namespace path still names a namespace. DEL passes an empty CNI_NETNS for
// one that is gone (the spec's "clean up as much as possible" case) rather than a stale path.

import { statfs } from 'node:fs/promises';

const NSFS_MAGIC = 0x6e736673;

export async function isNetnsPath(path: string): Promise<boolean> {
  if (!path) return false;
  const st = await statfs(path).catch(() => undefined);
  return st !== undefined && Number(st.type) === NSFS_MAGIC;
}
