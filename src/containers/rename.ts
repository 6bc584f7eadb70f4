// Rename: a container's name, changed under the store's names lock (as create takes one).
import { quote } from '../oci/quote.ts';
import { alreadyExists, invalid } from '../oci/errors.ts';
import { withLock } from './container-lock.ts';
import type { ContainerRecord } from './container-record.ts';
import { saveRecord, withContainer, type ServiceContext } from './service-context.ts';

const NAME = /^[A-Za-z0-9][\w.-]*$/;

/** Throws unless `name` is a container name as docker allows them. */
export function checkContainerName(name: string, field = '--name'): void {
  if (!NAME.test(name)) throw invalid(`invalid container name ${quote(name)}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`, { field });
}

export function renameContainer(ctx: ServiceContext, id: string, name: string): Promise<ContainerRecord> {
  checkContainerName(name, 'name');
  return withContainer(ctx, id, (record) =>
    withLock(ctx.records.namesLockPath(), async () => {
      if (record.name === name) throw invalid(`renaming a container with the same name as its current name: ${quote(name)}`, { field: 'name' });
      if (ctx.records.list().some((r) => r.name === name && r.id !== id)) throw alreadyExists(`container name ${quote(name)} is already in use`, { field: 'name' });
      record.name = name;
      saveRecord(ctx, record);
      return record;
    }),
  );
}
