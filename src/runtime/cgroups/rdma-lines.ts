// rdma.max lines for linux.resources.rdma (same format on v1 and v2; kernel cgroup-v1/rdma.rst).
import { invalid } from '../../oci/errors.ts';
import type { Resources } from '../../oci/runtime-spec.ts';
import { nonNegative } from './resource-values.ts';

const R = 'linux.resources';

/** rdma.max lines, "mlx4_0 hca_handle=2 hca_object=2000" (same format on v1 and v2). */
export function rdmaLines(r: Resources): Array<{ value: string; field: string }> {
  return Object.entries(r.rdma ?? {}).map(([dev, lim]) => {
    const f = `${R}.rdma.${dev}`;
    if (!/^[^\s/]+$/.test(dev)) throw invalid(`${R}.rdma keys must be device names, got ${JSON.stringify(dev)}`, { field: f });
    const parts = [dev];
    if (lim.hcaHandles !== undefined) parts.push(`hca_handle=${nonNegative(lim.hcaHandles, `${f}.hcaHandles`)}`);
    if (lim.hcaObjects !== undefined) parts.push(`hca_object=${nonNegative(lim.hcaObjects, `${f}.hcaObjects`)}`);
    if (parts.length === 1) throw invalid(`${f} sets neither hcaHandles nor hcaObjects`, { field: f });
    return { value: parts.join(' '), field: f };
  });
}
