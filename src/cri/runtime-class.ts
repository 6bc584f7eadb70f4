// RuntimeClass: the pod's runtime_handler names one of berthd's `[runtimes.NAME]` handlers ("" is
// the default_runtime). Pure; an unknown name is refused with the names berthd knows.
import { notFound } from '../oci/errors.ts';
import type { DaemonConfig } from './daemon-config.ts';

export function runtimeHandlerName(requested: string | undefined, config: Pick<DaemonConfig, 'defaultRuntime' | 'runtimes'>): string {
  const name = requested || config.defaultRuntime;
  if (!config.runtimes[name]) {
    throw notFound(`runtime_handler: no runtime handler ${JSON.stringify(name)} is configured (known: ${Object.keys(config.runtimes).sort().join(', ')})`, { field: 'runtime_handler' });
  }
  return name;
}

/** The container service's runtime for a handler: its name when it is a program, else undefined (berth's own). */
export const serviceRuntime = (config: Pick<DaemonConfig, 'runtimes'>, handler: string): string | undefined => (config.runtimes[handler]?.path ? handler : undefined);

/**
 * Whether a handler's runtime builds each pod around a sandbox container (gVisor's runsc: the
 * containers of a pod join the sandbox named by their `io.kubernetes.cri.sandbox-id`), so the
 * pod needs its infra process whatever its PID namespace.
 */
export const needsSandboxContainer = (config: Pick<DaemonConfig, 'runtimes'>, handler: string): boolean => /(^|\/)runsc$/.test(config.runtimes[handler]?.path ?? '');
