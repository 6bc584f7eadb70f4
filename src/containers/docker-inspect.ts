// `berth inspect CONTAINER`: a container as docker's inspect shows one (the Engine API's
// ContainerInspectResponse), from its record, status and OCI spec. Only what berth knows is
// filled in; fields it has no notion of (networks are another part's) are left out rather than
// made up. Pure.
import type { Mount, Spec } from '../oci/runtime-spec.ts';
import type { ContainerInfo } from './list.ts';
import { dockerRestartPolicy } from './restart-policy.ts';

/** Go's zero time, which docker shows for a time that has not happened. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export type DockerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead';

export function dockerStatus(info: Pick<ContainerInfo, 'status' | 'paused' | 'supervision' | 'abandoned'>): DockerStatus {
  switch (info.status) {
    case 'creating':
      return info.abandoned ? 'dead' : 'created';
    case 'created':
      return 'created';
    case 'running':
      return info.paused ? 'paused' : 'running';
    case 'restarting':
      return 'restarting';
    case 'stopped':
      return 'exited';
  }
}

interface DockerMount {
  Type: string;
  Source: string;
  Destination: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

/** The spec's mounts a user asked for (bind mounts, tmpfs), not the ones every container has. */
export function dockerMounts(mounts: readonly Mount[] | undefined): DockerMount[] {
  const out: DockerMount[] = [];
  for (const m of mounts ?? []) {
    const options = m.options ?? [];
    const bind = m.type === 'bind' || options.includes('bind') || options.includes('rbind');
    const userTmpfs = m.type === 'tmpfs' && !['/dev', '/dev/shm', '/run'].includes(m.destination) && !m.destination.startsWith('/proc');
    if (!bind && !userTmpfs) continue;
    const rw = !options.includes('ro');
    out.push({
      Type: bind ? 'bind' : 'tmpfs',
      Source: bind ? (m.source ?? '') : '',
      Destination: m.destination,
      Mode: options.filter((o) => o === 'ro' || o === 'z' || o === 'Z').join(','),
      RW: rw,
      Propagation: bind ? (options.find((o) => PROPAGATIONS.includes(o)) ?? 'rprivate') : '',
    });
  }
  return out;
}

export function dockerInspect(info: ContainerInfo, spec: Spec | undefined): Record<string, unknown> {
  const args = spec?.process?.args ?? info.command;
  const status = dockerStatus(info);
  const running = status === 'running' || status === 'paused' || status === 'restarting';
  const limits = info.logLimits;
  return {
    Id: info.id,
    Created: info.created,
    Path: args[0] ?? '',
    Args: args.slice(1),
    State: {
      Status: status,
      Running: running,
      Paused: status === 'paused',
      Restarting: status === 'restarting',
      OOMKilled: info.reason === 'OOMKilled',
      Dead: status === 'dead',
      Pid: status === 'running' || status === 'paused' ? (info.init?.pid ?? 0) : 0,
      ExitCode: info.exitCode ?? 0,
      Error: info.supervision === 'lost' ? 'the container monitor died' : '',
      StartedAt: info.started ?? ZERO_TIME,
      FinishedAt: info.finished ?? ZERO_TIME,
    },
    Image: info.imageDigest ?? '',
    LogPath: info.logFile ?? '',
    Name: `/${info.name}`,
    RestartCount: info.restartCount ?? 0,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      RestartPolicy: dockerRestartPolicy(info.restartPolicy),
      LogConfig: { Type: 'k8s-file', Config: limits ? { 'max-size': String(limits.maxSize), 'max-file': String(limits.maxFiles) } : {} },
      Runtime: info.runtime ?? 'berth',
      ReadonlyRootfs: !!spec?.root?.readonly,
    },
    Mounts: dockerMounts(spec?.mounts),
    Config: {
      Hostname: spec?.hostname ?? '',
      User: spec?.process ? `${spec.process.user.uid}:${spec.process.user.gid}` : '',
      Tty: !!spec?.process?.terminal,
      OpenStdin: !!info.stdinOpen,
      Env: spec?.process?.env ?? [],
      Cmd: args,
      Image: info.image,
      WorkingDir: spec?.process?.cwd ?? '',
      Labels: info.labels ?? {},
      StopSignal: info.stopSignal ?? 'SIGTERM',
    },
  };
}
