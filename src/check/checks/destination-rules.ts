/**
 * SPC160: a user's DestinationRule for a host the aggregate uses. Istio applies the top-level trafficPolicy of
 * one rule per host (the oldest; one in the caller's namespace is preferred), so a user's rule for
 * `reviews.default.svc.cluster.local` (Bookinfo-style mTLS rules are common) silently drops Spillway's outlier
 * detection, or Spillway's drops the user's policy. Rules with only subsets merge and are reported as warnings.
 */
import { DEFAULTS } from '../../model/context.ts';
import type { Check } from '../types.ts';
import { asString, clientHosts, isOurs, meshCluster, qualifyHost, ref, results, serviceViews, spec, unreadable } from '../view.ts';

export const destinationRulesCheck: Check = {
  name: 'destination-rules',
  title: 'no user DestinationRule for the hosts Spillway configures',
  run(s) {
    const r = results(this.name);
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        if (!c.roles.includes('client')) continue;
        const f = s.clusters[c.cluster];
        if (!f || f.unreachable !== undefined) continue;
        const why = unreadable(f.destinationRules, 'DestinationRules');
        if (why) {
          r.finding('warn', 'SPC160', { result: 'unreadable', cluster: c.cluster, unread: why, host: c.localHost ?? v.globalHost }, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const domain = meshCluster(s, c.cluster)?.spec.clusterDomain ?? DEFAULTS.clusterDomain;
        const h = clientHosts(c, v.globalHost);
        // A client-only cluster has no local tier: only the global host and the remote tiers are Spillway's there.
        const watched = new Map<string, 'local' | 'global' | 'remote'>([...(h.local !== undefined ? [[h.local, 'local'] as [string, 'local']] : []), [h.global, 'global'], ...h.remotes.map((x): [string, 'remote'] => [x, 'remote'])]);
        let found = false;
        for (const dr of f.destinationRules.items) {
          if (isOurs(dr)) continue;
          const host = asString(spec(dr)['host']);
          if (!host) continue;
          const q = qualifyHost(host, dr.metadata.namespace ?? 'default', domain);
          const what = watched.get(q);
          if (!what) continue;
          found = true;
          const policy = spec(dr)['trafficPolicy'];
          if (policy !== undefined) {
            r.finding('fail', 'SPC160', { result: 'trafficPolicy', cluster: c.cluster, rule: ref(dr), host: q, role: what, service: c.serviceName }, { cluster: c.cluster, services: [v.ref], object: ref(dr) });
          } else {
            r.finding('warn', 'SPC160', { result: 'subsetsOnly', cluster: c.cluster, rule: ref(dr), host: q, role: what }, { cluster: c.cluster, services: [v.ref], object: ref(dr) });
          }
        }
        if (!found) r.finding('pass', 'SPC160', { result: 'none', cluster: c.cluster, hosts: [...watched.keys()] }, { cluster: c.cluster, services: [v.ref] });
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC160', { result: 'noClient' });
    return r.out;
  },
};
