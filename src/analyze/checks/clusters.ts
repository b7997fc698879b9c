/** A FailoverService spans at least two clusters, with one workload in each. */
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
    if (!unresolved && byCluster.size < 2 && tiers(ctx).length > 0) {
      r.report(MSG.TooFewClusters, ctx.ref, `only cluster ${[...byCluster.keys()].join(', ')} is listed; failover needs workloads in at least two clusters`);
    }
  },
};
