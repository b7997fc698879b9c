/**
 * SPC162: Sidecar resources that hide the global hosts. A Sidecar's `egress[].hosts` (`namespace/dnsName`)
 * limits which ServiceEntries and DestinationRules its proxies import: one that does not import the service's
 * namespace leaves them without the global host, its remote tiers or their rules. The mesh-wide default is the
 * Sidecar without workloadSelector in the root namespace; a namespace's own one without selector overrides it.
 */
import type { KubeObject } from '../../api/types.ts';
import type { Check } from '../types.ts';
import { asArray, clientHosts, hostMatches, isRecord, meshCluster, ref, results, rootNamespace, serviceViews, spec, unreadable } from '../view.ts';

/** Does one egress host entry (`ns/host`, `./host`, `*\/host`, `~/host`) import `host` from namespace `hostNs`, for a Sidecar in `sidecarNs`? */
export function imports(entry: string, sidecarNs: string, hostNs: string, host: string): boolean {
  const slash = entry.indexOf('/');
  const ns = slash < 0 ? '*' : entry.slice(0, slash);
  const dns = slash < 0 ? entry : entry.slice(slash + 1);
  if (ns === '~') return false;
  const nsOk = ns === '*' || (ns === '.' ? sidecarNs === hostNs : ns === hostNs);
  return nsOk && hostMatches(dns, host);
}

function egressHosts(sc: KubeObject): string[] | undefined {
  const egress = asArray(spec(sc)['egress']).filter(isRecord);
  if (egress.length === 0) return undefined; // no egress section: imports everything
  return egress.flatMap((e) => asArray(e['hosts']).filter((h): h is string => typeof h === 'string'));
}

export const sidecarsCheck: Check = {
  name: 'sidecars',
  title: 'no Sidecar resource hides the global hosts from clients',
  run(s) {
    const r = results(this.name);
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        if (!c.roles.includes('client')) continue;
        const f = s.clusters[c.cluster];
        if (!f || f.unreachable !== undefined) continue;
        const why = unreadable(f.sidecars, 'Sidecars');
        if (why) {
          r.finding('warn', 'SPC162', { result: 'unreadable', cluster: c.cluster, unread: why, host: v.globalHost }, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const h = clientHosts(c, v.globalHost);
        const needed = [h.global, ...h.remotes];
        const rootNs = rootNamespace(meshCluster(s, c.cluster));
        let hiding = 0;
        for (const sc of [...f.sidecars.items].sort((a, b) => (ref(a) < ref(b) ? -1 : 1))) {
          const hosts = egressHosts(sc);
          if (!hosts) continue;
          const scNs = sc.metadata.namespace ?? 'default';
          const missing = needed.filter((host) => !hosts.some((e) => imports(e, scNs, c.serviceNamespace, host)));
          if (missing.length === 0) continue;
          hiding++;
          const selector = spec(sc)['workloadSelector'];
          const scope = isRecord(selector) ? 'selected' : scNs === rootNs ? 'meshDefault' : 'namespace';
          r.finding(v.clientSelector || isRecord(selector) ? 'warn' : 'fail', 'SPC162', { result: 'hides', cluster: c.cluster, sidecar: ref(sc), egressHosts: hosts, missing, scope, sidecarNamespace: scNs, globalHost: v.globalHost, serviceNamespace: c.serviceNamespace }, { cluster: c.cluster, services: [v.ref], object: ref(sc) });
        }
        if (hiding === 0) r.finding('pass', 'SPC162', { result: 'none', cluster: c.cluster, hosts: needed }, { cluster: c.cluster, services: [v.ref] });
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC162', { result: 'noClient' });
    return r.out;
  },
};
