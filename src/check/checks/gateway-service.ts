/**
 * The receiving gateway as other clusters reach it:
 * - SPC140: a Service selects the gateway pods and exposes the port the MeshCluster says other clusters dial
 *   (`spec.gateway.port`: a Service port of a LoadBalancer, or a NodePort);
 * - SPC141: the rendered Gateway server's port (`spec.gateway.listenPort`, default `port`) is a port of that
 *   Service: istiod translates it to the Service's target port, and uses a number that matches no Service port as
 *   the container port (a NodePort written there is almost never right);
 * - SPC142: the address the MeshCluster names is the one that port is exposed on (a load balancer ingress, an
 *   external IP, or a node address for a NodePort).
 */
import type { KubeObject } from '../../api/types.ts';
import { DEFAULTS } from '../../model/context.ts';
import type { Check } from '../types.ts';
import { asArray, isRecord, meshCluster, ref, results, serviceViews, spec } from '../view.ts';

interface SvcPort {
  name?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

function portsOf(svc: KubeObject): SvcPort[] {
  return asArray(spec(svc)['ports'])
    .filter(isRecord)
    .map((p) => ({
      ...(typeof p['name'] === 'string' ? { name: p['name'] } : {}),
      port: Number(p['port']),
      ...(p['targetPort'] !== undefined ? { targetPort: p['targetPort'] as number | string } : {}),
      ...(typeof p['nodePort'] === 'number' ? { nodePort: p['nodePort'] } : {}),
    }));
}

const showPort = (p: SvcPort): string => `${p.port}${p.targetPort !== undefined && p.targetPort !== p.port ? `->${p.targetPort}` : ''}${p.nodePort ? ` (NodePort ${p.nodePort})` : ''}`;

/** Services that select the pods a gateway selector names: their selectors agree with it on every shared key. */
export function gatewayServices(services: readonly KubeObject[], selector: Record<string, string>): KubeObject[] {
  const matches = services.filter((svc) => {
    const sel = spec(svc)['selector'];
    if (!isRecord(sel) || Object.keys(sel).length === 0) return false;
    const shared = Object.keys(sel).filter((k) => k in selector);
    return shared.length > 0 && shared.every((k) => sel[k] === selector[k]);
  });
  return matches.sort((a, b) => (ref(a) < ref(b) ? -1 : 1));
}

function nodeAddresses(nodes: readonly KubeObject[]): Set<string> {
  const out = new Set<string>();
  for (const n of nodes) {
    const st = n['status'];
    for (const a of asArray(isRecord(st) ? st['addresses'] : undefined)) if (isRecord(a) && typeof a['address'] === 'string') out.add(a['address']);
  }
  return out;
}

export const gatewayServiceCheck: Check = {
  name: 'gateway-service',
  title: 'the gateway Service exposes the MeshCluster\'s port and address, its target matches the Gateway server',
  run(s) {
    const r = results(this.name);
    const receivers = new Map<string, KubeObject[]>();
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        if (!c.roles.includes('receiver')) continue;
        const gws = c.objects.filter((o) => o.kind === 'Gateway');
        receivers.set(c.cluster, [...(receivers.get(c.cluster) ?? []), ...gws]);
      }
    }
    for (const [cluster, gateways] of [...receivers].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const f = s.clusters[cluster];
      if (!f || f.unreachable !== undefined) continue;
      const mc = meshCluster(s, cluster);
      const gw = mc?.spec.gateway;
      if (!gw) continue; // the analyzer already rejected a receiver without a gateway
      const selector = gw.selector ?? DEFAULTS.gatewaySelector;
      const listen = gw.listenPort ?? gw.port;
      const serverPorts = new Set<number>();
      for (const g of gateways) for (const srv of asArray(spec(g)['servers'])) if (isRecord(srv) && isRecord(srv['port'])) serverPorts.add(Number(srv['port']['number']));
      const selText = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
      if (f.services.error !== undefined) {
        r.add('warn', 'SPC140', `Services could not be read (${f.services.error}): the gateway Service is unverified`, { cluster, hint: 'grant list on services' });
        continue;
      }
      const candidates = gatewayServices(f.services.items, selector);
      if (candidates.length === 0) {
        r.add('fail', 'SPC140', `no Service selects the gateway pods (${selText}): other clusters cannot reach this gateway`, {
          cluster,
          hint: `expose the gateway with a LoadBalancer or NodePort Service selecting ${selText}, or set spec.gateway.selector on MeshCluster ${cluster} to the labels of the gateway pods`,
        });
        continue;
      }
      // The Service port the Gateway server binds to, on any candidate Service.
      let bound: { svc: KubeObject; p: SvcPort; how: 'port' | 'targetPort' } | undefined;
      for (const svc of candidates) {
        const ps = portsOf(svc);
        const byPort = ps.find((p) => p.port === listen);
        if (byPort) {
          bound = { svc, p: byPort, how: 'port' };
          break;
        }
        const byTarget = ps.find((p) => Number(p.targetPort) === listen);
        if (byTarget && !bound) bound = { svc, p: byTarget, how: 'targetPort' };
      }
      const all = candidates.map((svc) => `${ref(svc)} [${portsOf(svc).map(showPort).join(', ')}]`).join('; ');
      // SPC141: Gateway server port vs the Service.
      const rendered = [...serverPorts].sort().join(', ') || String(listen);
      if (!bound) {
        const nodePort = candidates.flatMap(portsOf).find((p) => p.nodePort === listen);
        r.add('fail', 'SPC141', `the rendered Gateway server port ${rendered} is neither a port nor a target port of ${all}${nodePort ? `; it is the NodePort of Service port ${nodePort.port}` : ''}: istiod will use it as a container port the gateway does not listen on`, {
          cluster,
          hint: `set spec.gateway.listenPort on MeshCluster ${cluster} to the Service port the gateway serves mTLS on${nodePort ? ` (${nodePort.port})` : ''}, keeping spec.gateway.port the port other clusters dial`,
        });
      } else if (bound.how === 'port') {
        r.add('pass', 'SPC141', `Gateway server port ${listen} is port ${showPort(bound.p)} of ${ref(bound.svc)}: istiod listens on target port ${bound.p.targetPort ?? bound.p.port}`, { cluster });
      } else {
        r.add('warn', 'SPC141', `Gateway server port ${listen} is no port of ${ref(bound.svc)} but the target port of its port ${bound.p.port}: istiod uses it as the container port, which works, but breaks if the chart changes the mapping`, {
          cluster,
          hint: `set spec.gateway.listenPort: ${bound.p.port} on MeshCluster ${cluster} (the Service port; istiod translates it to ${listen})`,
        });
      }
      // SPC140 + SPC142: the dialed port and address.
      const svc = bound?.svc ?? candidates[0]!;
      const sp = spec(svc);
      const type = typeof sp['type'] === 'string' ? sp['type'] : 'ClusterIP';
      const lbIngress = asArray(isRecord(svc['status']) && isRecord(svc['status']['loadBalancer']) ? svc['status']['loadBalancer']['ingress'] : undefined)
        .filter(isRecord)
        .flatMap((i) => [i['ip'], i['hostname']].filter((x): x is string => typeof x === 'string'));
      const externalIPs = asArray(sp['externalIPs']).filter((x): x is string => typeof x === 'string');
      const ports = bound ? [bound.p] : portsOf(svc);
      const viaNodePort = ports.find((p) => p.nodePort === gw.port);
      const viaPort = ports.find((p) => p.port === gw.port);
      const where = `${gw.address}:${gw.port}`;
      if (!viaNodePort && !(viaPort && (type === 'LoadBalancer' || externalIPs.length > 0 || type === 'ClusterIP'))) {
        r.add('fail', 'SPC140', `MeshCluster ${cluster} says other clusters dial port ${gw.port}, but ${ref(svc)} (${type}) exposes ${ports.map(showPort).join(', ')}${bound ? ` for Gateway port ${listen}` : ''}`, {
          cluster,
          object: ref(svc),
          hint: type === 'LoadBalancer' ? `set spec.gateway.port: ${ports[0]?.port ?? '?'} on MeshCluster ${cluster}` : `set spec.gateway.port on MeshCluster ${cluster} to ${ports[0]?.nodePort !== undefined ? `the NodePort ${ports[0].nodePort}` : 'an exposed port'} (or make ${ref(svc)} a LoadBalancer/NodePort Service)`,
        });
        continue;
      }
      r.add('pass', 'SPC140', `${ref(svc)} (${type}) exposes port ${gw.port}${viaNodePort ? ` as the NodePort of port ${viaNodePort.port}` : ''}`, { cluster, object: ref(svc) });
      if (viaNodePort) {
        if (f.nodes.error !== undefined) {
          r.add('warn', 'SPC142', `nodes could not be read (${f.nodes.error}): ${gw.address} is unverified as a node address for NodePort ${gw.port}`, { cluster, hint: 'grant list on nodes, or check by hand: kubectl get nodes -o wide' });
        } else if (nodeAddresses(f.nodes.items).has(gw.address)) {
          r.add('pass', 'SPC142', `other clusters dial ${where}: ${gw.address} is a node address`, { cluster });
        } else if (lbIngress.includes(gw.address)) {
          r.add('warn', 'SPC142', `${gw.address} is the load balancer of ${ref(svc)}, but ${gw.port} is its NodePort: dial ${gw.address}:${viaNodePort.port} instead`, { cluster, hint: `set spec.gateway.port: ${viaNodePort.port} on MeshCluster ${cluster}` });
        } else {
          r.add('warn', 'SPC142', `${gw.address} is not an address of any node${f.nodes.items.length === 0 ? ' (no Nodes listed)' : ''}: fine only if something in front of the nodes forwards ${where} to NodePort ${gw.port}`, {
            cluster,
            hint: `set spec.gateway.address on MeshCluster ${cluster} to a node address other clusters can route to (kubectl get nodes -o wide)`,
          });
        }
      } else if (type === 'LoadBalancer' || externalIPs.length > 0) {
        if (lbIngress.includes(gw.address) || externalIPs.includes(gw.address)) r.add('pass', 'SPC142', `other clusters dial ${where}: the ${lbIngress.includes(gw.address) ? 'load balancer address' : 'external IP'} of ${ref(svc)}`, { cluster });
        else if (lbIngress.length === 0 && externalIPs.length === 0) r.add('fail', 'SPC142', `${ref(svc)} has no load balancer address yet: nothing answers at ${where}`, { cluster, hint: `kubectl -n ${svc.metadata.namespace} describe svc ${svc.metadata.name} (is a load balancer controller running?)` });
        else r.add('fail', 'SPC142', `MeshCluster ${cluster} says other clusters dial ${gw.address}, but ${ref(svc)} is exposed at ${[...lbIngress, ...externalIPs].join(', ')}`, { cluster, hint: `set spec.gateway.address: ${lbIngress[0] ?? externalIPs[0]} on MeshCluster ${cluster}` });
      } else {
        const clusterIP = typeof sp['clusterIP'] === 'string' ? sp['clusterIP'] : '';
        r.add(gw.address === clusterIP ? 'warn' : 'fail', 'SPC142', `${ref(svc)} is a ClusterIP Service${gw.address === clusterIP ? ` and ${gw.address} its cluster IP: reachable only from inside this cluster's network` : `: ${where} is not where it is exposed`}`, {
          cluster,
          hint: `expose the gateway with type LoadBalancer or NodePort and point spec.gateway on MeshCluster ${cluster} at that address and port`,
        });
      }
    }
    if (r.out.length === 0) r.add('skip', 'SPC140', 'no reachable receiving cluster');
    return r.out;
  },
};
