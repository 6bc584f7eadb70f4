// `berth ps` output: docker's table, or `--format` with a Go template over docker's ps fields
// (`{{.Names}}`, `table {{.ID}}\t{{.Status}}`: a header row, columns aligned). Pure.
import type { ContainerInfo } from '../../containers/index.ts';
import { statusText } from '../../containers/index.ts';
import { portsColumn } from '../../network/port-spec.ts';
import { parseTemplate, renderTemplate } from './go-template.ts';

/** The fields docker's `ps --format` offers, with the header docker prints for each. */
const HEADERS = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Names: 'NAMES',
  Networks: 'NETWORKS',
} as const;

export type PsRow = Record<keyof typeof HEADERS, string>;

export const DEFAULT_PS_FORMAT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** docker's State: created, restarting, running, paused, exited. */
function stateOf(info: ContainerInfo): string {
  if (info.status === 'running') return info.paused ? 'paused' : 'running';
  if (info.status === 'stopped') return 'exited';
  if (info.status === 'creating') return 'created';
  return info.status;
}

/** The command as docker's ps shows it: quoted, cut to 20 characters with an ellipsis. */
function quotedCommand(command: readonly string[]): string {
  const text = command.join(' ');
  return `"${text.length > 20 ? `${text.slice(0, 19)}…` : text}"`;
}

export function psRow(info: ContainerInfo, age: (ms: number) => string): PsRow {
  const created = Date.parse(info.created);
  return {
    ID: info.id.slice(0, 12),
    Image: info.image,
    Command: quotedCommand(info.command),
    CreatedAt: new Date(created).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
    RunningFor: age(created),
    Ports: portsColumn(info.network?.ports ?? []),
    State: stateOf(info),
    Status: statusText(info),
    Names: info.name,
    Networks: info.network ? (info.network.network ?? info.network.mode) : '',
  };
}

/** The lines of `ps` for a template: `table ...` has a header and aligned columns (tabs separate them). */
export function formatPs(rows: readonly PsRow[], format: string): string {
  // As docker: `\t` and `\n` typed in a shell's quotes are a tab and a newline.
  const text = format.replaceAll('\\t', '\t').replaceAll('\\n', '\n').trim();
  const table = /^table(\s|$)/.test(text);
  const parts = parseTemplate(table ? text.replace(/^table\s*/, '') : text);
  const lines = rows.map((r) => renderTemplate(parts, r));
  if (!table) return lines.map((l) => `${l}\n`).join('');
  return alignColumns([renderTemplate(parts, HEADERS), ...lines]);
}

/** Tab-separated cells padded to their column's width plus three spaces, as docker's tabwriter. */
function alignColumns(lines: readonly string[]): string {
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((row) => row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]! + 3) : c)).join('').trimEnd() + '\n').join('');
}
