// RuntimeClass: the pod's runtime_handler names one of berthd's `[runtimes.NAME]` handlers ("" is
// the default_runtime). Pure; an unknown name is refused with the names berthd knows.
import { notFound } from '../oci/errors.ts';
import type { DaemonConfig } from './daemon-config.ts';

export function runtimeHandlerName(requested: string | undefined, config: Pick<DaemonConfig, 'defaultRuntime' | 'runtimes'>): string {
  const name = requested || config.defaultRuntime;
  if (!config.runtimes[name]) {
    throw notFound(`runtime_handler: no runtime handler ${JSON.stringify(name)} is configured (known: ${Object.keys(config.runtimes).sort().join(', ')})`, { field: 'runtime_handler' });
  }
  return name;
}
