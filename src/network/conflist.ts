// Network configuration lists (`.conflist`) and single plugin configurations (`.conf`, `.json`,
// turned into a one-plugin list as libcni does), parsed and checked with errors naming the file
// and the field.

import { invalid, unimplemented } from '../oci/errors.ts';
import { validateNetworkName } from './cni-names.ts';
import { CNI_VERSIONS, isSupportedCniVersion, parseCniVersion, selectCniVersion } from './cni-version.ts';

export interface PluginConf {
  /** The plugin's executable name, looked up in the bin dirs. */
  type: string;
  /** The capabilities it declares enabled (`"capabilities": {"portMappings": true}`). */
  capabilities: string[];
  /** The plugin's object as written; name, cniVersion, prevResult and runtimeConfig are added to it. */
  raw: Record<string, unknown>;
}

export interface NetworkConfigList {
  name: string;
  /** The version the runtime and the plugins speak (chosen from `cniVersions` when given). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  /** libcni 1.3: when false, plugins are also read from `<conf dir>/<name>/*.conf`. */
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConf[];
  /** The list as JSON text, cached with each attachment so that DEL can run without the conf dir. */
  bytes: string;
  /** The file it came from (or a description), for error messages. */
  source: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(source: string, field: string, what: string) {
  return invalid(`${source}: ${field}: ${what}`, { path: source, field });
}

function parseJsonObject(text: string, source: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`${source}: not valid JSON: ${(err as Error).message}`, { path: source });
  }
  if (!isObject(value)) throw invalid(`${source}: must hold a JSON object`, { path: source });
  return value;
}

/** libcni reads these flags as booleans or as the strings "true"/"false". */
function readFlag(obj: Json, key: string, source: string): boolean {
  const v = obj[key];
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw bad(source, key, 'must be true or false');
}

function readVersion(obj: Json, source: string): string {
  const given = obj.cniVersion;
  if (given !== undefined && typeof given !== 'string') throw bad(source, 'cniVersion', 'must be a string');
  const listed = obj.cniVersions;
  if (listed !== undefined) {
    if (!Array.isArray(listed)) throw bad(source, 'cniVersions', 'must be a list of strings');
    listed.forEach((v, i) => {
      if (typeof v !== 'string' || !parseCniVersion(v)) throw bad(source, `cniVersions[${i}]`, `"${String(v)}" is not a version`);
    });
  }
  const version = selectCniVersion(given || undefined, (listed as string[] | undefined) ?? []);
  if (!version) throw bad(source, 'cniVersion', 'is missing');
  if (!parseCniVersion(version)) throw bad(source, 'cniVersion', `"${version}" is not a version`);
  if (!isSupportedCniVersion(version)) {
    throw unimplemented(`${source}: cniVersion: "${version}" is not supported (berth speaks ${CNI_VERSIONS.join(', ')})`, {
      path: source,
      field: 'cniVersion',
    });
  }
  return version;
}

/** One plugin object of a list, or a whole single-plugin configuration. */
export function parsePluginConf(value: unknown, source: string, field: string): PluginConf {
  const at = (f: string) => (field ? `${field}.${f}` : f);
  if (!isObject(value)) throw bad(source, field || '(top level)', 'must be an object');
  const type = value.type;
  if (typeof type !== 'string' || type === '') throw bad(source, at('type'), 'must be a non-empty string');
  if (type.includes('/') || type === '.' || type === '..') throw bad(source, at('type'), `"${type}" is not a plugin name`);
  const caps = value.capabilities;
  const capabilities: string[] = [];
  if (caps !== undefined) {
    if (!isObject(caps)) throw bad(source, at('capabilities'), 'must be an object of booleans');
    for (const [name, on] of Object.entries(caps)) {
      if (typeof on !== 'boolean') throw bad(source, at(`capabilities.${name}`), 'must be true or false');
      if (on) capabilities.push(name);
    }
  }
  return { type, capabilities, raw: value };
}

function readName(obj: Json, source: string): string {
  const name = obj.name;
  if (typeof name !== 'string') throw bad(source, 'name', name === undefined ? 'is missing' : 'must be a string');
  validateNetworkName(name, { path: source });
  return name;
}

/** A `.conflist`: `{cniVersion, name, plugins: [...]}`. */
export function parseConfList(text: string, source: string): NetworkConfigList {
  const obj = parseJsonObject(text, source);
  const name = readName(obj, source);
  const cniVersion = readVersion(obj, source);
  const loadOnlyInlinedPlugins = readFlag(obj, 'loadOnlyInlinedPlugins', source);
  const list: NetworkConfigList = {
    name,
    cniVersion,
    disableCheck: readFlag(obj, 'disableCheck', source),
    disableGC: readFlag(obj, 'disableGC', source),
    loadOnlyInlinedPlugins,
    plugins: [],
    bytes: text,
    source,
  };
  const plugins = obj.plugins;
  if (plugins === undefined) {
    if (loadOnlyInlinedPlugins) throw bad(source, 'plugins', 'is missing and loadOnlyInlinedPlugins is true');
    return list; // plugins may still come from the network's folder
  }
  if (!Array.isArray(plugins)) throw bad(source, 'plugins', 'must be a list');
  if (plugins.length === 0) throw bad(source, 'plugins', 'is empty');
  list.plugins = plugins.map((p, i) => parsePluginConf(p, source, `plugins[${i}]`));
  return list;
}

/** A single plugin configuration (`.conf`, `.json`), as a list of that one plugin. */
export function parseSingleConf(text: string, source: string): NetworkConfigList {
  const obj = parseJsonObject(text, source);
  if (obj.type === undefined && obj.plugins !== undefined) {
    throw bad(source, 'type', 'is missing (a list of plugins belongs in a .conflist file)');
  }
  const name = readName(obj, source);
  const cniVersion = readVersion(obj, source);
  const plugin = parsePluginConf(obj, source, '');
  const bytes = JSON.stringify({ cniVersion, name, plugins: [obj] });
  return { name, cniVersion, disableCheck: false, disableGC: false, loadOnlyInlinedPlugins: true, plugins: [plugin], bytes, source };
}

/** The extensions a conf dir is read for, as containerd and cri-o read them. */
export const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'] as const;

export function parseConfFile(text: string, source: string): NetworkConfigList {
  return source.endsWith('.conflist') ? parseConfList(text, source) : parseSingleConf(text, source);
}

/** Adds plugins read from `<conf dir>/<name>/` to a list; the cached bytes then hold them all. */
export function withFolderPlugins(list: NetworkConfigList, extra: PluginConf[]): NetworkConfigList {
  if (extra.length === 0) return list;
  const plugins = [...list.plugins, ...extra];
  const obj = JSON.parse(list.bytes) as Json;
  const bytes = JSON.stringify({ ...obj, plugins: plugins.map((p) => p.raw), loadOnlyInlinedPlugins: true });
  return { ...list, plugins, bytes };
}

/** Re-reads a list from the JSON cached with an attachment. */
export function confListFromCache(bytes: string, source: string): NetworkConfigList {
  const list = parseConfList(bytes, source);
  if (list.plugins.length === 0) throw bad(source, 'plugins', 'is empty');
  return list;
}
