// /proc/<pid>/net/dev: the counters of every interface in that process's network namespace
// (proc(5)). Two header lines, then "name: 8 receive counters 8 transmit counters".
import { BerthError } from '../../oci/errors.ts';

export interface InterfaceCounters {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

/** Parses the file's text (pure); `file` names it in errors. */
export function parseNetDev(text: string, file = '/proc/net/dev'): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    if (colon < 0 || !name || fields.length < 16 || !fields.every((f) => /^\d+$/.test(f))) {
      throw new BerthError('internal', `cannot parse ${file}: ${JSON.stringify(line)}`, { path: file });
    }
    const n = fields.map((f) => BigInt(f));
    out.push({
      name,
      rxBytes: n[0]!, rxPackets: n[1]!, rxErrors: n[2]!, rxDropped: n[3]!,
      txBytes: n[8]!, txPackets: n[9]!, txErrors: n[10]!, txDropped: n[11]!,
    });
  }
  return out;
}
