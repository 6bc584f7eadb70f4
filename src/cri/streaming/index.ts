// berthd's streaming server (Exec, Attach, PortForward over SPDY/3.1 and WebSocket).
export { StreamingServer, type StreamingServerOptions } from './streaming-server.ts';
export type { AttachRequest, ExecRequest, PortForwardRequest, ProcessStreams, StreamingBackend, TerminalSize } from './backend.ts';
