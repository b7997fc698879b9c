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
        // A client-only cluster has no local tier whose endpoints Istio could merge.
        if (!c.roles.includes('client') || c.localHost === undefined) continue;
        const host = c.localHost;
        const f = s.clusters[c.cluster];
        if (!f || f.unreachable !== undefined) continue;
        if (f.remoteSecrets.skipped !== undefined) {
          r.finding('skip', 'SPC164', { result: 'notRead', cluster: c.cluster, reason: f.remoteSecrets.skipped }, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const why = unreadable(f.remoteSecrets, 'remote secrets (Secrets labelled istio/multiCluster=true)');
        if (why) {
          r.finding('warn', 'SPC164', { result: 'unreadable', cluster: c.cluster, unread: why, host }, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const secrets = f.remoteSecrets.items;
        if (secrets.length === 0) {
          r.finding('pass', 'SPC164', { result: 'noRemoteSecrets', cluster: c.cluster, host }, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const mesh = meshConfig(f);
        const local = asArray(mesh?.config['serviceSettings'])
          .filter(isRecord)
          .filter((e) => isRecord(e['settings']) && e['settings']['clusterLocal'] === true)
          .flatMap((e) => asArray(e['hosts']).filter((h): h is string => typeof h === 'string'));
        const covered = local.find((p) => hostMatches(p, host));
        const names = secrets.slice(0, 3).map(ref);
        if (covered) {
          r.finding('pass', 'SPC164', { result: 'clusterLocal', cluster: c.cluster, remotes: secrets.length, secrets: names, host, setting: covered }, { cluster: c.cluster, services: [v.ref] });
        } else {
          r.finding('fail', 'SPC164', { result: 'merged', cluster: c.cluster, remotes: secrets.length, secrets: names, host }, { cluster: c.cluster, services: [v.ref] });
        }
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC164', { result: 'noClient' });
    return r.out;
  },
};
