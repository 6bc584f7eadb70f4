// The container's namespaces from its NamespaceOption and the pod's namespaces:
//  - POD joins the pod's namespace (the host's when the pod uses the host's);
//  - NODE is the host's, allowed only when the pod itself uses the host's (a container cannot
//    leave its pod's isolation);
//  - CONTAINER is a new namespace of the container's own;
//  - TARGET joins the namespace of the container named by target_id (kubectl debug).
// UTS always follows the pod; mount is always new; cgroup is new on cgroup v2 unless privileged
// (containerd). User namespaces are not supported yet and are refused.
import { invalid, unimplemented } from '../oci/errors.ts';
import type { Namespace, NamespaceType } from '../oci/runtime-spec.ts';
import type { PodNamespace, PodNamespaces, TargetContainerFacts } from './container-facts.ts';
import type { NamespaceOption } from './cri-types.ts';

const FIELD = 'config.linux.security_context.namespace_options';

function fromPod(type: NamespaceType, ns: PodNamespace): Namespace[] {
  return ns === 'host' ? [] : [{ type, path: ns.path }];
}

function choose(
  type: 'pid' | 'network' | 'ipc',
  key: 'pid' | 'network' | 'ipc',
  options: NamespaceOption | null | undefined,
  pod: PodNamespace | 'per-container',
  target: TargetContainerFacts | undefined,
): Namespace[] {
  const field = `${FIELD}.${key}`;
  // The CRI default (0) is POD, and the kubelet states every mode. A request with no
  // NamespaceOption at all (crictl) gets its pod's PID arrangement.
  const mode = options ? (options[key] ?? 'POD') : key === 'pid' && pod === 'per-container' ? 'CONTAINER' : 'POD';
  switch (mode) {
    case 'POD':
      if (pod === 'per-container') {
        throw invalid(`${field}: POD asks for the pod's PID namespace, but the pod was created without one (its PID mode is CONTAINER)`, { field });
      }
      return fromPod(type, pod);
    case 'NODE':
      if (pod !== 'host') throw invalid(`${field}: the host's ${type} namespace is not allowed in a pod that does not use it`, { field });
      return [];
    case 'CONTAINER':
      return [{ type }];
    case 'TARGET': {
      const id = options?.target_id ?? '';
      if (id === '') throw invalid(`${FIELD}.target_id: TARGET needs the id of a container in the same pod`, { field: `${FIELD}.target_id` });
      const path = target?.id === id ? target[key] : undefined;
      if (!path) throw invalid(`${FIELD}.target_id: no ${type} namespace known for target container ${JSON.stringify(id)}`, { field: `${FIELD}.target_id` });
      return [{ type, path }];
    }
    default:
      throw invalid(`${field}: unknown namespace mode ${JSON.stringify(mode)}`, { field });
  }
}

export interface NamespaceFacts {
  pod: PodNamespaces;
  target?: TargetContainerFacts;
  cgroupNamespace: boolean;
}

export function containerNamespaces(options: NamespaceOption | null | undefined, facts: NamespaceFacts): Namespace[] {
  const userns = options?.userns_options;
  if (userns) {
    const mode = userns.mode ?? 'POD';
    if (mode === 'POD') throw unimplemented(`${FIELD}.userns_options: user namespaces are not supported by berthd yet`, { field: `${FIELD}.userns_options` });
    if (mode !== 'NODE') throw invalid(`${FIELD}.userns_options.mode: ${JSON.stringify(mode)} is not a user namespace mode (POD or NODE)`, { field: `${FIELD}.userns_options.mode` });
  }
  return [
    ...choose('pid', 'pid', options, facts.pod.pid, facts.target),
    ...choose('network', 'network', options, facts.pod.network, facts.target),
    ...choose('ipc', 'ipc', options, facts.pod.ipc, facts.target),
    ...fromPod('uts', facts.pod.uts),
    { type: 'mount' },
    ...(facts.cgroupNamespace ? [{ type: 'cgroup' as const }] : []),
  ];
}

/** The container has its own IPC namespace, so it keeps a /dev/shm of its own too. */
export function ownsIpc(namespaces: Namespace[]): boolean {
  return namespaces.some((n) => n.type === 'ipc' && n.path === undefined);
}
