// The part of Go's text/template that `docker inspect --format` is used with: text, field paths
// (`{{.State.Pid}}`, `{{.}}`) and `{{json .Config}}`, with Go's printing of values (maps as
// map[k:v], lists as [a b]). A field that does not exist is an error, as docker's structs make it.
// Pure.
import { quote } from '../../oci/quote.ts';
import { invalid } from '../../oci/errors.ts';

type Part = { text: string } | { path: string[]; json: boolean };

const ACTION = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/gs;

export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let at = 0;
  let trimNext = false;
  for (const m of template.matchAll(ACTION)) {
    let text = template.slice(at, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    if (text) parts.push({ text });
    const words = m[2]!.split(/\s+/);
    const json = words[0] === 'json';
    const field = json ? words[1] : words[0];
    if (words.length !== (json ? 2 : 1) || !field || !/^\.(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?$/.test(field)) {
      throw invalid(`--format: ${quote(m[0])} is not supported (field paths such as {{.State.Pid}} and {{json .Config}})`, { field: '--format' });
    }
    parts.push({ path: field === '.' ? [] : field.slice(1).split('.'), json });
    at = m.index! + m[0].length;
    trimNext = !!m[3];
  }
  const rest = template.slice(at);
  if (rest.includes('{{')) throw invalid(`--format: unclosed action in ${quote(template)}`, { field: '--format' });
  const tail = trimNext ? rest.replace(/^\s+/, '') : rest;
  if (tail) parts.push({ text: tail });
  return parts;
}

export function renderTemplate(parts: readonly Part[], data: unknown): string {
  return parts.map((p) => ('text' in p ? p.text : p.json ? JSON.stringify(fieldOf(data, p.path)) : goString(fieldOf(data, p.path)))).join('');
}

function fieldOf(data: unknown, path: readonly string[]): unknown {
  let v = data;
  for (const [i, key] of path.entries()) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, key)) {
      throw invalid(`--format: can't evaluate field ${key} in .${path.slice(0, i).join('.')}`, { field: '--format' });
    }
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A value as Go's fmt prints it with %v. */
export function goString(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  }
  return String(v);
}
