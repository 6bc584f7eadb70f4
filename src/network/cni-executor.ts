// Runs a network's plugins with libcni's semantics: ADD in order with each result chained as the
// next plugin's prevResult, the final result cached; DEL in reverse order with the cached result,
// from the cache alone after a restart; CHECK, GC and STATUS; VERSION probes.

import { alreadyExists, BerthError, fromSystemError, invalid, notFound, precondition, unimplemented } from '../oci/errors.ts';
import { normalizeCapabilityArgs, type CapabilityArgs } from './capabilities.ts';
import { pluginEnv, type CniArgs, type CniCommand, type InvocationArgs } from './cni-args.ts';
import { CniPluginError, describeFailure } from './cni-error.ts';
import { validateContainerId, validateIfname, validateNetworkName } from './cni-names.ts';
import { parseCniResult, resultAsVersion, type CniResult } from './cni-result.ts';
import { hasCachedDel, hasCheck, hasGcAndStatus, LATEST_CNI_VERSION } from './cni-version.ts';
import { loadNetwork } from './conf-dir.ts';
import { confListFromCache, type NetworkConfigList } from './conflist.ts';
import type { CacheRecord } from './cache-record.ts';
import { isNetnsPath } from './netns-path.ts';
import { gcStdin, pluginStdin, statusStdin } from './plugin-config.ts';
import { findPlugin } from './plugin-lookup.ts';
import { runPluginProcess } from './plugin-process.ts';
import { ResultCache, type AttachmentKey } from './result-cache.ts';

export interface CniExecutorOptions {
  /** Where plugins are looked up, in order (CNI_PATH). */
  binDirs: string[];
  /** Holds results/ (libcni's default is /var/lib/cni). */
  cacheDir: string;
  /** Lets detach by network name find a config when nothing is cached. */
  confDir?: string;
  /** Per plugin run; the plugin and what it started are killed after it. Default 60 s. */
  pluginTimeoutMs?: number;
  /** Most stdout read from a plugin. Default 1 MiB. */
  maxOutputBytes?: number;
  /** The environment plugins inherit (they need PATH). Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Receives what plugins log on stderr. */
  onPluginStderr?: (log: { plugin: string; command: CniCommand; text: string }) => void;
}

export interface Attachment {
  containerId: string;
  netnsPath: string;
  ifname: string;
  args?: CniArgs;
  capabilities?: CapabilityArgs;
}

/** What detach needs; the rest comes from the cache when there is one. */
export interface Detachment {
  containerId: string;
  ifname: string;
  netnsPath?: string;
  args?: CniArgs;
  capabilities?: CapabilityArgs;
}

export interface DetachOutcome {
  /** Where the config came from: the cached ADD, the given or conf dir config, or nowhere (nothing to do). */
  from: 'cache' | 'config' | 'nothing';
}

export interface CachedAttachment {
  networkName: string;
  containerId: string;
  ifname: string;
  netnsPath?: string;
  args?: CniArgs;
  capabilities?: Record<string, unknown>;
  result?: CniResult;
}

interface RunContext {
  list: NetworkConfigList;
  index: number;
}

export class CniExecutor {
  readonly cache: ResultCache;
  readonly #opts: Required<Omit<CniExecutorOptions, 'confDir' | 'onPluginStderr'>> & Pick<CniExecutorOptions, 'confDir' | 'onPluginStderr'>;
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(opts: CniExecutorOptions) {
    if (!opts.cacheDir) throw invalid('a CNI cache directory is required', { field: 'cacheDir' });
    this.#opts = { pluginTimeoutMs: 60_000, maxOutputBytes: 1024 * 1024, env: process.env, ...opts };
    this.cache = new ResultCache(opts.cacheDir);
  }

