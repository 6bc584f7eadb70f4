// List and inspect: records with their status, from memory (the records read when the service
// opened, kept up to date by its own operations and the exits it heard).
import { quote } from '../oci/quote.ts';
import { invalid, notFound } from '../oci/errors.ts';
import type { ContainerRecord, ContainerView } from './container-record.ts';
import { viewNow } from './live-facts.ts';
import type { ServiceContext } from './service-context.ts';

export type ContainerInfo = ContainerRecord & ContainerView & {
  /** The log file the monitor writes, if any. */
  logFile?: string;
};

export function infoOf(ctx: ServiceContext, record: ContainerRecord): ContainerInfo {
  return { ...record, ...viewNow(ctx, record), ...logFileOf(ctx, record) };
}

function logFileOf(ctx: ServiceContext, record: ContainerRecord): { logFile?: string } {
  if (record.logPath === null || (!record.monitor && record.logPath === undefined && record.foreground)) return {};
  return { logFile: record.logPath ?? ctx.records.files(record.id).logFile };
}

/** Every container, newest first. */
export function listContainers(ctx: ServiceContext): ContainerInfo[] {
  return [...ctx.memory.values()].sort((a, b) => b.created.localeCompare(a.created)).map((r) => infoOf(ctx, r));
}

/** A container's record by id, name or unique id prefix: an id is a map look-up, a name or prefix one scan. */
export function findRecord(ctx: ServiceContext, key: string): ContainerRecord {
  const byId = ctx.memory.get(key);
  if (byId) return byId;
  let prefixed: ContainerRecord | undefined;
  let ambiguous = false;
  for (const r of ctx.memory.values()) {
    if (r.name === key) return r;
    if (r.id.startsWith(key)) {
      ambiguous ||= prefixed !== undefined;
      prefixed = r;
    }
  }
  if (ambiguous) throw invalid(`container id prefix "${key}" is ambiguous`, { field: 'container' });
  if (prefixed) return prefixed;
  throw notFound(`no such container: ${quote(key)}`, { field: 'container' });
}

export function inspectContainer(ctx: ServiceContext, key: string): ContainerInfo {
  return infoOf(ctx, findRecord(ctx, key));
}
