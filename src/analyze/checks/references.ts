/**
 * Every listed MeshWorkload is listed once, and is valid along with the MeshCluster it names.
 *
 * A workload that is listed but absent (its MeshWorkload does not exist, or names a cluster that has no MeshCluster)
 * is not an error: that tier is left out (SPW127, SPW128) and the others keep serving, local-first. Services come and
 * go (a namespace rebuilt, a release reinstalled, a cluster deregistered) and a failover configuration must outlive
 * that. A missing workload whose cluster is still registered (named `<service>-<cluster>`, see clientOnlyClusters)
 * leaves that cluster a client-only cluster instead (SPW161): it hosts no tier but its clients keep the global host.
 * Only when no listed workload is available at all is the service rejected (SPW129). A workload or cluster that
 * exists but is invalid is an error (SPW101, SPW102): an invalid edit is rejected, never half-applied.
 */
import type { Check } from './check.ts';
import { objectRef } from '../../model/naming.ts';
import { clientOnlyClusters, tiers } from '../../model/context.ts';

export const referencesCheck: Check = {
  name: 'references',
  run(ctx, r) {
    const seen = new Set<string>();
    let invalid = false;
    ctx.listed.forEach((w, i) => {
      const path = `spec.meshWorkloads[${i}]`;
      const [ns, name] = w.key.split('/') as [string, string];
      if (seen.has(w.key)) {
        r.report('SPW118', ctx.ref, { workload: w.listed }, path);
        return;
      }
      seen.add(w.key);
      if (!w.workload) {
        if (ctx.snapshot.rejected.has(objectRef('MeshWorkload', name, ns))) {
          invalid = true;
          r.report('SPW101', ctx.ref, { workload: w.key }, path);
        } else {
          const client = clientOnlyClusters(ctx).find((c) => c.key === w.key);
          if (client) r.report('SPW161', ctx.ref, { workload: w.key, cluster: client.clusterName, remotes: tiers(ctx).map((t) => t.clusterName) }, path);
          else r.report('SPW127', ctx.ref, { workload: w.key }, path);
        }
        return;
      }
      if (!w.cluster) {
        if (ctx.snapshot.rejected.has(objectRef('MeshCluster', w.clusterName ?? ''))) {
          invalid = true;
          r.report('SPW102', ctx.ref, { workload: w.key, cluster: String(w.clusterName) }, path);
        } else r.report('SPW128', ctx.ref, { workload: w.key, cluster: String(w.clusterName) }, path);
      }
    });
    if (!invalid && ctx.listed.length > 0 && tiers(ctx).length === 0) {
      r.report('SPW129', ctx.ref, { workloads: ctx.listed.map((w) => w.key) }, 'spec.meshWorkloads');
    }
  },
};
