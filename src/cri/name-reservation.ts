// Pod and container names, reserved as containerd does: `name_namespace_uid_attempt` for a pod,
// `name_podname_namespace_poduid_attempt` for a container. One id holds a name until it is
// removed; a second create with the same name is refused with the holder's id (a client retrying
// after a timeout then finds the first one through List and removes or reuses it).
import { alreadyExists } from '../oci/errors.ts';

export interface PodMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
}

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

export const podReservedName = (md: PodMetadata): string => [md.name, md.namespace, md.uid, md.attempt].join('_');

export const containerReservedName = (md: ContainerMetadata, pod: PodMetadata): string =>
  [md.name, pod.name, pod.namespace, pod.uid, md.attempt].join('_');

export class NameReservations {
  private readonly byName = new Map<string, string>();

  /** Reserves `name` for `id`; reserving it again for the same id is fine. */
  reserve(name: string, id: string, what: string): void {
    const holder = this.byName.get(name);
    if (holder !== undefined && holder !== id) throw alreadyExists(`${what} name ${JSON.stringify(name)} is reserved for ${holder}`, { field: 'metadata' });
    this.byName.set(name, id);
  }

  /** Frees the name if `id` holds it. */
  release(name: string, id: string): void {
    if (this.byName.get(name) === id) this.byName.delete(name);
  }

  holder(name: string): string | undefined {
    return this.byName.get(name);
  }
}
