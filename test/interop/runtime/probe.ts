// A busybox `sh -c` probe that prints what a container sees, in sections, and its parser.
// The same probe runs under runc and berth-runtime; the test compares the sections.

import type { Spec } from '../../../src/oci/runtime-spec.ts';

export const PROBE_EXIT_CODE = 3;

const HEADER = '==== ';

/** Shell-quotes one word for the probe script. */
function q(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * The probe for a spec: the masked and read-only paths it checks come from the spec, and `extra`
 * is a config's own shell snippet printed as the section "extra". Checks never write anywhere a
 * wrongly writable path could hurt the host: a read-only path is opened for appending and closed
 * (`: >>`), which a read-only mount refuses with EROFS and which writes nothing (for a directory,
 * the first owner-writable file under it: the default capabilities lack CAP_DAC_OVERRIDE). The one real write
 * puts the container's own hostname back. (busybox `test -w` cannot serve: it is always true for root.)
 */
export function probeScript(spec: Spec, extra = ''): string {
  const masked = (spec.linux?.maskedPaths ?? []).map(q).join(' ');
  const readonly = (spec.linux?.readonlyPaths ?? []).map(q).join(' ');
  const lines = [
    'section() { echo; echo "==== $1"; }',
    'section mountinfo; cat /proc/self/mountinfo',
    'section hostname; hostname',
    'section domainname; cat /proc/sys/kernel/domainname',
    'section id; id',
    "section status; grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status",
    'section limits; cat /proc/self/limits',
    'section umask; umask',
    'section cwd; pwd -P',
    'section env; env | sort',
    'section ns; for f in /proc/self/ns/*; do echo "${f##*/} $(readlink "$f")"; done',
    "section dev; for f in $(ls -A /dev) $(ls -A /dev/pts | sed 's|^|pts/|'); do",
    "  stat -c '%n|%F|%t:%T|%a|%u:%g' \"/dev/$f\" | tr '\\n' '|'; readlink \"/dev/$f\" || echo; done",
    `section masked; for p in ${masked}; do`,
    '  if [ ! -e "$p" ]; then echo "$p absent"; continue; fi',
    '  if [ -d "$p" ]; then echo "$p dir entries=$(ls -A "$p" 2>/dev/null | wc -l)";',
    '  else echo "$p file bytes=$(head -c 64 "$p" 2>/dev/null | wc -c)"; fi; done',
    `section readonly; for p in ${readonly}; do`,
    '  if [ ! -e "$p" ]; then echo "$p absent"; continue; fi',
    '  t="$p"; if [ -d "$p" ]; then t=$(find "$p" -type f -perm -200 2>/dev/null | head -n 1); fi',
    '  if [ -z "$t" ]; then echo "$p has no file"; continue; fi',
    '  if err=$( (: >> "$t") 2>&1 ); then echo "$t open for writing: ok"; else echo "$t open for writing: ${err##*: }"; fi; done',
    'if err=$( (hostname > /proc/sys/kernel/hostname) 2>&1 ); then echo "hostname write: ok"; else echo "hostname write: ${err##*: }"; fi',
    'section extra',
    extra,
    'section end',
    `exit ${PROBE_EXIT_CODE}`,
  ];
  return lines.join('\n');
}

/** Splits probe output into its sections, each a list of lines without the trailing blank. */
export function parseProbe(stdout: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(HEADER)) {
      current = [];
      sections.set(line.slice(HEADER.length), current);
    } else if (current) {
      current.push(line);
    }
  }
  for (const lines of sections.values()) while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return sections;
}

/** One /proc/self/mountinfo line, as proc(5) describes it. */
export interface MountEntry {
  root: string;
  mountPoint: string;
  options: string[];
  /** Optional fields with their peer-group numbers dropped: "shared", "master", "unbindable". */
  propagation: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

export function parseMountinfo(lines: string[]): MountEntry[] {
  return lines.filter((l) => l.trim() !== '').map((line) => {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 6) throw new Error(`not a mountinfo line: ${line}`);
    return {
      root: fields[3]!,
      mountPoint: fields[4]!,
      options: fields[5]!.split(','),
      propagation: fields.slice(6, sep).map((f) => f.split(':')[0]!),
      fsType: fields[sep + 1]!,
      source: fields[sep + 2]!,
      superOptions: (fields[sep + 3] ?? '').split(',').filter(Boolean),
    };
  });
}

/** A mount as one comparable line: no mount ids, no device numbers. */
export function mountLine(m: MountEntry): string {
  const prop = m.propagation.length > 0 ? ` [${m.propagation.join(' ')}]` : '';
  return `${m.mountPoint} ${m.fsType} from ${m.source}:${m.root} (${m.options.join(',')}) super(${m.superOptions.join(',')})${prop}`;
}

/** Lines in one list and not the other (as multisets), for a readable failure message. */
export function lineDiff(expected: string[], actual: string[], expectedName: string, actualName: string): string {
  const left = [...expected];
  const onlyActual: string[] = [];
  for (const line of actual) {
    const i = left.indexOf(line);
    if (i >= 0) left.splice(i, 1);
    else onlyActual.push(line);
  }
  return [...left.map((l) => `  - only ${expectedName}: ${l}`), ...onlyActual.map((l) => `  + only ${actualName}: ${l}`)].join('\n');
}
