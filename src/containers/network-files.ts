// The /etc/hosts, /etc/resolv.conf and /etc/hostname a `berth run` container gets, as docker
// writes them. Pure. Every value is checked so that none can start a line of its own (a name
// carrying "\n10.0.0.1 bank.example" would redirect the container's traffic).

import { isIP } from 'node:net';
import { invalid } from '../oci/errors.ts';

/** RFC 1123 host names: labels of letters, digits and '-', at most 64 bytes (the kernel's limit for a hostname). */
const HOSTNAME = /^(?=.{1,64}$)[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$/;
const SEARCH = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/;
const OPTION = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,254}$/;

export function checkHostname(name: string, field: string): string {
  if (!HOSTNAME.test(name)) throw invalid(`${field}: ${JSON.stringify(name.slice(0, 80))} is not a valid host name`, { field });
  return name;
}

export interface HostEntry {
  ip: string;
  names: string[];
}

/** `--add-host NAME:IP` (docker also takes NAME=IP); IPv6 addresses may be bracketed. */
export function parseAddHost(value: string): HostEntry {
  const m = /^([^:=]+)[:=](.+)$/.exec(value);
  const ip = m?.[2]?.replace(/^\[(.*)\]$/, '$1');
  if (!m || !ip || isIP(ip) === 0) throw invalid(`--add-host: "${value}" is not NAME:IP`, { field: '--add-host' });
  return { ip, names: [checkHostname(m[1]!, '--add-host')] };
}

const LOCAL = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

export interface HostsInput {
  /** The host's /etc/hosts: a host-network container starts from it, as docker's. */
  hostHosts?: string;
  /** --add-host entries, before the container's own. */
  extra: readonly HostEntry[];
  /** The container itself: its address (undefined without one: the hostname goes on 127.0.0.1) and names. */
  self: { ip?: string; names: readonly string[] };
  /** The other containers on its network, kept current as they come and go. */
  peers: readonly HostEntry[];
}

export function hostsFileContent(input: HostsInput): string {
  const lines = input.hostHosts !== undefined ? input.hostHosts.replace(/\n+$/, '').split('\n') : [...LOCAL];
  const entry = (e: HostEntry): string => {
    if (isIP(e.ip) === 0) throw invalid(`hosts entry: ${JSON.stringify(e.ip)} is not an IP address`, { field: 'hosts' });
    e.names.forEach((n) => checkHostname(n, 'hosts'));
    return `${e.ip}\t${[...new Set(e.names)].join(' ')}`;
  };
  lines.push(...input.extra.map(entry));
  if (input.hostHosts === undefined) lines.push(entry({ ip: input.self.ip ?? '127.0.0.1', names: [...input.self.names] }));
  lines.push(...[...input.peers].sort((a, b) => a.names[0]!.localeCompare(b.names[0]!)).map(entry));
  return `${lines.join('\n')}\n`;
}

export interface DnsOverrides {
  servers: readonly string[];
  search: readonly string[];
  options: readonly string[];
}

export function checkDns(dns: DnsOverrides): DnsOverrides {
  dns.servers.forEach((s) => {
    if (isIP(s) === 0) throw invalid(`--dns: "${s}" is not an IP address`, { field: '--dns' });
  });
  dns.search.forEach((s) => {
    if (!SEARCH.test(s)) throw invalid(`--dns-search: "${s}" is not a search domain`, { field: '--dns-search' });
  });
  dns.options.forEach((o) => {
    if (!OPTION.test(o)) throw invalid(`--dns-option: "${o}" is not a resolver option`, { field: '--dns-option' });
  });
  return dns;
}

/** docker's fallback when the host only has resolvers on its own loopback. */
const FALLBACK_SERVERS = ['8.8.8.8', '8.8.4.4'];

const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

/**
 * resolv.conf from the host's, with --dns, --dns-search and --dns-option replacing its
 * nameservers, search list and options. A container with a network of its own cannot reach the
 * host's loopback: such nameservers are dropped (docker's rule), leaving Google's when none is left.
 */
export function resolvConfContent(hostResolvConf: string, dns: DnsOverrides, ownNetwork: boolean): string {
  const servers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  for (const line of hostResolvConf.split('\n')) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (key === 'nameserver' && values[0]) servers.push(values[0]);
    else if (key === 'search' || key === 'domain') search.splice(0, search.length, ...values);
    else if (key === 'options') options.push(...values);
  }
  let useServers = dns.servers.length ? [...dns.servers] : ownNetwork ? servers.filter((s) => !isLoopback(s)) : servers;
  if (!useServers.length && ownNetwork) useServers = FALLBACK_SERVERS;
  const useSearch = dns.search.length ? dns.search.filter((s) => s !== '.') : search;
  const useOptions = dns.options.length ? dns.options : options;
  const out: string[] = [];
  if (useSearch.length) out.push(`search ${useSearch.join(' ')}`);
  out.push(...useServers.map((s) => `nameserver ${s}`));
  if (useOptions.length) out.push(`options ${useOptions.join(' ')}`);
  return out.length ? `${out.join('\n')}\n` : '';
}
