// linux.sysctl: only settings that belong to a namespace the container owns, with names and
// values that can't reach another setting (CVE-2022-0811: a value smuggling "+key=value").

import { invalid } from '../oci/errors.ts';
import type { NamespaceType } from '../oci/runtime-spec.ts';

const IPC_KEYS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const NAME = /^[a-z0-9_]+(?:\.[a-zA-Z0-9_-]+)+$/;
const VALUE = /^[A-Za-z0-9 \t:._\-/]*$/;

export interface SysctlWrite {
  key: string;
  /** Path under /proc/sys. */
  path: string;
  value: string;
}

/** Validates and maps each sysctl to its /proc/sys file; `ownNs` are the new namespaces. */
export function planSysctls(sysctl: Record<string, string>, ownNs: readonly NamespaceType[]): SysctlWrite[] {
  return Object.entries(sysctl).map(([rawKey, value]) => {
    const key = rawKey.replace(/\//g, '.');
    const field = `linux.sysctl.${rawKey}`;
    if (!NAME.test(key) || key.split('.').some((c) => c === '' || c === '..')) throw invalid(`${field}: "${rawKey}" is not a sysctl name`, { field });
    const needs = (ns: NamespaceType, why: string): void => {
      if (!ownNs.includes(ns)) throw invalid(`${field}: ${why} needs the container's own ${ns} namespace`, { field });
    };
    if (IPC_KEYS.has(key) || key.startsWith('fs.mqueue.')) needs('ipc', 'an IPC sysctl');
    else if (key.startsWith('net.')) needs('network', 'a network sysctl');
    else if (key === 'kernel.hostname' || key === 'kernel.domainname') needs('uts', 'a UTS sysctl');
    else throw invalid(`${field}: "${key}" is not namespaced: it would change the host`, { field });
    if (!VALUE.test(value) || value.length > 4096) {
      throw invalid(`${field}: value ${JSON.stringify(value)} has characters a sysctl value can't hold`, { field });
    }
    return { key, path: `/proc/sys/${key.split('.').join('/')}`, value };
  });
}
