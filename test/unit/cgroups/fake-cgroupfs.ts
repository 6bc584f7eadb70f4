// A cgroupfs look-alike in a temp dir for unit tests: plain directories and files. What the kernel
// would do by itself (create interface files on mkdir, drop them on rmdir) the tests do by hand.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeTree {
  root: string;
  /** Files for detectCgroupHost. */
  hostOptions: { root: string; mountinfoPath: string; procCgroupPath: string };
  write(path: string, text: string): Promise<void>;
  read(path: string): Promise<string>;
  files(dir: string, files: Record<string, string>): Promise<void>;
  cleanup(): Promise<void>;
}

export async function fakeTree(mountinfo: (root: string) => string, procCgroup: string): Promise<FakeTree> {
  const base = await mkdtemp(join(tmpdir(), 'berth-fake-cgroupfs-'));
  const root = join(base, 'cgroup');
  await mkdir(root);
  const mountinfoPath = join(base, 'mountinfo');
  const procCgroupPath = join(base, 'proc-cgroup');
  await writeFile(mountinfoPath, mountinfo(root));
  await writeFile(procCgroupPath, procCgroup);
  const abs = (p: string): string => (p.startsWith('/') ? p : join(root, p));
  const tree: FakeTree = {
    root,
    hostOptions: { root, mountinfoPath, procCgroupPath },
    async write(path, text) {
      await writeFile(abs(path), text);
    },
    async read(path) {
      return readFile(abs(path), 'utf8');
    },
    async files(dir, files) {
      await mkdir(abs(dir), { recursive: true });
      for (const [name, text] of Object.entries(files)) await writeFile(join(abs(dir), name), text);
    },
    async cleanup() {
      await rm(base, { recursive: true, force: true });
    },
  };
  return tree;
}
