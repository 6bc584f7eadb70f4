// Terminals: the console-socket protocol (the pty master arrives over SCM_RIGHTS, as conmon and
// containerd's shim expect), /dev/console, window size, and foreground `run -t` / `exec -t`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, work, newBundle } = runtimeSuite('tty');

// A console-socket receiver in Python (what conmon does in C): accept one connection, take the
// fd from SCM_RIGHTS, print the message name, then everything read from the pty master.
const RECEIVER = `
import socket, sys, os
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1]); srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
sys.stdout.write("name=" + msg.decode() + "\\n")
out = b""
while True:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode().replace("\\r\\n", "\\n"))
`;

function receiver(socketPath: string): { output: Promise<string>; ready: Promise<void> } {
  const script = join(work, 'receiver.py');
  writeFileSync(script, RECEIVER);
  const child = spawn('python3', [script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let readyResolve: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('listening\n')) readyResolve();
  });
  const output = new Promise<string>((r) => child.on('exit', () => r(out.replace('listening\n', ''))));
  return { output, ready };
}

test('create --console-socket: the pty master is sent over the socket; the container has a controlling tty', async () => {
  const sock = join(work, 'console.sock');
  const rec = receiver(sock);
  await rec.ready;
  const b = newBundle(['sh', '-c', 'tty; stty size; ls -l /dev/console | cut -c1; [ -t 0 ] && echo stdin-is-tty'], (s) => {
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 30, width: 100 };
  });
  rt.ok(['create', '--bundle', b.dir, '--console-socket', sock, 'tty1']);
  rt.ok(['start', 'tty1']);
  const out = await rec.output;
  rt.ok(['delete', '-f', 'tty1']);
  assert.deepEqual(out.trim().split('\n'), ['name=/dev/ptmx', '/dev/pts/0', '30 100', 'c', 'stdin-is-tty']);
});

test('terminal: true without --console-socket is a clear error for create', () => {
  const b = newBundle(['true'], (s) => (s.process!.terminal = true));
  const r = rt.run(['create', '--bundle', b.dir, 'tty-nosock']);
  assert.match(r.stderr, /process\.terminal is true: --console-socket is required/);
});

test('run -t in the foreground relays the terminal to stdio and returns the status', () => {
  const b = newBundle(['sh', '-c', 'tty; read line; echo "got $line"; exit 4'], (s) => (s.process!.terminal = true));
  const r = rt.run(['run', '--bundle', b.dir, 'tty-run'], { input: 'typed\n' });
  assert.equal(r.code, 4);
  const lines = r.stdout.replace(/\r/g, '').trim().split('\n');
  // the pty echoes what was typed, in whatever order it arrived
  assert.ok(lines.includes('/dev/pts/0'), r.stdout);
  assert.ok(lines.includes('got typed'), r.stdout);
});

test('exec -t gets its own pty in the container', () => {
  const b = newBundle(['sleep', '30']);
  rt.ok(['run', '-d', '--bundle', b.dir, 'tty-exec']);
  const r = rt.run(['exec', '-t', 'tty-exec', 'sh', '-c', 'tty; exit 2']);
  rt.ok(['delete', '-f', 'tty-exec']);
  assert.equal(r.code, 2);
  assert.match(r.stdout.replace(/\r/g, ''), /^\/dev\/pts\/\d+\n/);
});
