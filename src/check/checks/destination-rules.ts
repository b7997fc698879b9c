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
          r.add('warn', 'SPC160', `${why}: user rules for ${c.localHost} are unverified`, { cluster: c.cluster, services: [v.ref], hint: 'grant list on destinationrules.networking.istio.io' });
          continue;
        }
        const domain = meshCluster(s, c.cluster)?.spec.clusterDomain ?? DEFAULTS.clusterDomain;
        const h = clientHosts(c, v.globalHost);
        const watched = new Map<string, string>([[h.local, 'the local tier'], [h.global, 'the global host'], ...h.remotes.map((x): [string, string] => [x, 'a remote tier'])]);
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
            r.add('fail', 'SPC160', `${ref(dr)} sets a trafficPolicy for ${q} (${what}); Istio applies one rule's trafficPolicy per host, so either Spillway's outlier detection or this rule's policy is silently dropped${what === 'the local tier' ? ' (and with it failover from the local tier)' : ''}`, {
              cluster: c.cluster, services: [v.ref],
              object: ref(dr),
              hint: `merge its settings into one rule: move its trafficPolicy (tls, connectionPool, ...) next to outlierDetection, or delete ${ref(dr)} and keep Spillway's ${c.serviceName}-local`,
            });
          } else {
            r.add('warn', 'SPC160', `${ref(dr)} also targets ${q} (${what}), with subsets only: Istio merges it, but keep trafficPolicy out of it`, { cluster: c.cluster, services: [v.ref], object: ref(dr), hint: 'add no top-level trafficPolicy to this rule' });
          }
        }
        if (!found) r.add('pass', 'SPC160', `no user DestinationRule for ${[...watched.keys()].join(', ')}`, { cluster: c.cluster, services: [v.ref] });
      }
    }
    if (r.out.length === 0) r.add('skip', 'SPC160', 'no reachable client cluster');
    return r.out;
  },
};
