// The CLIs' own signals, for the libraries that pass them on to a foreground container or process.
import { FORWARDED_SIGNALS, type SignalSource } from '../runtime/signals.ts';

/** Subscribes to this process's forwarded signals (SIGINT, SIGTERM, ...: FORWARDED_SIGNALS). */
export const processSignals: SignalSource = (listener) => {
  for (const s of FORWARDED_SIGNALS) process.on(s, listener);
  return () => {
    for (const s of FORWARDED_SIGNALS) process.off(s, listener);
  };
};
