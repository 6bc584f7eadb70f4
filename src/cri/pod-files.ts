// The contents of a pod's /etc/resolv.conf, /etc/hosts and /etc/hostname. Every value that lands
// in these files is checked so that none can start a second line (a `search` domain carrying
// "\nnameserver 6.6.6.6" would redirect the pod's DNS).
import { isIP } from 'node:net';
import { invalid } from '../oci/errors.ts';
import type { DNSConfig } from './cri-types.ts';

const FIELD = 'config.dns_config';
const SEARCH = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/;
const OPTION = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,254}$/;
/** RFC 1123 host name: labels of letters, digits and '-', at most 64 bytes (the kernel's limit). */
const HOSTNAME = /^(?=.{1,64}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function checkHostname(hostname: string, field: string): string {
  if (!HOSTNAME.test(hostname)) throw invalid(`${field}: ${JSON.stringify(hostname.slice(0, 80))} is not a valid host name`, { field });
  return hostname;
}

/**
 * resolv.conf from the pod's DNS config (containerd's order: search, nameserver, options); the
 * host's resolv.conf when the config is absent or empty, as containerd copies it.
 */
export function resolvConf(dns: DNSConfig | null | undefined, hostResolvConf: string): string {
  const servers = dns?.servers ?? [];
  const searches = dns?.searches ?? [];
  const options = dns?.options ?? [];
  servers.forEach((s, i) => {
    if (isIP(s) === 0) throw invalid(`${FIELD}.servers[${i}]: ${JSON.stringify(s)} is not an IP address`, { field: `${FIELD}.servers[${i}]` });
  });
  searches.forEach((s, i) => {
    if (!SEARCH.test(s)) throw invalid(`${FIELD}.searches[${i}]: ${JSON.stringify(s)} is not a search domain`, { field: `${FIELD}.searches[${i}]` });
  });
  options.forEach((o, i) => {
    if (!OPTION.test(o)) throw invalid(`${FIELD}.options[${i}]: ${JSON.stringify(o)} is not a resolver option`, { field: `${FIELD}.options[${i}]` });
  });
  let out = '';
  if (searches.length > 0) out += `search ${searches.join(' ')}\n`;
  for (const s of servers) out += `nameserver ${s}\n`;
  if (options.length > 0) out += `options ${options.join(' ')}\n`;
  return out === '' ? hostResolvConf : out;
}

const LOCAL_HOSTS = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'fe00::0\tip6-mcastprefix', 'fe00::1\tip6-allnodes', 'fe00::2\tip6-allrouters'];

/**
 * /etc/hosts: the host's for a host-network pod (containerd copies it); otherwise the kubelet's
 * layout, with the pod's addresses (known after CNI ADD; call again then) naming its host name.
 */
export function hostsFile(options: { hostNetwork: boolean; hostHosts: string; hostname: string; podIPs?: string[] }): string {
  if (options.hostNetwork) return options.hostHosts;
  const lines = [...LOCAL_HOSTS];
  for (const ip of options.podIPs ?? []) {
    if (isIP(ip) === 0) throw invalid(`pod IP ${JSON.stringify(ip)} is not an IP address`, { field: 'pod_ips' });
    lines.push(`${ip}\t${options.hostname}`);
  }
  return lines.join('\n') + '\n';
}

export const hostnameFile = (hostname: string): string => `${hostname}\n`;
