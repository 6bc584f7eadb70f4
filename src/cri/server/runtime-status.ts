// Status, polled by the kubelet every 5 s: RuntimeReady, and NetworkReady false (reason
// NetworkPluginNotReady) while no CNI network configuration loads from the conf dir. A node whose
// NetworkReady is false only runs host-network pods.
import { BerthError } from '../../oci/errors.ts';
import { loadNetwork } from '../../network/index.ts';
import type { CriContext } from './cri-context.ts';
import type { UnaryRpc } from './rpc.ts';

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export type NetworkState = { ready: true; network: string; cniVersion: string } | { ready: false; message: string };

export const RUNTIME_READY = 'RuntimeReady';
export const NETWORK_READY = 'NetworkReady';
export const NETWORK_NOT_READY_REASON = 'NetworkPluginNotReady';

/** Pure: the conditions for a network state. */
export function runtimeConditions(network: NetworkState): RuntimeCondition[] {
  return [
    { type: RUNTIME_READY, status: true, reason: '', message: '' },
    network.ready
      ? { type: NETWORK_READY, status: true, reason: '', message: '' }
      : { type: NETWORK_READY, status: false, reason: NETWORK_NOT_READY_REASON, message: `Network plugin returns error: ${network.message}` },
  ];
}

/** Whether the conf dir's default network loads (the network RunPodSandbox would use). */
export async function networkState(confDir: string): Promise<NetworkState> {
  try {
    const list = await loadNetwork(confDir);
    return { ready: true, network: list.name, cniVersion: list.cniVersion };
  } catch (err) {
    return { ready: false, message: err instanceof BerthError ? err.describe() : String(err) };
  }
}

export function runtimeStatus(ctx: CriContext): UnaryRpc {
  return async (req: { verbose?: boolean }) => {
    const network = await networkState(ctx.config.cni.confDir);
    const handlers = Object.keys(ctx.config.runtimes).sort();
    const response: Record<string, unknown> = {
      status: { conditions: runtimeConditions(network) },
      // The default handler is listed under "" as well, as containerd and cri-o do.
      runtime_handlers: ['', ...handlers].map((name) => ({ name, features: { recursive_read_only_mounts: false, user_namespaces: false } })),
      features: { supplemental_groups_policy: false, user_namespaces_host_network: false },
      info: {},
    };
    if (req.verbose) {
      const { config } = ctx;
      response.info = {
        config: JSON.stringify({
          root: config.root,
          state: config.state,
          listen: config.listen,
          registriesConfig: config.registriesConfig,
          defaultRuntime: config.defaultRuntime,
          runtimes: config.runtimes,
          cni: config.cni,
          streaming: config.streaming,
          podCidr: ctx.runtime.podCidr,
        }),
        network: JSON.stringify(network),
      };
    }
    return response;
  };
}
