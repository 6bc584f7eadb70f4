// The OCI annotations containerd's CRI plugin puts on a container's spec (its
// DefaultCRIAnnotations), which tools such as kata, NRI plugins and crictl inspect read. The
// request's own labels and annotations stay in berthd's records; none is copied into the spec.
import type { PodSandboxConfig } from './cri-types.ts';

export const CRI_ANNOTATIONS = {
  containerType: 'io.kubernetes.cri.container-type',
  sandboxId: 'io.kubernetes.cri.sandbox-id',
  sandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  sandboxUid: 'io.kubernetes.cri.sandbox-uid',
  sandboxName: 'io.kubernetes.cri.sandbox-name',
  sandboxLogDirectory: 'io.kubernetes.cri.sandbox-log-directory',
  containerName: 'io.kubernetes.cri.container-name',
  imageName: 'io.kubernetes.cri.image-name',
} as const;

export function containerAnnotations(sandboxId: string, containerName: string, imageName: string, pod: PodSandboxConfig): Record<string, string> {
  return {
    [CRI_ANNOTATIONS.sandboxId]: sandboxId,
    [CRI_ANNOTATIONS.sandboxNamespace]: pod.metadata?.namespace ?? '',
    [CRI_ANNOTATIONS.sandboxUid]: pod.metadata?.uid ?? '',
    [CRI_ANNOTATIONS.sandboxName]: pod.metadata?.name ?? '',
    [CRI_ANNOTATIONS.containerName]: containerName,
    [CRI_ANNOTATIONS.imageName]: imageName,
    [CRI_ANNOTATIONS.containerType]: 'container',
  };
}

/** The annotations of a pod's infra process (containerd's sandbox container). */
export function sandboxAnnotations(sandboxId: string, pod: PodSandboxConfig): Record<string, string> {
  return {
    [CRI_ANNOTATIONS.sandboxId]: sandboxId,
    [CRI_ANNOTATIONS.sandboxNamespace]: pod.metadata?.namespace ?? '',
    [CRI_ANNOTATIONS.sandboxUid]: pod.metadata?.uid ?? '',
    [CRI_ANNOTATIONS.sandboxName]: pod.metadata?.name ?? '',
    [CRI_ANNOTATIONS.sandboxLogDirectory]: pod.log_directory ?? '',
    [CRI_ANNOTATIONS.containerType]: 'sandbox',
  };
}
