// The container's command line, environment and working directory from the request over the
// image config, with the kubelet's rules (containerd's WithProcessArgs, moby's commit.go):
// `command` replaces the image Entrypoint and drops its Cmd; `args` replace Cmd.
import { invalid } from '../oci/errors.ts';
import type { ImageRunConfig } from '../oci/image-spec.ts';
import type { ContainerConfig } from './cri-types.ts';

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function noNul(values: string[], field: string): string[] {
  values.forEach((v, i) => {
    if (v.includes('\0')) throw invalid(`${field}[${i}]: contains a NUL byte`, { field: `${field}[${i}]` });
  });
  return values;
}

export function processArgs(config: ContainerConfig, image: ImageRunConfig): string[] {
  let command = noNul(config.command ?? [], 'config.command');
  let args = noNul(config.args ?? [], 'config.args');
  if (command.length === 0) {
    if (args.length === 0) args = [...(image.Cmd ?? [])];
    const entrypoint = image.Entrypoint ?? [];
    // `ENTRYPOINT [""]` in a Dockerfile clears the entrypoint.
    if (!(entrypoint.length === 1 && entrypoint[0] === '')) command = [...entrypoint];
  }
  const argv = [...command, ...args];
  if (argv.length === 0) {
    throw invalid('config.command: no command specified: the request has no command or args and the image has no Entrypoint or Cmd', { field: 'config.command' });
  }
  if (argv[0] === '') throw invalid('config.command: the program to run is an empty string', { field: 'config.command' });
  return argv;
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * PATH, then HOSTNAME, then the image's Env, then the request's envs: a later value of a
 * variable replaces the earlier one in place; an image entry without `=` unsets the variable
 * (as containerd's WithEnv does).
 */
export function processEnv(config: ContainerConfig, image: ImageRunConfig, hostname: string): string[] {
  const out: Array<string | undefined> = [];
  const at = new Map<string, number>();
  const set = (entry: string): void => {
    const key = envKey(entry);
    const i = at.get(key);
    const value = entry.includes('=') ? entry : undefined;
    if (i !== undefined) out[i] = value;
    else if (value !== undefined) at.set(key, out.push(value) - 1);
  };
  set(DEFAULT_PATH_ENV);
  set(`HOSTNAME=${hostname}`);
  for (const e of image.Env ?? []) set(e);
  (config.envs ?? []).forEach((kv, i) => {
    const field = `config.envs[${i}]`;
    const key = kv.key ?? '';
    const value = kv.value ?? '';
    if (key === '' || key.includes('=')) throw invalid(`${field}.key: ${JSON.stringify(key)} is not an environment variable name`, { field: `${field}.key` });
    if (key.includes('\0') || value.includes('\0')) throw invalid(`${field}: contains a NUL byte`, { field });
    set(`${key}=${value}`);
  });
  return out.filter((e): e is string => e !== undefined);
}

export function processCwd(config: ContainerConfig, image: ImageRunConfig): string {
  const [cwd, field] = config.working_dir ? [config.working_dir, 'config.working_dir'] : image.WorkingDir ? [image.WorkingDir, 'image.config.WorkingDir'] : ['/', ''];
  if (cwd.includes('\0') || !cwd.startsWith('/')) throw invalid(`${field}: ${JSON.stringify(cwd)} is not an absolute path`, { field });
  return cwd;
}
