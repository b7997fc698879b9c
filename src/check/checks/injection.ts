/**
 * SPC150: the failover service's pods run a sidecar (namespace label `istio-injection=enabled` or
 * `istio.io/rev`, or pods already injected), in every cluster it runs in.
 * SPC151: ambient namespaces are flagged: waypoints never receive ADDed clusters and ztunnel ignores
 * EnvoyFilters, so the aggregate design is sidecar-only.
 */
import type { Check } from '../types.ts';
import { hasSidecar, podsOf, ref, results, serviceViews, unreadable } from '../view.ts';

export const injectionCheck: Check = {
  name: 'injection',
  title: 'sidecar injection in the services\' namespaces; ambient flagged',
  run(s) {
    const r = results(this.name);
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        const key = `${c.cluster}\u0000${c.serviceNamespace}\u0000${c.serviceName}`;
        r.about(key, v.ref, () => {
          const f = s.clusters[c.cluster];
          if (!f || f.unreachable !== undefined) return;
          const ns = f.namespaces.items.find((n) => n.metadata.name === c.serviceNamespace);
          const labels = ns?.metadata.labels ?? {};
          const svcRef = `Service/${c.serviceNamespace}/${c.serviceName}`;
          if (f.namespaces.error === undefined && !ns) {
            r.add('fail', 'SPC150', `namespace ${c.serviceNamespace} does not exist`, { cluster: c.cluster, object: `Namespace/${c.serviceNamespace}`, hint: `create it and deploy ${c.serviceName} there, or fix MeshWorkload for cluster ${c.cluster}` });
            return;
          }
          if (labels['istio.io/dataplane-mode'] === 'ambient') {
            r.add('fail', 'SPC151', `namespace ${c.serviceNamespace} is in ambient mode (istio.io/dataplane-mode=ambient): ztunnel and waypoints ignore Spillway's EnvoyFilter, so ${v.globalHost} gets no aggregate cluster here`, {
              cluster: c.cluster,
              object: ref(ns!),
              hint: `run ${c.serviceName} and its callers with sidecars: kubectl label ns ${c.serviceNamespace} istio.io/dataplane-mode- istio-injection=enabled, then restart the pods`,
            });
            return;
          }
          const nsInjects = labels['istio-injection'] === 'enabled' || (labels['istio.io/rev'] !== undefined && labels['istio-injection'] !== 'disabled');
          const { service, pods } = podsOf(f, c.serviceNamespace, c.serviceName);
          const ambientPods = pods.filter((p) => p.metadata.labels?.['istio.io/dataplane-mode'] === 'ambient');
          if (ambientPods.length > 0) {
            r.add('fail', 'SPC151', `${ambientPods.length} pod(s) of ${svcRef} are enrolled in ambient mode: ${ambientPods.slice(0, 3).map((p) => p.metadata.name).join(', ')}`, { cluster: c.cluster, object: svcRef, hint: 'remove the istio.io/dataplane-mode label from those pods and inject sidecars' });
          }
          const without = pods.filter((p) => !hasSidecar(p));
          const podsKnown = f.pods.error === undefined && service !== undefined;
          if (podsKnown && without.length > 0) {
            r.add('fail', 'SPC150', `${without.length} of ${pods.length} pod(s) of ${svcRef} have no istio-proxy sidecar: ${without.slice(0, 5).map((p) => p.metadata.name).join(', ')}${nsInjects ? ' (the namespace injects: restart them)' : ''}`, {
              cluster: c.cluster,
              object: svcRef,
              hint: nsInjects ? `kubectl -n ${c.serviceNamespace} rollout restart deploy` : `kubectl label ns ${c.serviceNamespace} istio-injection=enabled, then kubectl -n ${c.serviceNamespace} rollout restart deploy`,
            });
          } else if (labels['istio-injection'] === 'disabled' && !(podsKnown && pods.length > 0)) {
            r.add('fail', 'SPC150', `namespace ${c.serviceNamespace} has istio-injection=disabled`, { cluster: c.cluster, object: `Namespace/${c.serviceNamespace}`, hint: `kubectl label ns ${c.serviceNamespace} istio-injection=enabled --overwrite, then restart the pods` });
          } else if (nsInjects || (podsKnown && pods.length > 0)) {
            const how = nsInjects ? (labels['istio-injection'] === 'enabled' ? 'istio-injection=enabled' : `istio.io/rev=${labels['istio.io/rev']}`) : 'pods injected individually';
            r.add('pass', 'SPC150', `namespace ${c.serviceNamespace} injects sidecars (${how})${podsKnown ? `; ${pods.length} pod(s) of ${c.serviceName} all have one` : ''}`, { cluster: c.cluster, object: svcRef });
          } else {
            const why = unreadable(f.pods, 'pods');
            r.add(why ? 'warn' : 'fail', 'SPC150', `namespace ${c.serviceNamespace} has no injection label (istio-injection=enabled or istio.io/rev)${why ? ` and ${why}` : service ? `, and ${c.serviceName} has no pods` : `, and there is no Service ${c.serviceName}`}`, {
              cluster: c.cluster,
              object: `Namespace/${c.serviceNamespace}`,
              hint: `kubectl label ns ${c.serviceNamespace} istio-injection=enabled (or istio.io/rev=<revision>), then restart the pods`,
            });
          }
        });
      }
    }
    if (r.out.length === 0) r.add('skip', 'SPC150', 'no reachable cluster runs a failover service');
    return r.out;
  },
};
