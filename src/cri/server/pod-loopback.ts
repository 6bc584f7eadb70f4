// A pod's `lo` is brought up by CNI's loopback plugin before its network, as containerd and cri-o
// do: without it nothing in the pod reaches localhost (port-forward, probes, sidecars).
import { LOOPBACK_CONF_LIST } from '../../network/bridge-network.ts';
import { parseConfList } from '../../network/index.ts';

export const POD_LOOPBACK = parseConfList(JSON.stringify({ ...LOOPBACK_CONF_LIST, name: 'berthd-loopback' }), 'berthd loopback network');
export const LOOPBACK_IFNAME = 'lo';
