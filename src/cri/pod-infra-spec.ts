// The OCI spec of a pod's infra process: PID 1 of the pod's shared PID namespace (NamespaceMode
// POD), so that no workload is PID 1 there. It does nothing but wait, so it gets nothing: no
// capabilities, no new privileges, a read-only root, containerd's sandbox settings for CPU
// shares (2) and OOM score (-998), the pod's seccomp choice, and the pod's user when set (else
// 65535, the pause image's user).
import { OCI_VERSION, type Namespace, type Spec } from '../oci/runtime-spec.ts';
import { defaultSpec } from '../runtime/default-spec.ts';
import { sandboxAnnotations } from './container-annotations.ts';
import type { PodNamespace } from './container-facts.ts';
import { containerCgroupsPath } from './container-resources.ts';
import { requestedUser } from './container-user.ts';
import { DEFAULT_PATH_ENV } from './container-process.ts';
import type { PodSandboxConfig } from './cri-types.ts';
import { ID_RANGE, int64 } from './int64.ts';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './masked-paths.ts';
import type { PodPlan } from './pod-plan.ts';
import { seccompProfile, type SeccompProfiles } from './security-profile.ts';

export const INFRA_CPU_SHARES = 2;
export const INFRA_OOM_SCORE_ADJ = -998;
const PAUSE_ID = 65535;

export interface InfraFacts {
  sandboxId: string;
  /** A root filesystem holding the infra program. */
  rootfs: string;
  args: string[];
  /** The pod's namespaces after pinning. */
  namespaces: { network: PodNamespace; ipc: PodNamespace; uts: PodNamespace };
  seccomp: SeccompProfiles;
}

const joined = (type: Namespace['type'], ns: PodNamespace): Namespace[] => (ns === 'host' ? [] : [{ type, path: ns.path }]);

export function infraSpec(config: PodSandboxConfig, plan: PodPlan, facts: InfraFacts): Spec {
  const sc = config.linux?.security_context ?? null;
  const prefix = 'config.linux.security_context';
  const requested = requestedUser(sc, prefix);
  const uid = sc?.run_as_user ? int64(sc.run_as_user.value, `${prefix}.run_as_user`, ID_RANGE) : PAUSE_ID;
  const gid = sc?.run_as_group ? int64(sc.run_as_group.value, `${prefix}.run_as_group`, ID_RANGE) : requested ? 0 : PAUSE_ID;
  const additionalGids = [...new Set((sc?.supplemental_groups ?? []).map((g, i) => int64(g, `${prefix}.supplemental_groups[${i}]`, ID_RANGE)))].sort((a, b) => a - b);
  // A privileged pod's sandbox runs without seccomp, as containerd's does.
  const seccomp = plan.privileged ? undefined : seccompProfile(plan.seccomp, facts.seccomp, `${prefix}.seccomp`);
  const mounts = (defaultSpec().mounts ?? []).filter((m) => m.destination === '/proc' || m.destination === '/dev');
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid, gid, additionalGids },
      args: [...facts.args],
      env: [DEFAULT_PATH_ENV],
      cwd: '/',
      capabilities: { bounding: [], effective: [], permitted: [] },
      noNewPrivileges: true,
      oomScoreAdj: INFRA_OOM_SCORE_ADJ,
    },
    root: { path: facts.rootfs, readonly: true },
    mounts,
    annotations: sandboxAnnotations(facts.sandboxId, config),
    linux: {
      namespaces: [
        { type: 'pid' },
        ...joined('network', facts.namespaces.network),
        ...joined('ipc', facts.namespaces.ipc),
        ...joined('uts', facts.namespaces.uts),
        { type: 'mount' },
      ],
      cgroupsPath: containerCgroupsPath(plan.cgroupParent, facts.sandboxId),
      resources: { devices: [{ allow: false, access: 'rwm' }], cpu: { shares: INFRA_CPU_SHARES } },
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      ...(seccomp ? { seccomp } : {}),
    },
  };
}
