// Kubelet-shaped CRI requests for tests on a PodEnv: a pod config on the run's cgroup parent and
// log dir, a container config on the env's busybox image.
import { join } from 'node:path';
import { cgroupParentOf, type PodEnv } from './cri-pod-env.ts';

export function podConfigFor(env: PodEnv, name: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${env.id}`, attempt: 0 },
    hostname: name,
    log_directory: join(env.work, 'logs', name),
    labels: { app: name, run: env.id },
    linux: { cgroup_parent: `/${cgroupParentOf(env.id)}`, security_context: { namespace_options: { pid: 'CONTAINER' } } },
    ...extra,
  };
}

export function containerConfigFor(env: PodEnv, name: string, command: string[], extra: Record<string, unknown> = {}) {
  return { metadata: { name, attempt: 0 }, image: { image: env.image }, command, log_path: `${name}/0.log`, labels: { c: name }, ...extra };
}

/** Runs a pod with one started container running `command`. */
export async function runPodWith(env: PodEnv, name: string, command: string[], opts: { handler?: string } = {}) {
  const rt = env.d.client;
  const config = podConfigFor(env, name);
  const { pod_sandbox_id: podId } = await rt.runtime('RunPodSandbox', { config, runtime_handler: opts.handler ?? '' });
  const { container_id: id } = await rt.runtime('CreateContainer', { pod_sandbox_id: podId, config: containerConfigFor(env, name, command), sandbox_config: config });
  await rt.runtime('StartContainer', { container_id: id });
  return { podId, id, config };
}
