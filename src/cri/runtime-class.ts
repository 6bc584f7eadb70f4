// RuntimeClass: the pod's runtime_handler names one of berthd's `[runtimes.NAME]` handlers ("" is
// the default_runtime). Pure; an unknown name is refused with the names berthd knows.
import { notFound } from '../oci/errors.ts';
import type { Spec } from '../oci/runtime-spec.ts';
import { CRI_ANNOTATIONS } from './container-annotations.ts';
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
 * Whether each container of a pod on this handler is a sandbox of its own: gVisor's runsc. Its
 * containerd way (a sandbox container, the others joined to it by the
 * `io.kubernetes.cri.container-type` / `sandbox-id` annotations) does not fit a runtime driven
 * as runc is: `runsc start` of a joined container hands its own stdio to the container and the
 * pid it writes is the sandbox's, so no monitor could carry the container's logs or see its exit
 * (containerd has a runsc-specific shim for that). Unjoined, every container is a runsc root
 * container in the pod's namespaces, supervised as a runc one; they share the pod's network
 * through the host kernel's stack (runsc --network=host), each with a gVisor kernel of its own.
 */
export const sandboxPerContainer = (config: Pick<DaemonConfig, 'runtimes'>, handler: string): boolean => /(^|\/)runsc$/.test(config.runtimes[handler]?.path ?? '');

/** A container's spec for its handler: without the container-type annotation that would join it to a sandbox runsc does not have. */
export function specForHandler(spec: Spec, ownSandbox: boolean): Spec {
  if (!ownSandbox || !spec.annotations?.[CRI_ANNOTATIONS.containerType]) return spec;
  const { [CRI_ANNOTATIONS.containerType]: _joined, ...annotations } = spec.annotations;
  return { ...spec, annotations };
}
