// Exec, Attach and PortForward: each checks the request against the container's and the pod's
// state, caches it under a single-use token in the streaming server and returns the URL the
// client connects to. The streams themselves are the streaming server's (src/cri/streaming/).
import { notFound, precondition } from '../../oci/errors.ts';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../streaming/backend.ts';
import type { StreamingLookup } from '../streaming/streaming-lookup.ts';
import type { UnaryRpc } from './rpc.ts';

/** The streaming server's side the RPCs use: it validates the request's shape and hands out URLs. */
export interface StreamingUrls {
  getExec(req: ExecRequest): { url: string };
  getAttach(req: AttachRequest): { url: string };
  getPortForward(req: PortForwardRequest): { url: string };
}

export interface StreamingRpcDeps {
  urls: StreamingUrls;
  lookup: StreamingLookup;
}

interface WireStreams {
  container_id?: string;
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

/** The container must be running in a ready pod: an exec or attach into anything else fails now, not at connect. */
export function requireRunningContainer(lookup: StreamingLookup, id: string, what: string): void {
  if (!id) return; // the streaming server's own check names the missing field
  const c = lookup.container(id);
  if (!c) throw notFound(`${what}: container ${id} not found`, { field: 'container_id' });
  if (c.state !== 'running') throw precondition(`${what}: container ${id} is not running (it is ${c.state})`, { field: 'container_id' });
  requireReadyPod(lookup, c.podSandboxId, what);
}

export function requireReadyPod(lookup: StreamingLookup, id: string, what: string): void {
  if (!id) return;
  const p = lookup.pod(id);
  if (!p) throw notFound(`${what}: pod sandbox ${id} not found`, { field: 'pod_sandbox_id' });
  if (!p.ready) throw precondition(`${what}: pod sandbox ${id} is not ready`, { field: 'pod_sandbox_id' });
}

function streamsOf(req: WireStreams): Omit<AttachRequest, 'containerId'> {
  return { tty: !!req.tty, stdin: !!req.stdin, stdout: !!req.stdout, stderr: !!req.stderr };
}

export function streamingRpcs(deps: StreamingRpcDeps): Record<'Exec' | 'Attach' | 'PortForward', UnaryRpc> {
  return {
    Exec: (req: WireStreams & { cmd?: string[] }) => {
      const containerId = req.container_id ?? '';
      requireRunningContainer(deps.lookup, containerId, 'exec');
      return deps.urls.getExec({ containerId, cmd: [...(req.cmd ?? [])], ...streamsOf(req) });
    },
    Attach: (req: WireStreams) => {
      const containerId = req.container_id ?? '';
      requireRunningContainer(deps.lookup, containerId, 'attach');
      return deps.urls.getAttach({ containerId, ...streamsOf(req) });
    },
    PortForward: (req: { pod_sandbox_id?: string; port?: number[] }) => {
      const podSandboxId = req.pod_sandbox_id ?? '';
      requireReadyPod(deps.lookup, podSandboxId, 'port forward');
      return deps.urls.getPortForward({ podSandboxId, port: [...(req.port ?? [])] });
    },
  };
}
