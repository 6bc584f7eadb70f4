// The spec's rules for the names a runtime passes to plugins (libcni checks the same before ADD).

import { invalid } from '../oci/errors.ts';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateContainerId(id: string): void {
  if (!id) throw invalid('CNI container id must not be empty', { field: 'containerId' });
  if (!NAME.test(id)) {
    throw invalid(`CNI container id "${id}" must start with a letter or digit and hold only letters, digits, _ . -`, {
      field: 'containerId',
    });
  }
}

export function validateNetworkName(name: string, where: { path?: string } = {}): void {
  if (!name) throw invalid('CNI network name must not be empty', { field: 'name', ...where });
  if (!NAME.test(name)) {
    throw invalid(`CNI network name "${name}" must start with a letter or digit and hold only letters, digits, _ . -`, {
      field: 'name',
      ...where,
    });
  }
}

/** Linux interface names: 1 to 15 bytes, not "." or "..", no "/", ":" or whitespace. */
export function validateIfname(ifname: string): void {
  const bad = (why: string) => invalid(`interface name "${ifname}" ${why}`, { field: 'ifname' });
  if (!ifname) throw bad('must not be empty');
  if (Buffer.byteLength(ifname) > 15) throw bad('is longer than 15 bytes');
  if (ifname === '.' || ifname === '..') throw bad('is not allowed');
  if (/[/:\s]/.test(ifname)) throw bad('must not contain "/", ":" or whitespace');
}
