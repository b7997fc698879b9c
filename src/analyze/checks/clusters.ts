/**
 * A FailoverService lists workloads in at least two clusters, one workload in each. When some listed workloads are
 * unavailable (see references.ts) and one cluster remains, it serves locally and says so (SPW160).
 */
import type { Check } from './check.ts';
import { tiers } from '../../model/context.ts';

export const clustersCheck: Check = {
  name: 'clusters',
  run(ctx, r) {
    const byCluster = new Map<string, string[]>();
    for (const w of ctx.listed) {
      if (!w.workload || w.clusterName === undefined) continue;
      const list = byCluster.get(w.clusterName) ?? [];
      if (!list.includes(w.key)) list.push(w.key);
      byCluster.set(w.clusterName, list);
    }
    for (const [cluster, keys] of byCluster) {
      if (keys.length > 1) r.report('SPW103', ctx.ref, { workloads: keys, cluster }, 'spec.meshWorkloads');
    }
    const unresolved = ctx.listed.some((w) => !w.workload || !w.cluster);
    const available = tiers(ctx);
    if (!unresolved && byCluster.size < 2 && available.length > 0) {
      r.report('SPW104', ctx.ref, { clusters: [...byCluster.keys()] }, 'spec.meshWorkloads');
    } else if (unresolved && available.length === 1 && !r.hasErrors(ctx.ref)) {
      r.report('SPW160', ctx.ref, { cluster: available[0]!.clusterName, workload: available[0]!.key }, 'spec.meshWorkloads');
    }
  },
};
