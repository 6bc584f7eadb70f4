// Which streaming protocol a client gets. Over SPDY the client lists versions in
// X-Stream-Protocol-Version (preferred first) and the server picks the first it supports, or
// answers 403 with the ones it accepts in X-Accepted-Stream-Protocol-Versions (apimachinery's
// httpstream.Handshake). Over WebSocket the same choice is made on Sec-WebSocket-Protocol.

/** remotecommand versions: v5 over SPDY behaves as v4 (half-close is native to SPDY). */
export const REMOTECOMMAND_SPDY_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
export const PORTFORWARD_SPDY_PROTOCOLS = ['portforward.k8s.io'];

export type RemoteCommandVersion = 1 | 2 | 3 | 4 | 5;

export function remoteCommandVersion(protocol: string): RemoteCommandVersion {
  const m = /^v([2-5])\./.exec(protocol);
  return m ? (Number(m[1]) as RemoteCommandVersion) : 1;
}

/** WebSocket subprotocols: the channel byte is raw, or an ASCII digit before base64 data. */
export interface WebSocketProtocol {
  name: string;
  base64: boolean;
  version: RemoteCommandVersion;
}

export const REMOTECOMMAND_WEBSOCKET_PROTOCOLS: WebSocketProtocol[] = [
  { name: 'v5.channel.k8s.io', base64: false, version: 5 },
  { name: 'v4.channel.k8s.io', base64: false, version: 4 },
  { name: 'v4.base64.channel.k8s.io', base64: true, version: 4 },
  { name: 'channel.k8s.io', base64: false, version: 1 },
  { name: 'base64.channel.k8s.io', base64: true, version: 1 },
];

export const PORTFORWARD_WEBSOCKET_PROTOCOLS: WebSocketProtocol[] = [
  { name: 'v4.channel.k8s.io', base64: false, version: 4 },
  { name: 'v4.base64.channel.k8s.io', base64: true, version: 4 },
];

/** A client that names no subprotocol gets raw channels with plain-text errors. */
export const WEBSOCKET_DEFAULT: WebSocketProtocol = { name: '', base64: false, version: 1 };

/** The values of a header given as one or more comma-separated lines, in order. */
export function headerList(value: string | string[] | undefined): string[] {
  const lines = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return lines.flatMap((l) => l.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}

/** The first protocol the client offers that the server supports. */
export function negotiate(offered: string[], supported: string[]): string | undefined {
  return offered.find((p) => supported.includes(p));
}
