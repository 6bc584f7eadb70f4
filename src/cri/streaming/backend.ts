// What the streaming server asks of whoever runs processes (the container service in berthd; fakes
// and local processes in tests), and the three CRI requests it serves. Field names follow the CRI
// messages (runtime.v1 ExecRequest, AttachRequest, PortForwardRequest) in camelCase.
import type { Duplex, Readable, Writable } from 'node:stream';

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachRequest {
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardRequest {
  podSandboxId: string;
  /** Ports the client may forward; the WebSocket form opens one channel pair per port listed. */
  port: number[];
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * The client's streams, present as the request asked: stdin ends (EOF) when the client closes it;
 * with a tty, stdout carries the terminal and there is no stderr; resize yields the terminal's
 * size each time the client sends one (only the latest when the consumer falls behind), and ends
 * with the connection.
 */
export interface ProcessStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  resize?: AsyncIterable<TerminalSize>;
}

export interface StreamingBackend {
  /**
   * Runs `req.cmd` in the container. Resolves when the process has exited and its output has
   * been written to `stdout`/`stderr` (ending them is optional: the server ends them). `signal`
   * aborts when the client goes away or the server stops: the process should then be killed.
   * A rejection reaches the client as an internal error.
   */
  exec(req: ExecRequest, streams: ProcessStreams, signal: AbortSignal): Promise<{ exitCode: number }>;
  /** Attaches to the container's main process; resolves when it exits or the attach ends. */
  attach(req: AttachRequest, streams: ProcessStreams, signal: AbortSignal): Promise<void>;
  /**
   * Relays `socket` to `port` inside the pod's network namespace until either side closes:
   * `socket` ends (EOF) when the client closes its side; ending `socket` closes the client's.
   */
  portForward(podSandboxId: string, port: number, socket: Duplex, signal: AbortSignal): Promise<void>;
}
