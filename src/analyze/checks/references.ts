/**
 * Every listed MeshWorkload is listed once, and is valid along with the MeshCluster it names.
 *
 * A workload that is listed but absent (its MeshWorkload does not exist, or names a cluster that has no MeshCluster)
 * is not an error: that tier is left out (SPW127, SPW128) and the others keep serving, local-first. Services come and
 * go (a namespace rebuilt, a release reinstalled, a cluster deregistered) and a failover configuration must outlive
 * that. Only when no listed workload is available at all is the service rejected (SPW129). A workload or cluster that
 * exists but is invalid is an error (SPW101, SPW102): an invalid edit is rejected, never half-applied.
 */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
import { objectRef } from '../../model/naming.ts';
import { tiers } from '../../model/context.ts';

export const referencesCheck: Check = {
  name: 'references',
  run(ctx, r) {
    const seen = new Set<string>();
    let invalid = false;
    for (const w of ctx.listed) {
      const [ns, name] = w.key.split('/') as [string, string];
      if (seen.has(w.key)) {
        r.report(MSG.DuplicateWorkload, ctx.ref, `spec.meshWorkloads lists ${w.listed} more than once`);
        continue;
      }
      seen.add(w.key);
      if (!w.workload) {
        if (ctx.snapshot.rejected.has(objectRef('MeshWorkload', name, ns))) {
          invalid = true;
          r.report(MSG.UnknownWorkload, ctx.ref, `MeshWorkload ${w.key} is invalid (see its own messages)`);
        } else r.report(MSG.WorkloadUnavailable, ctx.ref, `MeshWorkload ${w.key} not found; left out of the tiers`);
        continue;
      }
      if (!w.cluster) {
        if (ctx.snapshot.rejected.has(objectRef('MeshCluster', w.clusterName ?? ''))) {
          invalid = true;
          r.report(MSG.UnknownCluster, ctx.ref, `MeshWorkload ${w.key} is in cluster ${w.clusterName}, whose MeshCluster is invalid (see its own messages)`);
        } else r.report(MSG.ClusterUnavailable, ctx.ref, `MeshWorkload ${w.key} names cluster ${w.clusterName}, but no MeshCluster ${w.clusterName} exists; left out of the tiers`);
      }
    }
    if (!invalid && ctx.listed.length > 0 && tiers(ctx).length === 0) {
      r.report(MSG.NoWorkloadAvailable, ctx.ref, `none of ${ctx.listed.map((w) => w.key).join(', ')} is available: nothing can serve this FailoverService`);
    }
  },
};
