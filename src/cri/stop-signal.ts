// The signal that stops a container: the request's stop_signal (CRI enum names, where
// SIGRTMINPLUS3 is SIGRTMIN+3 and SIGRTMAXMINUS2 is SIGRTMAX-2), else the image's StopSignal,
// else undefined (the runtime's SIGTERM).
import { invalid } from '../oci/errors.ts';
import type { CriSignal, UnknownEnum } from './cri-types.ts';

// The names of the proto's Signal enum.
const NAMED = new Set(
  'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ RTMIN RTMAX'
    .split(' ')
    .map((n) => `SIG${n}`),
);
const REALTIME = /^SIG(?:RTMINPLUS(?:[1-9]|1[0-5])|RTMAXMINUS(?:[1-9]|1[0-4]))$/;

export function stopSignal(requested: CriSignal | UnknownEnum | undefined, imageStopSignal: string | undefined): string | undefined {
  const s = requested ?? 'RUNTIME_DEFAULT';
  if (s === 'RUNTIME_DEFAULT' || s === 0) return imageStopSignal || undefined;
  if (typeof s !== 'string' || !(NAMED.has(s) || REALTIME.test(s))) throw invalid(`config.stop_signal: unknown signal ${JSON.stringify(s)}`, { field: 'config.stop_signal' });
  return s.replace(/^SIGRTMINPLUS/, 'SIGRTMIN+').replace(/^SIGRTMAXMINUS/, 'SIGRTMAX-');
}
