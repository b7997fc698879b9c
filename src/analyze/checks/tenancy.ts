/**
 * Tenancy: a FailoverService uses only its own namespace's MeshWorkloads and Services, unless a MeshWorkloadGrant
 * in the other namespace names the FailoverService's namespace (the way Gateway API's ReferenceGrant works). Both
 * the MeshWorkload's namespace and the namespace of the Service it names count: a MeshWorkload of one's own
 * namespace that points at another namespace's Service needs that namespace's grant too.
 */
import type { Check } from './check.ts';
import type { MeshWorkloadGrant } from '../../api/types.ts';

/** Does a grant in `namespace` let FailoverServices of `from` use MeshWorkload `name` (or, for a Service, any)? */
export function granted(grants: readonly MeshWorkloadGrant[] | undefined, from: string, name: string | undefined): boolean {
  return (grants ?? []).some((g) => g.spec.from.some((f) => f.namespace === from) && (name === undefined || g.spec.meshWorkloads === undefined || g.spec.meshWorkloads.includes(name)));
}

export const tenancyCheck: Check = {
  name: 'tenancy',
  run(ctx, r) {
    const own = ctx.fs.metadata.namespace ?? 'default';
    const grants = ctx.snapshot.grants;
    const reported = new Set<string>();
    ctx.listed.forEach((w, i) => {
      const [wns, wname] = w.key.split('/') as [string, string];
      if (wns !== own && !granted(grants?.get(wns), own, wname) && !reported.has(w.key)) {
        reported.add(w.key);
        r.report('SPW140', ctx.ref, { workload: w.key, namespace: wns, from: own }, `spec.meshWorkloads[${i}]`);
        return;
      }
      if (!w.workload) return;
      const sns = w.workload.spec.service.namespace ?? wns;
      // A Service of a third namespace (neither the FailoverService's nor the MeshWorkload's): granted by that namespace.
      if (sns !== own && sns !== wns && !granted(grants?.get(sns), own, undefined)) {
        const key = `${w.key}->${sns}`;
        if (reported.has(key)) return;
        reported.add(key);
        r.report('SPW140', ctx.ref, { workload: w.key, namespace: sns, service: w.workload.spec.service.name, from: own }, `spec.meshWorkloads[${i}]`);
      }
    });
  },
};
