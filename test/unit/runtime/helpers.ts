// Shared fixtures for runtime unit tests.
import type { HostFacts } from '../../../src/runtime/plan-compiler.ts';
import { defaultSpec } from '../../../src/runtime/default-spec.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';

export function hostFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    sources: new Map(),
    cgroup: { version: 1, hierarchies: [{ dir: 'cpu', options: 'cpu' }, { dir: 'memory', options: 'memory' }] },
    hasKcore: true,
    lastCap: 40,
    heldCaps: (1n << 41n) - 1n,
    rootfsMount: { mountpoint: '/', shared: true },
    ...overrides,
  };
}

export function specWith(mutate: (s: Spec) => void = () => {}): Spec {
  const s = defaultSpec();
  s.process!.terminal = false;
  s.process!.args = ['true'];
  mutate(s);
  return s;
}
