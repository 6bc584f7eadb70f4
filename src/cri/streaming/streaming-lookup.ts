// What the streaming RPCs and the container backend need to know about containers and pods, and
// nothing more: berthd's container and pod stores answer it; tests answer it from a map.

export type StreamingContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface StreamingContainer {
  state: StreamingContainerState;
  podSandboxId: string;
}

export interface StreamingPod {
  ready: boolean;
  /** The pod's network namespace (a pinned file); undefined: the host's (host network). */
  netnsPath?: string;
}

export interface StreamingLookup {
  container(id: string): StreamingContainer | undefined;
  pod(id: string): StreamingPod | undefined;
}
