// A plugin's failure: the spec's error object on stdout ({cniVersion, code, msg, details}), or,
// for a plugin that printed none, what it wrote to stderr and how it exited.

import { BerthError, type ErrorKind } from '../oci/errors.ts';

/** The spec's well-known error codes (0-99 are reserved). */
export const CNI_ERROR_CODES: Record<number, string> = {
  1: 'incompatible CNI version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid necessary environment variables',
  5: 'I/O failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  11: 'try again later',
  50: 'plugin not available',
  51: 'plugin not available, existing containers may be limited',
};

function kindOfCode(code: number): ErrorKind {
  if (code === 1) return 'unimplemented';
  if (code === 2 || code === 4 || code === 6 || code === 7) return 'invalid-argument';
  if (code === 3) return 'not-found';
  if (code === 11 || code === 50 || code === 51) return 'unavailable';
  return 'internal';
}

export interface CniErrorBody {
  code: number;
  msg: string;
  details?: string;
}

export interface PluginFailureWhere {
  /** "bridge" */
  plugin: string;
  /** The plugin's position in the list, "plugins[2]". */
  field?: string;
  command: string;
  network?: string;
}

export class CniPluginError extends BerthError {
  /** The CNI error code (0 when the plugin gave none). */
  readonly code: number;
  readonly details: string | undefined;
  readonly plugin: string;
  readonly command: string;

  constructor(where: PluginFailureWhere, body: CniErrorBody, kind: ErrorKind = kindOfCode(body.code)) {
    const net = where.network ? ` on network "${where.network}"` : '';
    const code = body.code ? ` (CNI error ${body.code}${CNI_ERROR_CODES[body.code] ? `: ${CNI_ERROR_CODES[body.code]}` : ''})` : '';
    const details = body.details ? `; ${body.details}` : '';
    super(kind, `CNI plugin ${where.plugin} ${where.command}${net} failed: ${body.msg}${details}${code}`, {
      op: `cni ${where.command}`,
      field: where.field,
    });
    this.name = 'CniPluginError';
    this.code = body.code;
    this.details = body.details;
    this.plugin = where.plugin;
    this.command = where.command;
  }
}

/** The spec's error object, if `stdout` holds one. */
export function parseErrorBody(stdout: string): CniErrorBody | undefined {
  let v: unknown;
  try {
    v = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.msg !== 'string' && typeof o.code !== 'number') return undefined;
  return {
    code: Number.isInteger(o.code) ? (o.code as number) : 0,
    msg: typeof o.msg === 'string' && o.msg ? o.msg : '(no message)',
    ...(typeof o.details === 'string' && o.details ? { details: o.details } : {}),
  };
}

/** What a failed run says: the error object, else stderr, else stdout, with how it ended. */
export function describeFailure(stdout: string, stderr: string, ended: string): CniErrorBody {
  const body = parseErrorBody(stdout.trim());
  if (body) return body;
  const text = (stderr.trim() || stdout.trim()).slice(0, 4096);
  return { code: 0, msg: text ? `${JSON.stringify(text)}, ${ended}` : `${ended}, no error message` };
}
