// Runs OCI hooks: the container state on stdin, the hook's own args and env, a timeout.

import { spawn } from 'node:child_process';
import { BerthError } from '../oci/errors.ts';
import type { Hook, NamespaceType, State } from '../oci/runtime-spec.ts';
import { SpawnSession } from '../sys/berth-spawn.ts';
import { compileJoinPlan } from './join-plan.ts';

function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function hookFailed(field: string, hook: Hook, why: string): BerthError {
  return new BerthError('internal', `${field}: hook ${hook.path} ${why}`, { field, path: hook.path });
}

/** Runs a hook in the runtime's namespaces; aborting kills it. */
export function runHook(hook: Hook, state: State, field: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(hookFailed(field, hook, 'was not run: interrupted'));
    const args = hook.args?.length ? hook.args : [hook.path];
    const child = spawn(hook.path, args.slice(1), {
      argv0: args[0],
      env: envObject(hook.env ?? []),
      stdio: ['pipe', 'inherit', 'inherit'],
      signal,
      killSignal: 'SIGKILL',
    });
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (hook.timeout) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, hook.timeout * 1000);
    }
    child.stdin!.on('error', () => {});
    child.stdin!.end(JSON.stringify(state));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(hookFailed(field, hook, `could not start: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(hookFailed(field, hook, `timed out after ${hook.timeout}s`));
      else if (code === 0) resolve();
      else reject(hookFailed(field, hook, signal ? `was killed by ${signal}` : `exited with status ${code}`));
    });
  });
}

/** Runs a hook inside the namespaces of process pid (createContainer hooks). */
export async function runHookInNamespaces(
  hook: Hook,
  state: State,
  field: string,
  pid: number,
  namespaces: readonly NamespaceType[],
  signal?: AbortSignal,
): Promise<void> {
  const plan = compileJoinPlan(pid, namespaces, { path: hook.path, args: hook.args?.length ? hook.args : [hook.path], env: hook.env ?? [] }, field);
  const session = new SpawnSession(plan, { stdio: ['pipe', 'inherit', 'inherit'] });
  session.child!.stdin!.on('error', () => {});
  session.child!.stdin!.end(JSON.stringify(state));
  let hookPid = 0;
  let timedOut = false;
  const stop = (): void => {
    if (hookPid) process.kill(hookPid, 'SIGKILL');
    session.child!.kill('SIGKILL');
  };
  const timer = hook.timeout
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, hook.timeout * 1000)
    : undefined;
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const m = await session.next();
      if (m.type === 'pid') hookPid = m.pid;
      else if (m.type === 'error') throw hookFailed(field, hook, `could not run: ${m.text}`);
      else break;
    }
    const { code, signal } = await session.exited;
    if (timedOut) throw hookFailed(field, hook, `timed out after ${hook.timeout}s`);
    if (code !== 0) throw hookFailed(field, hook, signal ? `was killed by ${signal}` : `exited with status ${code}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
    session.close();
  }
}
