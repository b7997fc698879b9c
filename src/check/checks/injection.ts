/**
 * SPC150: the failover service's pods run a sidecar (namespace label `istio-injection=enabled` or
 * `istio.io/rev`, or pods already injected), in every cluster it runs in.
 * SPC151: ambient namespaces are flagged: waypoints never receive ADDed clusters and ztunnel ignores
 * EnvoyFilters, so the aggregate design is sidecar-only.
 */
import type { Check } from '../types.ts';
import { clientOnly, hasSidecar, podsOf, ref, results, serviceViews, unreadable } from '../view.ts';

export const injectionCheck: Check = {
  name: 'injection',
  title: 'sidecar injection in the services\' namespaces; ambient flagged',
  run(s) {
    const r = results(this.name);
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        // A client-only cluster runs no pods of the service: nothing to inject there (its clients are DNS capture's).
        if (clientOnly(c)) continue;
        const key = `${c.cluster}\u0000${c.serviceNamespace}\u0000${c.serviceName}`;
        r.about(key, v.ref, () => {
          const f = s.clusters[c.cluster];
          if (!f || f.unreachable !== undefined) return;
          const ns = f.namespaces.items.find((n) => n.metadata.name === c.serviceNamespace);
          const labels = ns?.metadata.labels ?? {};
          const svcRef = `Service/${c.serviceNamespace}/${c.serviceName}`;
          const where = { cluster: c.cluster, namespace: c.serviceNamespace, service: c.serviceName };
          if (f.namespaces.error === undefined && !ns) {
            r.finding('fail', 'SPC150', { result: 'noNamespace', ...where }, { cluster: c.cluster, object: `Namespace/${c.serviceNamespace}` });
            return;
          }
          if (labels['istio.io/dataplane-mode'] === 'ambient') {
            r.finding('fail', 'SPC151', { result: 'ambientNamespace', ...where, globalHost: v.globalHost }, { cluster: c.cluster, object: ref(ns!) });
            return;
          }
          const nsInjects = labels['istio-injection'] === 'enabled' || (labels['istio.io/rev'] !== undefined && labels['istio-injection'] !== 'disabled');
          const { service, pods } = podsOf(f, c.serviceNamespace, c.serviceName);
          const ambientPods = pods.filter((p) => p.metadata.labels?.['istio.io/dataplane-mode'] === 'ambient');
          if (ambientPods.length > 0) {
            r.finding('fail', 'SPC151', { result: 'ambientPods', ...where, count: ambientPods.length, pods: ambientPods.slice(0, 3).map((p) => p.metadata.name) }, { cluster: c.cluster, object: svcRef });
          }
          const without = pods.filter((p) => !hasSidecar(p));
          const podsKnown = f.pods.error === undefined && service !== undefined;
          if (podsKnown && without.length > 0) {
            r.finding('fail', 'SPC150', { result: 'podsWithoutSidecar', ...where, without: without.length, pods: pods.length, names: without.slice(0, 5).map((p) => p.metadata.name), namespaceInjects: nsInjects }, { cluster: c.cluster, object: svcRef });
          } else if (labels['istio-injection'] === 'disabled' && !(podsKnown && pods.length > 0)) {
            r.finding('fail', 'SPC150', { result: 'injectionDisabled', cluster: c.cluster, namespace: c.serviceNamespace }, { cluster: c.cluster, object: `Namespace/${c.serviceNamespace}` });
          } else if (nsInjects || (podsKnown && pods.length > 0)) {
            const by = nsInjects ? (labels['istio-injection'] === 'enabled' ? 'label' : 'revision') : 'pods';
            r.finding('pass', 'SPC150', { result: 'injects', ...where, by, ...(by === 'revision' ? { revision: labels['istio.io/rev'] ?? '' } : {}), ...(podsKnown ? { pods: pods.length } : {}) }, { cluster: c.cluster, object: svcRef });
          } else {
            const why = unreadable(f.pods, 'pods');
            r.finding(why ? 'warn' : 'fail', 'SPC150', { result: 'noInjectionLabel', ...where, ...(why ? { podsUnread: why } : {}), serviceExists: service !== undefined }, { cluster: c.cluster, object: `Namespace/${c.serviceNamespace}` });
          }
        });
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC150', { result: 'noService' });
    return r.out;
  },
};
