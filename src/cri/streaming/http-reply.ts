// Plain HTTP answers before a connection is upgraded, on a normal response or (after Node's
// 'upgrade' event, which hands over the bare socket) written by hand. Bodies are text, like Go's
// http.Error.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type Headers = Array<[string, string]>;

export interface Reply {
  /** Ends the exchange with an error status and a text body. */
  error(status: number, body: string, headers?: Headers): void;
}

export function responseReply(res: ServerResponse): Reply {
  return {
    error(status, body, headers = []) {
      for (const [k, v] of headers) res.appendHeader(k, v);
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(`${body}\n`);
    },
  };
}

export function socketReply(socket: Duplex): Reply {
  return {
    error(status, body, headers = []) {
      const text = `${body}\n`;
      const lines = [
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
        'Content-Type: text/plain; charset=utf-8',
        'X-Content-Type-Options: nosniff',
        `Content-Length: ${Buffer.byteLength(text)}`,
        'Connection: close',
        ...headers.map(([k, v]) => `${k}: ${v}`),
      ];
      socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
    },
  };
}

/** The 101 that switches the socket to SPDY/3.1 with the negotiated stream protocol. */
export function switchToSpdy(socket: Duplex, protocol: string): void {
  socket.write(['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1', `X-Stream-Protocol-Version: ${protocol}`, '', ''].join('\r\n'));
}
