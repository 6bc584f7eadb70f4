// A pod under berthd with runtime_handler "vm" ([runtimes.vm] path = bin/berth-vm): CNI gives
// the pod an IP (bridge + host-local), the container runs in its own VM behind the pod's
// interface (tc mirred to a tap), and serves HTTP to the host on that IP. Removing the pod leaves
// no QEMU, tap or anything CNI made. Skips without QEMU, the guest image or the CNI plugins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/cli.ts';
import { cgroupParentOf, eventually, httpGet, startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';
import { vmSkipReason } from '../../support/vm.ts';

const skip = vmSkipReason() || (!existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false);

let env: PodEnv;

before(async () => {
  if (skip) return;
  env = await startPodEnv({ runtimes: { vm: join(repoRoot, 'bin/berth-vm') } });
  await env.d.client.image('PullImage', { image: { image: env.image } });
});

after(async () => {
  await env?.teardown();
});

const rt = (method: string, req: object = {}) => env.d.client.runtime(method, req);

/** QEMU processes of this run's VMs (their paths are under the run's work dir). */
function qemus(): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return cmd.startsWith('/usr/bin/qemu-system') && cmd.includes(env.work) ? [p] : [];
    } catch {
      return [];
    }
  });
}

test('a pod on the vm handler gets an IP and serves HTTP from its VM to the host; removing it leaves nothing', { skip }, async () => {
  const name = 'vmweb';
  const config = {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${env.id}`, attempt: 0 },
    hostname: name,
    log_directory: join(env.work, 'logs', name),
    labels: { run: env.id },
    linux: { cgroup_parent: `/${cgroupParentOf(env.id)}`, security_context: { namespace_options: { pid: 'CONTAINER' } } },
  };
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config, runtime_handler: 'vm' });
  const ip: string = (await rt('PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip;
  assert.ok(ip.startsWith(env.subnet.prefix), `pod IP ${ip} in ${env.subnet.subnet}`);
  const script = 'mkdir /tmp/www; { uname -r; hostname; } > /tmp/www/index.html; exec httpd -f -p 8080 -h /tmp/www';
  const { container_id: id } = await rt('CreateContainer', {
    pod_sandbox_id: podId,
    config: { metadata: { name, attempt: 0 }, image: { image: env.image }, command: ['/bin/sh', '-c', script], log_path: `${name}/0.log` },
    sandbox_config: config,
  });
  await rt('StartContainer', { container_id: id });
  const page = await eventually(() => httpGet(`http://${ip}:8080/index.html`), 90_000);
  const [release, hostname] = page.trim().split('\n');
  assert.match(release!, /cloud-amd64$/, 'served from the guest kernel');
  assert.equal(hostname, name, 'the pod\'s hostname');
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual((await rt('ListPodSandbox', {})).items, []);
  assert.deepEqual(qemus(), [], 'no QEMU left');
  assert.deepEqual(env.leftovers(), []);
});
