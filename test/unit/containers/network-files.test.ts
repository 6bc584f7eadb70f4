// The /etc/hosts and /etc/resolv.conf of `berth run` containers: docker's layout, --add-host,
// the container's own entry and its peers', the host's resolvers filtered for a container with a
// network of its own, and no value that could start a line of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDns, checkHostname, hostsFileContent, parseAddHost, resolvConfContent } from '../../../src/containers/network-files.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const fails = (fn: () => unknown, field: string, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof BerthError && err.where.field === field && message.test(err.message));
};

const LOCAL = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

test('hosts: localhost lines, --add-host, the container itself, then its peers by name', () => {
  const text = hostsFileContent({
    extra: [parseAddHost('db:10.1.2.3'), parseAddHost('v6=[fd00::1]')],
    self: { ip: '10.90.1.2', names: ['abc123', 'web', 'abc123'] },
    peers: [
      { ip: '10.90.1.4', names: ['worker', 'f00'] },
      { ip: '10.90.1.3', names: ['api', 'e11'] },
    ],
  });
  assert.equal(text, `${LOCAL}10.1.2.3\tdb\nfd00::1\tv6\n10.90.1.2\tabc123 web\n10.90.1.3\tapi e11\n10.90.1.4\tworker f00\n`);
});

test('hosts: without an address the hostname is on 127.0.0.1; a host-network container starts from the host file', () => {
  assert.equal(hostsFileContent({ extra: [], self: { names: ['box'] }, peers: [] }), `${LOCAL}127.0.0.1\tbox\n`);
  assert.equal(hostsFileContent({ hostHosts: '127.0.0.1 localhost\n10.0.0.9 nas\n\n', extra: [parseAddHost('db:10.1.2.3')], self: { names: ['x'] }, peers: [] }), '127.0.0.1 localhost\n10.0.0.9 nas\n10.1.2.3\tdb\n');
});

test('names and addresses that could start a line are refused, naming the flag', () => {
  fails(() => parseAddHost('db:10.1.2.3\n6.6.6.6 bank'), '--add-host', /is not NAME:IP/);
  fails(() => parseAddHost('db'), '--add-host', /is not NAME:IP/);
  fails(() => parseAddHost('db:not-an-ip'), '--add-host', /is not NAME:IP/);
  fails(() => parseAddHost('bad name:10.1.2.3'), '--add-host', /not a valid host name/);
  fails(() => checkHostname('a'.repeat(65), '--hostname'), '--hostname', /not a valid host name/);
  fails(() => checkHostname('-x', '--hostname'), '--hostname', /not a valid host name/);
  assert.equal(checkHostname('web-1.example', '--hostname'), 'web-1.example');
  fails(() => hostsFileContent({ extra: [], self: { names: ['x'] }, peers: [{ ip: '10.0.0.1', names: ['a\nb'] }] }), 'hosts', /not a valid host name/);
  fails(() => checkDns({ servers: ['8.8.8.8\nnameserver 6.6.6.6'], search: [], options: [] }), '--dns', /not an IP address/);
  fails(() => checkDns({ servers: [], search: ['a b'], options: [] }), '--dns-search', /not a search domain/);
  fails(() => checkDns({ servers: [], search: [], options: ['ndots:2\nnameserver 1.1.1.1'] }), '--dns-option', /not a resolver option/);
});

const HOST = 'domain corp.example\nsearch corp.example lab.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0 trust-ad\n';
const none = { servers: [], search: [], options: [] };

test("resolv.conf: the host's, without its loopback resolvers for a container with its own network", () => {
  assert.equal(resolvConfContent(HOST, none, true), 'search corp.example lab.example\nnameserver 192.0.2.53\noptions edns0 trust-ad\n');
  assert.equal(resolvConfContent(HOST, none, false), 'search corp.example lab.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0 trust-ad\n');
  assert.equal(resolvConfContent('nameserver 127.0.0.53\n', none, true), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n', "docker's fallback");
  assert.equal(resolvConfContent('', none, false), '');
});

test('resolv.conf: --dns, --dns-search and --dns-option replace what the host has ("." clears the search list)', () => {
  assert.equal(resolvConfContent(HOST, { servers: ['1.1.1.1'], search: ['.'], options: ['ndots:2'] }, true), 'nameserver 1.1.1.1\noptions ndots:2\n');
  assert.equal(resolvConfContent(HOST, { servers: [], search: ['svc.local'], options: [] }, true), 'search svc.local\nnameserver 192.0.2.53\noptions edns0 trust-ad\n');
});
