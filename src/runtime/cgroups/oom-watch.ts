// OOM notifications by polling the cgroup's OOM-kill counter (v1 memory.oom_control "oom_kill",
// v2 memory.events "oom_kill"). runc uses an eventfd (v1) or inotify (v2); Node has no eventfd,
// and polling one small file is cheap and behaves the same on both versions.
import { setTimeout as delay } from 'node:timers/promises';
import { BerthError } from '../../oci/errors.ts';

export interface OomCounter {
  oomKillCount(): Promise<bigint>;
}

export interface OomWatchOptions {
  /** Poll interval; default 200 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface OomWatch {
  stop(): void;
  /**
   * Settles when the watch ends: after stop(), or when the cgroup is gone (the container was
   * deleted, as runc's events loop ends). Rejects on any other read error.
   */
  done: Promise<void>;
}

/** Calls `onOom(newCount, kills)` each time the counter is seen to grow (kills: how many since the last look). */
export function watchOom(counter: OomCounter, onOom: (count: bigint, kills: bigint) => void, options: OomWatchOptions = {}): OomWatch {
  const interval = options.intervalMs ?? 200;
  const stopper = new AbortController();
  const stop = (): void => stopper.abort();
  options.signal?.addEventListener('abort', stop, { once: true });

  const gone = (err: unknown): boolean => err instanceof BerthError && err.kind === 'not-found';

  const loop = async (): Promise<void> => {
    let last: bigint;
    try {
      last = await counter.oomKillCount();
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    while (!stopper.signal.aborted) {
      try {
        await delay(interval, undefined, { signal: stopper.signal });
      } catch {
        return; // stopped
      }
      let now: bigint;
      try {
        now = await counter.oomKillCount();
      } catch (err) {
        if (gone(err)) return;
        throw err;
      }
      if (now > last) onOom(now, now - last);
      last = now;
    }
  };

  const done = loop().finally(() => options.signal?.removeEventListener('abort', stop));
  return { stop, done };
}
