// A TCP connection to a port on loopback inside another network namespace (a pod's): Node cannot
// setns, so `berth-spawn --netns-connect` joins the namespace, connects and sends the connected
// socket back over a socketpair (SCM_RIGHTS), then exits. The socket becomes a net.Socket here;
// no process stays between the two ends.
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { BerthError } from '../oci/errors.ts';
import { releasePreSpawned, spawnBinary } from './berth-spawn.ts';
import { errnoName } from './errno.ts';
import { receiveFd, unixSocketPair } from './fd-passing.ts';

/** The stages of native/netns-connect.c's reply. */
const STAGE = { ok: 0, netns: 1, connect: 2 } as const;

export interface NetnsConnectOptions {
  /** Kills the helper: the caller went away. */
  signal?: AbortSignal;
  /** How long each connect may take (10 s): a SYN into a namespace whose `lo` is down is never answered. */
  timeoutMs?: number;
}

/** Connects to 127.0.0.1:<port>, else [::1]:<port>, in the namespace at `netnsPath`. */
export async function connectInNetns(netnsPath: string, port: number, opts: NetnsConnectOptions = {}): Promise<Socket> {
  const { signal } = opts;
  const where = { path: netnsPath, op: `connect to port ${port}` };
  const [ours, theirs] = unixSocketPair();
  let fd: number | undefined;
  try {
    releasePreSpawned();
    const child = spawn(spawnBinary(), ['--netns-connect', netnsPath, String(port), '3', ...(opts.timeoutMs ? [String(Math.max(1, Math.round(opts.timeoutMs)))] : [])], { stdio: ['ignore', 'ignore', 'pipe', theirs], signal });
    closeSync(theirs);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (err) => reject(signal?.aborted ? new BerthError('unavailable', `port forward: ${where.op}: the client went away`, where) : new BerthError('internal', `berth-spawn --netns-connect: ${err.message}`, where)));
      child.once('close', (c) => resolve(c));
    });
    const reply = receiveFd(ours, 16);
    fd = reply?.fd;
    if (code !== 0 || !reply || reply.data.length !== 8) {
      throw new BerthError('internal', `port forward: berth-spawn --netns-connect exited with ${code}: ${stderr.trim() || 'no reply'}`, where);
    }
    const stage = reply.data.readUInt32LE(0);
    const errno = errnoName(reply.data.readUInt32LE(4));
    if (stage === STAGE.netns) throw new BerthError(errno === 'ENOENT' ? 'not-found' : 'internal', `port forward: cannot join the network namespace ${netnsPath}: ${errno}`, { ...where, op: 'setns', errno });
    if (stage !== STAGE.ok || fd === undefined) {
      const kind = errno === 'ECONNREFUSED' ? 'unavailable' : 'internal';
      const hint = errno === 'ETIMEDOUT' ? ' (no answer: is `lo` up in that namespace?)' : '';
      throw new BerthError(kind, `port forward: cannot connect to port ${port} on loopback in the pod's network namespace: ${errno}${hint}`, { ...where, errno });
    }
    const socket = new Socket({ fd, readable: true, writable: true });
    fd = undefined;
    return socket;
  } finally {
    closeSync(ours);
    if (fd !== undefined) closeSync(fd);
  }
}
