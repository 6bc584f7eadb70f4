// CNI_ARGS and the environment a plugin runs with.

import { invalid } from '../oci/errors.ts';

export type CniArgs = Array<[string, string]>;

export interface PodIdentity {
  namespace: string;
  name: string;
  /** The sandbox id (the pod's "infra container"). */
  sandboxId: string;
  uid: string;
}

/**
 * The arguments containerd and cri-o pass for a pod. IgnoreUnknown=1 first: plugins that parse
 * CNI_ARGS strictly would otherwise fail on the K8S_ keys they do not know.
 */
export function podCniArgs(pod: PodIdentity): CniArgs {
  return [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', pod.namespace],
    ['K8S_POD_NAME', pod.name],
    ['K8S_POD_INFRA_CONTAINER_ID', pod.sandboxId],
    ['K8S_POD_UID', pod.uid],
  ];
}

/** "K=V;K=V". A key or value holding ";" (or a key holding "=") would change the meaning: refused. */
export function formatCniArgs(args: CniArgs): string {
  return args
    .map(([k, v], i) => {
      if (!k || /[;=]/.test(k)) throw invalid(`CNI_ARGS key "${k}" must be non-empty, without ";" or "="`, { field: `args[${i}]` });
      if (v.includes(';')) throw invalid(`CNI_ARGS value for ${k} must not contain ";"`, { field: `args[${i}]` });
      return `${k}=${v}`;
    })
    .join(';');
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';

export interface InvocationArgs {
  containerId?: string;
  netnsPath?: string;
  ifname?: string;
  args?: CniArgs;
}

/**
 * The plugin's environment: the given base environment (plugins run iptables and ip from PATH)
 * with the CNI_ variables set over it. Like libcni, VERSION gets placeholder values that plugins
 * built on old skeletons require.
 */
export function pluginEnv(command: CniCommand, inv: InvocationArgs, binDirs: string[], base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('CNI_')) env[k] = v;
  const dummy = command === 'VERSION' ? 'dummy' : '';
  env.CNI_COMMAND = command;
  env.CNI_CONTAINERID = inv.containerId ?? '';
  env.CNI_NETNS = inv.netnsPath ?? dummy;
  env.CNI_IFNAME = inv.ifname ?? dummy;
  env.CNI_ARGS = formatCniArgs(inv.args ?? []);
  env.CNI_PATH = binDirs.join(':');
  return env;
}
