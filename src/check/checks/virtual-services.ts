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
          r.add('warn', 'SPC161', `${why}: user routes for ${v.globalHost} are unverified`, { cluster: c.cluster, services: [v.ref], hint: 'grant list on virtualservices.networking.istio.io' });
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
            r.add('fail', 'SPC161', `${ref(vs)} routes ${hit.join(', ')} to ${[...new Set(elsewhere)].join(', ')}: client sidecars follow it instead of the aggregate, so requests never fail over`, {
              cluster: c.cluster, services: [v.ref],
              object: ref(vs),
              hint: `remove ${hit.join(', ')} from its hosts (Spillway's aggregate already routes the global host), or route to ${v.globalHost} itself`,
            });
          } else if (!mesh && gateways.some((g) => g.endsWith(`${v.globalHost}-gw`))) {
            r.add('fail', 'SPC161', `${ref(vs)} binds to Spillway's gateway for ${hit.join(', ')} as well: the receiving gateway merges two VirtualServices for one host in an order you do not control`, { cluster: c.cluster, services: [v.ref], object: ref(vs), hint: `delete ${ref(vs)} or drop ${v.globalHost} from its hosts` });
          } else {
            r.add('warn', 'SPC161', `${ref(vs)} also names ${hit.join(', ')}${mesh ? '' : ` (gateways ${gateways.join(', ')})`}`, { cluster: c.cluster, services: [v.ref], object: ref(vs), hint: 'keep routes for Spillway\'s hosts in Spillway\'s objects only' });
          }
        }
        if (!found) r.add('pass', 'SPC161', `no user VirtualService for ${watched.join(', ')}`, { cluster: c.cluster, services: [v.ref] });
      }
    }
    if (r.out.length === 0) r.add('skip', 'SPC161', 'no reachable cluster runs a failover service');
    return r.out;
  },
};
