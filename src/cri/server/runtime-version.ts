// Version: the kubelet refuses a runtime that leaves any of the four fields empty.
import pkg from '../../../package.json' with { type: 'json' };
import type { UnaryRpc } from './rpc.ts';

/** The version of the CRI's Version API itself (what containerd and cri-o answer). */
export const KUBE_RUNTIME_API_VERSION = '0.1.0';
export const RUNTIME_NAME = 'berth';
export const RUNTIME_API_VERSION = 'v1';

export const version: UnaryRpc = () => ({
  version: KUBE_RUNTIME_API_VERSION,
  runtime_name: RUNTIME_NAME,
  runtime_version: pkg.version,
  runtime_api_version: RUNTIME_API_VERSION,
});
