// `berth exec`: another process in a running container, as `docker exec` starts one: the
// container's own process settings (env, cwd, user) with the flags over them; a user name is
// looked up in the container's own /etc/passwd and /etc/group (bounded, inside its rootfs).
import { join } from 'node:path';
import { BerthError } from '../../oci/errors.ts';
import type { Process } from '../../oci/runtime-spec.ts';
import { resolveImageUser } from '../../image/image-user.ts';
import { LayeredRootfs } from '../../image/rootfs-view.ts';
import { processFromFlags } from '../../runtime/exec-process.ts';
import { list, str, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { processSignals } from '../process-signals.ts';
import { containersDir, withService } from './container-records.ts';
import { envFromFlags } from './env-flags.ts';


export async function execCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const [key, ...args] = p.args;
  const tty = !!p.flags.tty;
  if (tty && p.flags.detach) throw new BerthError('invalid-argument', 'berth exec: -d and -t do not go together (a background process has no terminal to relay)', { field: '--tty' });
  return withService(ctx, {}, async (service) => {
    const id = service.resolve(key!);
    const userSpec = str(p.flags.user);
    const user = userSpec ? await resolveImageUser(new LayeredRootfs([join(containersDir(ctx.root), id, 'rootfs')]), userSpec) : undefined;
    const env = envFromFlags(list(p.flags['env-file']), list(p.flags.env));
    // The container's own process, from the bundle berth wrote for it.
    const proc: Process = processFromFlags(service.process(id), {
      args,
      tty,
      cwd: str(p.flags.workdir),
      env,
      ...(user ? { user: `${user.uid}:${user.gid}`, additionalGids: user.additionalGids.map(String) } : {}),
    });
    if (tty && !(proc.env ?? []).some((e) => e.startsWith('TERM='))) proc.env = [...(proc.env ?? []), 'TERM=xterm'];
    if (user?.home && !env.some((e) => e.startsWith('HOME='))) proc.env = [...(proc.env ?? []).filter((e) => !e.startsWith('HOME=')), `HOME=${user.home}`];
    const detach = !!p.flags.detach;
    return service.exec(id, proc, {
      detach,
      stdin: p.flags.interactive && !detach ? 'inherit' : 'none',
      output: detach ? 'none' : 'inherit',
      signals: processSignals,
    });
  });
}
