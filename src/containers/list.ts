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

/** A container's record by id, name or unique id prefix. */
export function findRecord(ctx: ServiceContext, key: string): ContainerRecord {
  const all = [...ctx.memory.values()];
  const exact = all.find((r) => r.id === key || r.name === key);
  if (exact) return exact;
  const prefixed = all.filter((r) => r.id.startsWith(key));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw invalid(`container id prefix "${key}" is ambiguous`, { field: 'container' });
  throw notFound(`no such container: ${quote(key)}`, { field: 'container' });
}

export function inspectContainer(ctx: ServiceContext, key: string): ContainerInfo {
  return infoOf(ctx, findRecord(ctx, key));
}
