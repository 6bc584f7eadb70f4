// SPDY/3.1 frames as data: the frame types berthd reads and writes, their flags and status codes
// (draft 3.1, section 2.6). The byte layouts live in spdy-framer.ts.
import { BerthError } from '../../oci/errors.ts';

export const SPDY_VERSION = 3;

/** Control frame type numbers. */
export const CONTROL = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
/** SYN_STREAM only: the receiver may not send on this stream. */
export const FLAG_UNIDIRECTIONAL = 0x02;
/** SETTINGS only. */
export const FLAG_CLEAR_SETTINGS = 0x01;

/** RST_STREAM status codes. */
export const RST = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  unsupportedVersion: 4,
  cancel: 5,
  internalError: 6,
  flowControlError: 7,
  streamInUse: 8,
  streamAlreadyClosed: 9,
  frameTooLarge: 11,
} as const;

/** GOAWAY status codes. */
export const GOAWAY = { ok: 0, protocolError: 1, internalError: 2 } as const;

/** The largest payload a frame's 24-bit length can carry. */
export const MAX_FRAME_LENGTH = 0xffffff;

/** Header names (lower case) to their values; one name may carry several values (NUL-joined on the wire). */
export type SpdyHeaders = Map<string, string[]>;

export type SpdyFrame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedTo: number; priority: number; fin: boolean; unidirectional: boolean; headers: SpdyHeaders }
  | { type: 'syn_reply'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; clear: boolean; entries: Array<{ id: number; flags: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'window_update'; streamId: number; delta: number }
  /** A control frame of a type this implementation does not know: the spec says to ignore it. */
  | { type: 'unknown'; controlType: number; flags: number; payload: Buffer };

/** A connection-level violation: the connection ends with GOAWAY and this status. */
export class SpdyProtocolError extends BerthError {
  constructor(message: string, readonly goAwayStatus: number = GOAWAY.protocolError) {
    super('invalid-argument', `spdy: ${message}`, { op: 'spdy' });
    this.name = 'SpdyProtocolError';
  }
}

/** The first value of a header, or undefined. */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers.get(name)?.[0];
}
