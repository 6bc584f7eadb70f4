// RuntimeConfig: the cgroup driver berth really uses (it writes cgroupfs paths; the kubelet must
// match or it places pods in cgroups no one manages). UpdateRuntimeConfig: the node's pod CIDR.
import { invalid } from '../../oci/errors.ts';
import type { CriContext } from './cri-context.ts';
import type { UnaryRpc } from './rpc.ts';

export const runtimeConfig: UnaryRpc = () => ({ linux: { cgroup_driver: 'CGROUPFS' } });

// One or more CIDRs, comma-separated (dual stack), each IPv4 or IPv6 with a prefix length.
const CIDR_RE = /^(?:(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

export function checkPodCidr(value: string): string {
  if (value === '') return '';
  for (const part of value.split(',')) {
    if (!CIDR_RE.test(part.trim())) throw invalid(`runtime_config.network_config.pod_cidr: "${part}" is not a CIDR`, { field: 'runtime_config.network_config.pod_cidr' });
  }
  return value;
}

export function updateRuntimeConfig(ctx: CriContext): UnaryRpc {
  return (req: { runtime_config?: { network_config?: { pod_cidr?: string } | null } | null }) => {
    const cidr = req.runtime_config?.network_config?.pod_cidr ?? '';
    // An empty CIDR is "nothing to change" (the kubelet sends one before it knows the node's).
    if (cidr !== '' && cidr !== ctx.runtime.podCidr) {
      ctx.runtime.podCidr = checkPodCidr(cidr);
      ctx.log.info('pod CIDR updated', { pod_cidr: cidr });
    }
    return {};
  };
}
