/**
 * SPC161: a user's VirtualService for the global host or a remote tier's host. On a client, routes for the
 * global host to anything but the global host itself bypass the aggregate (no failover); on a receiver, a second
 * VirtualService for the global host bound to the same gateway is merged unpredictably with Spillway's.
 */
import type { Check } from '../types.ts';
import { asArray, clientHosts, isOurs, isRecord, ref, results, serviceViews, spec, unreadable } from '../view.ts';
import type { KubeObject } from '../../api/types.ts';

function destinations(vs: KubeObject): string[] {
  const out: string[] = [];
  for (const kind of ['http', 'tcp', 'tls']) {
    for (const route of asArray(spec(vs)[kind])) {
      if (!isRecord(route)) continue;
      for (const d of asArray(route['route'])) if (isRecord(d) && isRecord(d['destination']) && typeof d['destination']['host'] === 'string') out.push(d['destination']['host']);
    }
  }
  return out;
}

export const virtualServicesCheck: Check = {
  name: 'virtual-services',
  title: 'no user VirtualService for the global or remote hosts',
  run(s) {
    const r = results(this.name);
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        const f = s.clusters[c.cluster];
        if (!f || f.unreachable !== undefined) continue;
        const why = unreadable(f.virtualServices, 'VirtualServices');
        if (why) {
          r.finding('warn', 'SPC161', { result: 'unreadable', cluster: c.cluster, unread: why, host: v.globalHost }, { cluster: c.cluster, services: [v.ref] });
          continue;
        }
        const h = clientHosts(c, v.globalHost);
        const watched = [h.global, ...h.remotes];
        let found = false;
        for (const vs of f.virtualServices.items) {
          if (isOurs(vs)) continue;
          const hosts = asArray(spec(vs)['hosts']).filter((x): x is string => typeof x === 'string');
          // A wildcard route (`*`, `*.global`) only applies when no exact host matches; exact hosts are what collide.
          const hit = watched.filter((w) => hosts.includes(w));
          if (hit.length === 0) continue;
          found = true;
          const gateways = asArray(spec(vs)['gateways']).filter((x): x is string => typeof x === 'string');
          const mesh = gateways.length === 0 || gateways.includes('mesh');
          const elsewhere = destinations(vs).filter((d) => !watched.includes(d));
          if (mesh && c.roles.includes('client') && elsewhere.length > 0) {
            r.finding('fail', 'SPC161', { result: 'routesElsewhere', cluster: c.cluster, virtualService: ref(vs), hosts: hit, to: [...new Set(elsewhere)], globalHost: v.globalHost }, { cluster: c.cluster, services: [v.ref], object: ref(vs) });
          } else if (!mesh && gateways.some((g) => g.endsWith(`${v.globalHost}-gw`))) {
            r.finding('fail', 'SPC161', { result: 'bindsGateway', cluster: c.cluster, virtualService: ref(vs), hosts: hit, globalHost: v.globalHost }, { cluster: c.cluster, services: [v.ref], object: ref(vs) });
          } else {
            r.finding('warn', 'SPC161', { result: 'alsoNames', cluster: c.cluster, virtualService: ref(vs), hosts: hit, ...(mesh ? {} : { gateways }) }, { cluster: c.cluster, services: [v.ref], object: ref(vs) });
          }
        }
        if (!found) r.finding('pass', 'SPC161', { result: 'none', cluster: c.cluster, hosts: watched }, { cluster: c.cluster, services: [v.ref] });
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC161', { result: 'noService' });
    return r.out;
  },
};
