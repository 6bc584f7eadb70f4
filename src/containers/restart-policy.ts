// Restart policies (`run --restart no|on-failure[:N]|always|unless-stopped`), decided as docker's
// restart manager decides them (moby restartmanager): after each exit the delay doubles from
// 100 ms up to a minute, and falls back to 100 ms when the container had run for 10 s or more;
// on-failure restarts only after a non-zero exit, at most N times when N is given; a container
// stopped by the user (stop, or kill with SIGKILL or its stop signal) is never restarted. Pure.
import { quote } from '../oci/quote.ts';
import { invalid } from '../oci/errors.ts';

export type RestartPolicyName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure's N: at most this many restarts; 0: no limit. */
  maximumRetryCount: number;
}

export const NO_RESTART: RestartPolicy = { name: 'no', maximumRetryCount: 0 };

export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
/** A run at least this long resets the delay to the first one. */
export const RESET_AFTER_MS = 10_000;

/** docker's `--restart` value. */
export function parseRestartPolicy(text: string | undefined): RestartPolicy {
  if (text === undefined || text === '' || text === 'no') return NO_RESTART;
  const [name, count, ...extra] = text.split(':');
  if (name === 'always' || name === 'unless-stopped') {
    if (count !== undefined) throw invalid(`--restart ${quote(text)}: maximum retry count cannot be used with restart policy '${name}'`, { field: '--restart' });
    return { name, maximumRetryCount: 0 };
  }
  if (name === 'on-failure' && extra.length === 0) {
    if (count === undefined) return { name, maximumRetryCount: 0 };
    if (!/^\d+$/.test(count)) throw invalid(`--restart ${quote(text)}: maximum retry count must be a number of restarts`, { field: '--restart' });
    return { name, maximumRetryCount: Number(count) };
  }
  throw invalid(`--restart ${quote(text)}: invalid restart policy (no, on-failure[:N], always or unless-stopped)`, { field: '--restart' });
}

/** What is known when the container has exited. */
export interface ExitFacts {
  status: number;
  /** How long it ran, start to exit. */
  ranMs: number;
  /** Restarts so far (the container's RestartCount). */
  restartCount: number;
  /** The delay before the previous restart; 0 before the first. */
  lastDelayMs: number;
  /** stop, or kill with SIGKILL or the stop signal, was asked for. */
  stoppedByUser: boolean;
}

export type RestartDecision = { restart: false } | { restart: true; delayMs: number };

export function decideRestart(policy: RestartPolicy, facts: ExitFacts): RestartDecision {
  if (facts.stoppedByUser) return { restart: false };
  let restart: boolean;
  switch (policy.name) {
    case 'no':
      restart = false;
      break;
    case 'always':
    case 'unless-stopped':
      restart = true;
      break;
    case 'on-failure':
      restart = facts.status !== 0 && (policy.maximumRetryCount === 0 || facts.restartCount < policy.maximumRetryCount);
      break;
  }
  if (!restart) return { restart: false };
  return { restart: true, delayMs: nextDelay(facts.lastDelayMs, facts.ranMs) };
}

/** 100 ms, doubled after each restart up to a minute; back to 100 ms after a run of 10 s or more. */
export function nextDelay(lastDelayMs: number, ranMs: number): number {
  if (lastDelayMs <= 0 || ranMs >= RESET_AFTER_MS) return FIRST_DELAY_MS;
  return Math.min(lastDelayMs * 2, MAX_DELAY_MS);
}

/** docker's HostConfig.RestartPolicy. */
export function dockerRestartPolicy(policy: RestartPolicy | undefined): { Name: string; MaximumRetryCount: number } {
  const p = policy ?? NO_RESTART;
  return { Name: p.name, MaximumRetryCount: p.maximumRetryCount };
}
