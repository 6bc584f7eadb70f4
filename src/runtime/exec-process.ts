// Pure: the process `exec` runs, from `-p process.json` or from flags over the container's own
// process (runc's rules: args replaced, env appended by key, --cap added to every set).

import { invalid } from '../oci/errors.ts';
import type { Process } from '../oci/runtime-spec.ts';
import { validateProcess } from '../oci/runtime-spec-validate.ts';

export interface ExecFlags {
  args: string[];
  tty?: boolean;
  cwd?: string;
  env?: string[];
  user?: string;
  additionalGids?: string[];
  caps?: string[];
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
}

function envKey(e: string): string {
  return e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('='));
}

export function processFromFile(text: string, file: string): Process {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(`${file}: not valid JSON: ${(err as Error).message}`, { path: file });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${file}: must be a JSON object`, { path: file });
  validateProcess(file, raw as Record<string, unknown>, 'process');
  return raw as Process;
}

export function processFromFlags(base: Process | undefined, flags: ExecFlags): Process {
  if (flags.args.length === 0) throw invalid('exec: give a command to run (or -p process.json)', { field: 'command' });
  const p: Process = structuredClone(base ?? { user: { uid: 0, gid: 0 }, cwd: '/' });
  p.args = flags.args;
  p.terminal = !!flags.tty;
  delete p.consoleSize;
  if (flags.cwd) {
    if (!flags.cwd.startsWith('/')) throw invalid(`--cwd: "${flags.cwd}" must be an absolute path`, { field: '--cwd' });
    p.cwd = flags.cwd;
  }
  if (flags.env?.length) {
    const env = new Map((p.env ?? []).map((e) => [envKey(e), e]));
    for (const e of flags.env) {
      if (!e.includes('=')) throw invalid(`--env: "${e}" is not NAME=value`, { field: '--env' });
      env.set(envKey(e), e);
    }
    p.env = [...env.values()];
  }
  if (flags.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(flags.user);
    if (!m) throw invalid(`--user: "${flags.user}" is not uid[:gid]`, { field: '--user' });
    p.user = { ...p.user, uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : p.user.gid };
  }
  if (flags.additionalGids?.length) {
    p.user = {
      ...p.user,
      additionalGids: flags.additionalGids.map((g) => {
        if (!/^\d+$/.test(g)) throw invalid(`--additional-gids: "${g}" is not a number`, { field: '--additional-gids' });
        return Number(g);
      }),
    };
  }
  if (flags.caps?.length) {
    const caps = (p.capabilities ??= {});
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) {
      caps[set] = [...new Set([...(caps[set] ?? []), ...flags.caps])];
    }
  }
  if (flags.noNewPrivs) p.noNewPrivileges = true;
  if (flags.apparmor !== undefined) p.apparmorProfile = flags.apparmor;
  if (flags.processLabel !== undefined) p.selinuxLabel = flags.processLabel;
  return p;
}
