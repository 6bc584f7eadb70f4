// Which kernel modules the guest loads, in what order: the wanted ones and everything they
// depend on (modules.dep), dependencies first, minus what the kernel has built in
// (modules.builtin). Pure: the caller reads the two files.

/** Drivers the guest needs: virtio over PCI, the virtio-serial port to the host, virtiofs, the
 *  balloon that hands free guest pages back to the host (free page reporting), and virtio-net
 *  for a pod's network. */
export const GUEST_MODULES = ['virtio_pci', 'virtio_console', 'virtiofs', 'virtio_balloon', 'virtio_net'] as const;

/** The module name of a path in modules.dep ("kernel/fs/fuse/virtiofs.ko" -> "virtiofs"). */
export function moduleName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export interface ModuleOrder {
  /** Paths relative to /lib/modules/<release>, in load order. */
  load: string[];
  /** Wanted modules the kernel has built in (nothing to load). */
  builtin: string[];
}

export function moduleLoadOrder(wanted: readonly string[], modulesDep: string, modulesBuiltin: string): ModuleOrder {
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    deps.set(moduleName(path), { path, deps: line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleName) });
  }
  const builtinSet = new Set(modulesBuiltin.split('\n').filter(Boolean).map(moduleName));
  const load: string[] = [];
  const builtin: string[] = [];
  const done = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    if (done.has(name)) return;
    if (chain.includes(name)) throw new Error(`modules.dep: a dependency cycle: ${[...chain, name].join(' -> ')}`);
    const entry = deps.get(name);
    if (!entry) {
      if (!builtinSet.has(name)) throw new Error(`kernel module ${name} is neither in modules.dep nor built in`);
      builtin.push(name);
    } else {
      for (const d of entry.deps) visit(d, [...chain, name]);
      load.push(entry.path);
    }
    done.add(name);
  };
  for (const w of wanted) visit(w.replace(/-/g, '_'), []);
  return { load, builtin };
}
