/**
 * A FailoverService lists workloads in at least two clusters, one workload in each. When some listed workloads are
 * unavailable (see references.ts) and one cluster remains, it serves locally and says so (SPW160).
 */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
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
      if (keys.length > 1) r.report(MSG.DuplicateCluster, ctx.ref, `workloads ${keys.join(', ')} are all in cluster ${cluster}; list one workload per cluster`);
    }
    const unresolved = ctx.listed.some((w) => !w.workload || !w.cluster);
    const available = tiers(ctx);
    if (!unresolved && byCluster.size < 2 && available.length > 0) {
      r.report(MSG.TooFewClusters, ctx.ref, `only cluster ${[...byCluster.keys()].join(', ')} is listed; failover needs workloads in at least two clusters`);
    } else if (unresolved && available.length === 1 && !r.hasErrors(ctx.ref)) {
      r.report(MSG.LocalOnly, ctx.ref, `only cluster ${available[0]!.clusterName} is available; it serves ${available[0]!.key} locally, with no failover`);
    }
  },
};
