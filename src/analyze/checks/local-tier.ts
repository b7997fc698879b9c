/**
 * The local tier has a host of its own only when the workload names its pods (spec.selector) and the cluster's
 * Istio can select pods from a ServiceEntry (1.8+). Otherwise its outlier detection goes on the Service host:
 * Istio applies one DestinationRule per host, so a user's rule for the Service replaces Spillway's (or the other
 * way round), and an ejection there applies to every caller of the Service, the receiving gateway included.
 */
import type { Check } from './check.ts';
import { choosePort, tiers } from '../../model/context.ts';
import { profileFor } from '../../model/profile.ts';
import { dns1123LabelError } from '../dns.ts';

/** A container port name as Kubernetes accepts it (IANA_SVC_NAME): 1-15 characters, a letter among them. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export const localTierCheck: Check = {
  name: 'local-tier',
  run(ctx, r) {
    const ts = tiers(ctx);
    if (ts.length < 2) return;
    for (const t of ts) {
      const chosen = choosePort(ctx.fs, t.workload);
      if ('port' in chosen) {
        const tp = chosen.port.targetPort;
        if (typeof tp === 'number' && (!Number.isInteger(tp) || tp < 1 || tp > 65535)) {
          r.report('SPW133', ctx.ref, { workload: t.key, port: chosen.port.name, targetPort: tp });
        } else if (typeof tp === 'string' && (tp.length > 15 || !PORT_NAME.test(tp) || tp.includes('--') || dns1123LabelError(tp))) {
          r.report('SPW133', ctx.ref, { workload: t.key, port: chosen.port.name, targetPort: tp });
        }
      }
      const selector = t.workload.spec.selector;
      const profile = profileFor(t.cluster.spec.istio?.version);
      if (!selector || Object.keys(selector).length === 0) {
        r.report('SPW132', ctx.ref, { reason: 'noSelector', workload: t.key, cluster: t.clusterName });
      } else if (profile && !profile.workloadSelectorServiceEntry) {
        r.report('SPW132', ctx.ref, { reason: 'istioVersion', cluster: t.clusterName, version: t.cluster.spec.istio?.version ?? '' });
      }
    }
  },
};
