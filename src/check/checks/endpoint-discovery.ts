/**
 * SPC164: Istio's own multi-cluster endpoint discovery. With remote secrets (multi-primary), the local tier's
 * Envoy cluster `outbound|<port>||<svc>.<ns>.svc.cluster.local` already holds other clusters' endpoints, in
 * Istio's locality order rather than Spillway's: the local tier is not local. Only mesh `serviceSettings` with
 * `clusterLocal: true` for the host keep it local.
 */
import type { Check } from '../types.ts';
import { asArray, hostMatches, isRecord, meshConfig, ref, results, serviceViews, unreadable } from '../view.ts';

export const endpointDiscoveryCheck: Check = {
  name: 'endpoint-discovery',
  title: 'Istio\'s own multi-cluster endpoint discovery keeps the local tier local (clusterLocal)',
  run(s) {
    const r = results(this.name);
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        if (!c.roles.includes('client')) continue;
        const f = s.clusters[c.cluster];
        if (!f || f.unreachable !== undefined) continue;
        if (f.remoteSecrets.skipped !== undefined) {
          r.add('skip', 'SPC164', `remote secrets ${f.remoteSecrets.skipped}`, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const why = unreadable(f.remoteSecrets, 'remote secrets (Secrets labelled istio/multiCluster=true)');
        if (why) {
          r.add('warn', 'SPC164', `${why}: whether Istio merges other clusters' endpoints into ${c.localHost} is unverified`, { cluster: c.cluster, services: [v.ref], hint: 'grant list on secrets in the Istio root namespace (names and labels are all that is read)' });
          continue;
        }
        const secrets = f.remoteSecrets.items;
        if (secrets.length === 0) {
          r.add('pass', 'SPC164', `no remote secrets: Istio's endpoint discovery is local to this cluster, so ${c.localHost} holds local endpoints only`, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const mesh = meshConfig(f);
        const local = asArray(mesh?.config['serviceSettings'])
          .filter(isRecord)
          .filter((e) => isRecord(e['settings']) && e['settings']['clusterLocal'] === true)
          .flatMap((e) => asArray(e['hosts']).filter((h): h is string => typeof h === 'string'));
        const covered = local.find((p) => hostMatches(p, c.localHost));
        const names = secrets.slice(0, 3).map(ref).join(', ');
        if (covered) {
          r.add('pass', 'SPC164', `Istio discovers endpoints from ${secrets.length} remote cluster(s) (${names}), but serviceSettings keeps ${c.localHost} cluster-local (${covered})`, { cluster: c.cluster, services: [v.ref] });
        } else {
          r.add('fail', 'SPC164', `Istio discovers endpoints from ${secrets.length} remote cluster(s) (${names}) and ${c.localHost} is not clusterLocal: the local tier already holds other clusters' endpoints in Istio's locality order, not Spillway's`, {
            cluster: c.cluster, services: [v.ref],
            hint: `add to the mesh config: serviceSettings: [{settings: {clusterLocal: true}, hosts: ["${c.localHost}"]}] (or remove the remote secrets: Spillway fits independent control planes)`,
          });
        }
      }
    }
    if (r.out.length === 0) r.add('skip', 'SPC164', 'no reachable client cluster');
    return r.out;
  },
};
