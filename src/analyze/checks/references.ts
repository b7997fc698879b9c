/** Every listed MeshWorkload exists and is valid, is listed once, and names a MeshCluster that exists. */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
import { objectRef } from '../../model/naming.ts';

export const referencesCheck: Check = {
  name: 'references',
  run(ctx, r) {
    const seen = new Set<string>();
    for (const w of ctx.listed) {
      const [ns, name] = w.key.split('/') as [string, string];
      if (seen.has(w.key)) {
        r.report(MSG.DuplicateWorkload, ctx.ref, `spec.meshWorkloads lists ${w.listed} more than once`);
        continue;
      }
      seen.add(w.key);
      if (!w.workload) {
        const rejected = ctx.snapshot.rejected.has(objectRef('MeshWorkload', name, ns));
        r.report(MSG.UnknownWorkload, ctx.ref, rejected ? `MeshWorkload ${w.key} is invalid (see its own messages)` : `MeshWorkload ${w.key} not found`);
        continue;
      }
      if (!w.cluster) {
        const rejected = ctx.snapshot.rejected.has(objectRef('MeshCluster', w.clusterName ?? ''));
        r.report(MSG.UnknownCluster, ctx.ref, rejected ? `MeshWorkload ${w.key} is in cluster ${w.clusterName}, whose MeshCluster is invalid (see its own messages)` : `MeshWorkload ${w.key} names cluster ${w.clusterName}, but no MeshCluster ${w.clusterName} exists`);
      }
    }
  },
};