  /** ADD: attaches the container to the network and returns the final result (also cached). */
  async attach(list: NetworkConfigList, a: Attachment): Promise<CniResult> {
    const key = this.#key(list.name, a.containerId, a.ifname);
    if (!a.netnsPath) throw invalid('a network namespace path is required to attach', { field: 'netnsPath' });
    const capabilityArgs = normalizeCapabilityArgs(a.capabilities);
    const inv: InvocationArgs = { containerId: a.containerId, netnsPath: a.netnsPath, ifname: a.ifname, args: a.args ?? [] };
    return this.#serialized(key, async () => {
      if ((await this.cache.read(key)).state === 'found') {
        throw alreadyExists(`container ${a.containerId} is already attached to network "${list.name}" as ${a.ifname}; detach it first`, {
          path: this.cache.pathOf(key),
        });
      }
      let result: CniResult | undefined;
      let reached = 0;
      // Recorded (without a result) before the first plugin runs, unlike libcni: a daemon killed
      // during the ADD finds the attachment on restart and DELs what the plugins made (an address
      // host-local handed out would otherwise stay taken).
      await this.cache.write(this.#record(key, list, inv, capabilityArgs));
      try {
        for (const [index, plugin] of list.plugins.entries()) {
          reached = index;
          const stdin = pluginStdin(list, plugin, { prevResult: result, capabilityArgs });
          const stdout = await this.#invoke({ list, index }, 'ADD', stdin, inv);
          result = this.#addResult(stdout, { list, index });
        }
        await this.cache.write(this.#record(key, list, inv, capabilityArgs, result));
        return result!;
      } catch (err) {
        throw await this.#undoAdd(err, key, list, inv, capabilityArgs, reached);
      }
    });
  }

