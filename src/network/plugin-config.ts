// What each plugin reads on stdin: its own object from the list, with the list's name and
// cniVersion, the previous result (ADD chaining; the cached result on DEL and CHECK) and the
// runtimeConfig for the capabilities it declares (libcni's buildOneConfig and InjectConf).

import { runtimeConfigFor } from './capabilities.ts';
import { resultAsVersion, type CniResult } from './cni-result.ts';
import type { NetworkConfigList, PluginConf } from './conflist.ts';

export interface StdinOptions {
  prevResult?: CniResult;
  /** Normalised capability arguments (see normalizeCapabilityArgs). */
  capabilityArgs?: Record<string, unknown>;
}

export interface GcAttachment {
  containerID: string;
  ifname: string;
}

function base(list: NetworkConfigList, plugin: PluginConf): Record<string, unknown> {
  return { ...plugin.raw, name: list.name, cniVersion: list.cniVersion };
}

export function pluginStdin(list: NetworkConfigList, plugin: PluginConf, opts: StdinOptions = {}): string {
  const conf = base(list, plugin);
  if (opts.prevResult) conf.prevResult = resultAsVersion(opts.prevResult, list.cniVersion);
  const rc = runtimeConfigFor(plugin.capabilities, opts.capabilityArgs ?? {});
  // As libcni: the runtime's values replace a runtimeConfig written in the file, if there are any.
  if (Object.keys(rc).length) conf.runtimeConfig = rc;
  return JSON.stringify(conf);
}

/** GC (1.1.0): the attachments still in use, so the plugin can release everything else it holds. */
export function gcStdin(list: NetworkConfigList, plugin: PluginConf, valid: GcAttachment[]): string {
  return JSON.stringify({ ...base(list, plugin), 'cni.dev/valid-attachments': valid });
}

export function statusStdin(list: NetworkConfigList, plugin: PluginConf): string {
  return JSON.stringify(base(list, plugin));
}
