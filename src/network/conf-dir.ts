// Reading network configurations from a conf dir (/etc/cni/net.d by default): files ending in
// .conf, .conflist or .json, in lexical order; the default network is the first file's.

import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { BerthError, fromSystemError, notFound } from '../oci/errors.ts';
import { CONF_EXTENSIONS, parseConfFile, parsePluginConf, withFolderPlugins, type NetworkConfigList, type PluginConf } from './conflist.ts';

export interface ConfDirEntry {
  name: string;
  isFile: boolean;
}

/** The configuration files among a directory's entries, in the order they are tried. */
export function confFileNames(entries: ConfDirEntry[], extensions: readonly string[] = CONF_EXTENSIONS): string[] {
  return entries
    .filter((e) => e.isFile && extensions.includes(extname(e.name)))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function entriesOf(dir: string): Promise<ConfDirEntry[]> {
  let dirents;
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(err, 'read CNI conf dir', dir);
  }
  return Promise.all(
    dirents.map(async (d) => {
      if (!d.isSymbolicLink()) return { name: d.name, isFile: d.isFile() };
      const st = await stat(join(dir, d.name)).catch(() => undefined);
      return { name: d.name, isFile: st?.isFile() ?? false };
    }),
  );
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw fromSystemError(err, 'read CNI config', path);
  }
}

/** libcni 1.3: plugin objects in `<conf dir>/<network name>/*.conf` join a list's plugins. */
async function folderPlugins(dir: string, list: NetworkConfigList): Promise<PluginConf[]> {
  if (list.loadOnlyInlinedPlugins) return [];
  const folder = join(dir, list.name);
  const names = confFileNames(await entriesOf(folder), ['.conf']);
  const plugins: PluginConf[] = [];
  for (const name of names) {
    const path = join(folder, name);
    let value: unknown;
    try {
      value = JSON.parse(await readText(path));
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError('invalid-argument', `${path}: not valid JSON: ${(err as Error).message}`, { path });
    }
    plugins.push(parsePluginConf(value, path, ''));
  }
  return plugins;
}

/** Reads and checks one configuration file (with its folder plugins for a .conflist). */
export async function loadConfFile(path: string): Promise<NetworkConfigList> {
  const list = parseConfFile(await readText(path), path);
  const dir = join(path, '..');
  const withFolder = path.endsWith('.conflist') ? withFolderPlugins(list, await folderPlugins(dir, list)) : list;
  if (withFolder.plugins.length === 0) {
    throw new BerthError('invalid-argument', `${path}: plugins: none given inline or in ${join(dir, list.name)}/`, {
      path,
      field: 'plugins',
    });
  }
  return withFolder;
}

/**
 * The network to attach to: the one named `name`, or without a name the first file's. The first
 * file must be valid (an error names it); when looking for a name, files that do not parse are
 * skipped but reported if no file has that name.
 */
export async function loadNetwork(confDir: string, name?: string): Promise<NetworkConfigList> {
  const files = confFileNames(await entriesOf(confDir));
  if (files.length === 0) throw notFound(`no CNI network configuration in ${confDir}`, { path: confDir });
  if (name === undefined) return loadConfFile(join(confDir, files[0]!));
  const problems: string[] = [];
  for (const file of files) {
    try {
      const list = await loadConfFile(join(confDir, file));
      if (list.name === name) return list;
    } catch (err) {
      problems.push(err instanceof BerthError ? err.describe() : String(err));
    }
  }
  const also = problems.length ? ` (files that could not be read: ${problems.join('; ')})` : '';
  throw notFound(`no CNI network named "${name}" in ${confDir}${also}`, { path: confDir, field: 'name' });
}

/** Every valid network in a conf dir, in file order, and what was wrong with the others. */
export async function loadNetworks(confDir: string): Promise<{ networks: NetworkConfigList[]; problems: BerthError[] }> {
  const networks: NetworkConfigList[] = [];
  const problems: BerthError[] = [];
  for (const file of confFileNames(await entriesOf(confDir))) {
    try {
      networks.push(await loadConfFile(join(confDir, file)));
    } catch (err) {
      problems.push(err instanceof BerthError ? err : fromSystemError(err, 'read CNI config', join(confDir, file)));
    }
  }
  return { networks, problems };
}