  /**
   * DEL: detaches the container. With a cached ADD it runs the cached config, arguments and
   * result (so it works after a restart, and with the conf dir changed or gone); without one, the
   * given config (or the conf dir's, for a name) with no prevResult, as libcni. Resources already
   * gone are not an error: a missing netns is passed as an empty CNI_NETNS, a second DEL succeeds.
   */
  async detach(network: NetworkConfigList | string, d: Detachment): Promise<DetachOutcome> {
    const name = typeof network === 'string' ? network : network.name;
    const key = this.#key(name, d.containerId, d.ifname);
    return this.#serialized(key, async () => {
      const lookup = await this.cache.read(key);
      let list: NetworkConfigList | undefined;
      let prevResult: CniResult | undefined;
      let inv: InvocationArgs = { containerId: d.containerId, netnsPath: d.netnsPath ?? '', ifname: d.ifname, args: d.args ?? [] };
      let capabilityArgs = normalizeCapabilityArgs(d.capabilities);
      if (lookup.state === 'found') {
        const rec = lookup.record;
        list = this.#cachedList(rec, lookup.path) ?? (typeof network === 'string' ? undefined : network);
        if (list && rec.result && hasCachedDel(list.cniVersion)) prevResult = this.#cachedResult(rec, list.cniVersion);
        // Older libcni (podman 4.3's) records no netns: the container interface's sandbox names it.
        const sandbox = prevResult?.interfaces.find((i) => i.name === d.ifname && i.sandbox)?.sandbox;
        inv = { ...inv, netnsPath: d.netnsPath ?? rec.netns ?? sandbox ?? '', args: rec.cniArgs ?? inv.args };
        if (rec.capabilityArgs) capabilityArgs = rec.capabilityArgs;
      }
      if (lookup.state === 'corrupt') await this.cache.remove(key); // as libcni: DEL without prevResult
      list ??= typeof network === 'string' ? await this.#confDirList(network) : network;
      if (!list) return { from: 'nothing' };
      if (!(await isNetnsPath(inv.netnsPath ?? ''))) inv.netnsPath = '';
      await this.#delAll(list, inv, capabilityArgs, prevResult);
      await this.cache.remove(key);
      return { from: lookup.state === 'found' ? 'cache' : 'config' };
    });
  }

  /** CHECK: asks each plugin, in order, whether the attachment is still as ADD left it. */
  async check(list: NetworkConfigList, a: Attachment): Promise<void> {
    if (!hasCheck(list.cniVersion)) {
      throw unimplemented(`network "${list.name}" speaks CNI ${list.cniVersion}, which has no CHECK`, { path: list.source, field: 'cniVersion' });
    }
    if (list.disableCheck) return;
    const key = this.#key(list.name, a.containerId, a.ifname);
    await this.#serialized(key, async () => {
      const lookup = await this.cache.read(key);
      if (lookup.state !== 'found' || !lookup.record.result) {
        throw notFound(`no cached ADD result for container ${a.containerId} on network "${list.name}" (${a.ifname})`, {
          path: this.cache.pathOf(key),
        });
      }
      const rec = lookup.record;
      const prevResult = this.#cachedResult(rec, list.cniVersion);
      if (!prevResult) throw precondition(`the cached ADD result is unreadable`, { path: lookup.path });
      const capabilityArgs = a.capabilities ? normalizeCapabilityArgs(a.capabilities) : (rec.capabilityArgs ?? {});
      const inv: InvocationArgs = { containerId: a.containerId, netnsPath: a.netnsPath, ifname: a.ifname, args: a.args ?? rec.cniArgs ?? [] };
      for (const [index, plugin] of list.plugins.entries()) {
        await this.#invoke({ list, index }, 'CHECK', pluginStdin(list, plugin, { prevResult, capabilityArgs }), inv);
      }
    });
  }

  /**
   * GC: detaches every cached attachment of the network not in `valid`, then (CNI 1.1.0) asks
   * each plugin to release whatever else it holds for attachments not in `valid`. Runs all it can
   * and reports every failure together.
   */
  async gc(list: NetworkConfigList, valid: Array<{ containerId: string; ifname: string }>): Promise<void> {
    if (list.disableGC) return;
    const keep = new Set(valid.map((v) => `${v.containerId}\0${v.ifname}`));
    const failures: string[] = [];
    for (const rec of await this.cache.list()) {
      if (rec.networkName !== list.name || keep.has(`${rec.containerId}\0${rec.ifname}`)) continue;
      await this.detach(list, { containerId: rec.containerId, ifname: rec.ifname }).catch((err: unknown) =>
        failures.push(`stale attachment ${rec.containerId} ${rec.ifname}: ${messageOf(err)}`),
      );
    }
    if (hasGcAndStatus(list.cniVersion)) {
      const attachments = valid.map((v) => ({ containerID: v.containerId, ifname: v.ifname }));
      for (const [index, plugin] of list.plugins.entries()) {
        await this.#invoke({ list, index }, 'GC', gcStdin(list, plugin, attachments), {}).catch((err: unknown) => failures.push(messageOf(err)));
      }
    }
    if (failures.length) throw new BerthError('internal', `CNI GC of network "${list.name}": ${failures.join('; ')}`, { op: 'cni GC' });
  }

  /** STATUS (CNI 1.1.0): whether every plugin is ready for ADD; older versions are taken as ready. */
  async status(list: NetworkConfigList): Promise<void> {
    if (!hasGcAndStatus(list.cniVersion)) return;
    for (const [index, plugin] of list.plugins.entries()) await this.#invoke({ list, index }, 'STATUS', statusStdin(list, plugin), {});
  }

  /** VERSION: the spec versions a plugin speaks. */
  async pluginVersions(type: string): Promise<string[]> {
    const path = await findPlugin(type, this.#opts.binDirs);
    const where = { plugin: type, command: 'VERSION' };
    let stdout: string;
    try {
      stdout = await this.#run(path, type, 'VERSION', JSON.stringify({ cniVersion: LATEST_CNI_VERSION }), {}, where);
    } catch (err) {
      // Plugins older than the VERSION command (spec 0.1.0) reject it by name.
      if (err instanceof CniPluginError && /unknown CNI_COMMAND: VERSION/.test(err.message)) return ['0.1.0'];
      throw err;
    }
    const info = parseJson(stdout) as { supportedVersions?: unknown } | undefined;
    const versions = info?.supportedVersions;
    if (!Array.isArray(versions) || versions.some((v) => typeof v !== 'string')) {
      throw new CniPluginError(where, { code: 0, msg: `printed no supportedVersions list: ${JSON.stringify(stdout.slice(0, 200))}` }, 'internal');
    }
    return versions as string[];
  }

  /** libcni's ValidateNetworkList: every plugin is installed and speaks the list's version. Returns the capabilities declared. */
  async validate(list: NetworkConfigList): Promise<string[]> {
    const problems: string[] = [];
    const capabilities = new Set<string>();
    for (const [index, plugin] of list.plugins.entries()) {
      plugin.capabilities.forEach((c) => capabilities.add(c));
      try {
        const versions = await this.pluginVersions(plugin.type);
        if (!versions.includes(list.cniVersion)) problems.push(`plugins[${index}] ${plugin.type} does not speak CNI ${list.cniVersion} (it speaks ${versions.join(', ')})`);
      } catch (err) {
        problems.push(`plugins[${index}]: ${messageOf(err)}`);
      }
    }
    if (problems.length) throw precondition(`network "${list.name}": ${problems.join('; ')}`, { path: list.source });
    return [...capabilities].sort();
  }

  /** The cached result of an attachment's ADD (what a restarted daemon reports as the pod's IPs). */
  async cachedResult(networkName: string, containerId: string, ifname: string): Promise<CniResult | undefined> {
    const lookup = await this.cache.read({ networkName, containerId, ifname });
    if (lookup.state !== 'found' || !lookup.record.result) return undefined;
    const version = this.#cachedList(lookup.record, lookup.path)?.cniVersion ?? String(lookup.record.result.cniVersion ?? '');
    return this.#cachedResult(lookup.record, version);
  }

  /** Every cached attachment (of one container, when given). */
  async cachedAttachments(containerId?: string): Promise<CachedAttachment[]> {
    return (await this.cache.list(containerId)).map((rec) => {
      const version = String(rec.result?.cniVersion ?? '');
      const result = rec.result ? this.#cachedResult(rec, version) : undefined;
      return {
        networkName: rec.networkName,
        containerId: rec.containerId,
        ifname: rec.ifname,
        ...(rec.netns ? { netnsPath: rec.netns } : {}),
        ...(rec.cniArgs ? { args: rec.cniArgs } : {}),
        ...(rec.capabilityArgs ? { capabilities: rec.capabilityArgs } : {}),
        ...(result ? { result } : {}),
      };
    });
  }

  #key(networkName: string, containerId: string, ifname: string): AttachmentKey {
    validateNetworkName(networkName);
    validateContainerId(containerId);
    validateIfname(ifname);
    return { networkName, containerId, ifname };
  }

  /** The spec forbids parallel operations on one attachment; within this process they queue. */
  async #serialized<T>(key: AttachmentKey, fn: () => Promise<T>): Promise<T> {
    const id = `${key.networkName}\0${key.containerId}\0${key.ifname}`;
    const before = this.#busy.get(id) ?? Promise.resolve();
    const run = before.catch(() => {}).then(fn);
    const tail = run.catch(() => {});
    this.#busy.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#busy.get(id) === tail) this.#busy.delete(id);
    }
  }

  #record(key: AttachmentKey, list: NetworkConfigList, inv: InvocationArgs, capabilityArgs: Record<string, unknown>, result?: CniResult): CacheRecord {
    return {
      ...key,
      netns: inv.netnsPath,
      cniArgs: inv.args,
      capabilityArgs,
      config: list.bytes,
      ...(result ? { result: resultAsVersion(result, list.cniVersion) } : {}),
    };
  }

  /**
   * After a failed ADD: DEL the whole list in reverse, without prevResult (what containerd and
   * cri-o do by tearing down); a plugin that is not installed is skipped if its ADD never ran. If
   * that fails too, a record without a result stays in the cache so that a later detach or GC can
   * finish the job.
   */
  async #undoAdd(err: unknown, key: AttachmentKey, list: NetworkConfigList, inv: InvocationArgs, capabilityArgs: Record<string, unknown>, reached: number): Promise<unknown> {
    try {
      await this.#delAll(list, inv, capabilityArgs, undefined, reached);
      await this.cache.remove(key);
      return err;
    } catch (undoErr) {
      await this.cache.write(this.#record(key, list, inv, capabilityArgs)).catch(() => {});
      const e = err instanceof BerthError ? err : fromSystemError(err, 'cni ADD');
      return new BerthError(e.kind, `${e.message}; undoing the ADD failed too (detach retries it): ${messageOf(undoErr)}`, e.where, { cause: err });
    }
  }

  /**
   * DEL in reverse order; the first failure stops it, as libcni: an earlier plugin's state (the
   * IP lease) must outlive a later one's (port forwards to that IP) until that is gone.
   */
  async #delAll(list: NetworkConfigList, inv: InvocationArgs, capabilityArgs: Record<string, unknown>, prevResult: CniResult | undefined, missingOkFrom = Infinity): Promise<void> {
    for (let index = list.plugins.length - 1; index >= 0; index--) {
      try {
        await this.#invoke({ list, index }, 'DEL', pluginStdin(list, list.plugins[index]!, { prevResult, capabilityArgs }), inv);
      } catch (err) {
        const neverAdded = index >= missingOkFrom && err instanceof BerthError && err.kind === 'not-found' && !(err instanceof CniPluginError);
        if (!neverAdded) throw err;
      }
    }
  }

  #cachedList(rec: CacheRecord, path: string): NetworkConfigList | undefined {
    if (!rec.config) return undefined;
    try {
      return confListFromCache(rec.config, `${path} (cached config)`);
    } catch {
      return undefined;
    }
  }

  /** A cached result that does not parse is treated as absent, as libcni does on DEL. */
  #cachedResult(rec: CacheRecord, version: string): CniResult | undefined {
    try {
      return rec.result ? parseCniResult(rec.result, version, 'cached CNI result') : undefined;
    } catch {
      return undefined;
    }
  }

  async #confDirList(name: string): Promise<NetworkConfigList | undefined> {
    if (!this.#opts.confDir) return undefined;
    try {
      return await loadNetwork(this.#opts.confDir, name);
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  #addResult(stdout: string, ctx: RunContext): CniResult {
    const plugin = ctx.list.plugins[ctx.index]!;
    const where = { plugin: plugin.type, field: `plugins[${ctx.index}]`, command: 'ADD', network: ctx.list.name };
    if (!stdout.trim()) throw new CniPluginError(where, { code: 0, msg: 'succeeded but printed no result' }, 'internal');
    const value = parseJson(stdout);
    if (value === undefined) throw new CniPluginError(where, { code: 0, msg: `printed a result that is not JSON: ${JSON.stringify(stdout.slice(0, 200))}` }, 'internal');
    return parseCniResult(value, ctx.list.cniVersion, `CNI plugin ${plugin.type} (plugins[${ctx.index}]) ADD result`);
  }

  async #invoke(ctx: RunContext, command: CniCommand, stdin: string, inv: InvocationArgs): Promise<string> {
    const plugin = ctx.list.plugins[ctx.index]!;
    const where = { plugin: plugin.type, field: `plugins[${ctx.index}]`, command, network: ctx.list.name };
    let path: string;
    try {
      path = await findPlugin(plugin.type, this.#opts.binDirs);
    } catch (err) {
      throw err instanceof BerthError ? new BerthError(err.kind, `network "${ctx.list.name}": ${err.message}`, { path: ctx.list.source, field: `plugins[${ctx.index}].type` }) : err;
    }
    return this.#run(path, plugin.type, command, stdin, inv, where);
  }

  async #run(path: string, type: string, command: CniCommand, stdin: string, inv: InvocationArgs, where: ConstructorParameters<typeof CniPluginError>[0]): Promise<string> {
    const { binDirs, env, pluginTimeoutMs, maxOutputBytes, onPluginStderr } = this.#opts;
    let exit;
    try {
      exit = await runPluginProcess({ path, env: pluginEnv(command, inv, binDirs, env), stdin, timeoutMs: pluginTimeoutMs, maxOutputBytes });
    } catch (err) {
      throw fromSystemError(err, `run CNI plugin ${type}`, path);
    }
    if (exit.stderr && onPluginStderr) onPluginStderr({ plugin: type, command, text: exit.stderr });
    if (exit.killed === 'timeout') throw new CniPluginError(where, { code: 0, msg: `did not finish within ${pluginTimeoutMs} ms and was killed` }, 'unavailable');
    if (exit.killed === 'output') throw new CniPluginError(where, { code: 0, msg: `printed more than ${maxOutputBytes} bytes and was killed` }, 'internal');
    if (exit.code !== 0) {
      const ended = exit.signal ? `killed by ${exit.signal}` : `exit status ${exit.code}`;
      throw new CniPluginError(where, describeFailure(exit.stdout, exit.stderr, ended));
    }
    return exit.stdout;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function messageOf(err: unknown): string {
  return err instanceof BerthError ? err.describe() : err instanceof Error ? err.message : String(err);
}
