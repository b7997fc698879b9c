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
import type { ServicePortRef } from '../../api/messages.ts';
import type { KubeObject } from '../../api/types.ts';
import { DEFAULTS } from '../../model/context.ts';
import type { Check } from '../types.ts';
import { asArray, isRecord, meshCluster, ref, results, serviceViews, spec } from '../view.ts';

function portsOf(svc: KubeObject): ServicePortRef[] {
  return asArray(spec(svc)['ports'])
    .filter(isRecord)
    .map((p) => ({
      ...(typeof p['name'] === 'string' ? { name: p['name'] } : {}),
      port: Number(p['port']),
      ...(p['targetPort'] !== undefined ? { targetPort: p['targetPort'] as number | string } : {}),
      ...(typeof p['nodePort'] === 'number' ? { nodePort: p['nodePort'] } : {}),
    }));
}

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
      if (f.services.error !== undefined) {
        r.finding('warn', 'SPC140', { result: 'servicesUnreadable', cluster, error: f.services.error }, { cluster });
        continue;
      }
      const candidates = gatewayServices(f.services.items, selector);
      if (candidates.length === 0) {
        r.finding('fail', 'SPC140', { result: 'noService', cluster, selector: { ...selector } }, { cluster });
        continue;
      }
      // The Service port the Gateway server binds to, on any candidate Service.
      let bound: { svc: KubeObject; p: ServicePortRef; how: 'port' | 'targetPort' } | undefined;
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
      // SPC141: Gateway server port vs the Service.
      if (!bound) {
        const nodePort = candidates.flatMap(portsOf).find((p) => p.nodePort === listen);
        // (the server ports in the order the text has always listed them: sorted as strings)
        const serverPortList = [...serverPorts].sort();
        r.finding('fail', 'SPC141', { result: 'unbound', cluster, serverPorts: serverPortList, listenPort: listen, services: candidates.map((svc) => ({ service: ref(svc), ports: portsOf(svc) })), ...(nodePort ? { nodePortOf: nodePort.port } : {}) }, { cluster });
      } else {
        r.finding(bound.how === 'port' ? 'pass' : 'warn', 'SPC141', { result: bound.how, cluster, listenPort: listen, service: ref(bound.svc), port: bound.p }, { cluster });
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
      const service = ref(svc);
      const dial = { address: gw.address, port: gw.port };
      if (!viaNodePort && !(viaPort && (type === 'LoadBalancer' || externalIPs.length > 0 || type === 'ClusterIP'))) {
        r.finding('fail', 'SPC140', { result: 'portNotExposed', cluster, port: gw.port, service, type, ports, ...(bound ? { listenPort: listen } : {}) }, { cluster, object: service });
        continue;
      }
      r.finding('pass', 'SPC140', { result: 'exposed', cluster, port: gw.port, service, type, ...(viaNodePort ? { nodePortOf: viaNodePort.port } : {}) }, { cluster, object: service });
      if (viaNodePort) {
        if (f.nodes.error !== undefined) {
          r.finding('warn', 'SPC142', { result: 'nodesUnreadable', cluster, error: f.nodes.error, ...dial }, { cluster });
        } else if (nodeAddresses(f.nodes.items).has(gw.address)) {
          r.finding('pass', 'SPC142', { result: 'nodeAddress', cluster, ...dial }, { cluster });
        } else if (lbIngress.includes(gw.address)) {
          r.finding('warn', 'SPC142', { result: 'loadBalancerNodePort', cluster, ...dial, service, servicePort: viaNodePort.port }, { cluster });
        } else {
          r.finding('warn', 'SPC142', { result: 'notANode', cluster, ...dial, nodes: f.nodes.items.length }, { cluster });
        }
      } else if (type === 'LoadBalancer' || externalIPs.length > 0) {
        if (lbIngress.includes(gw.address) || externalIPs.includes(gw.address)) r.finding('pass', 'SPC142', { result: lbIngress.includes(gw.address) ? 'loadBalancer' : 'externalIP', cluster, ...dial, service }, { cluster });
        else if (lbIngress.length === 0 && externalIPs.length === 0) r.finding('fail', 'SPC142', { result: 'noLoadBalancerAddress', cluster, ...dial, service, serviceNamespace: svc.metadata.namespace ?? '', serviceName: svc.metadata.name }, { cluster });
        else r.finding('fail', 'SPC142', { result: 'addressMismatch', cluster, address: gw.address, service, exposedAt: [...lbIngress, ...externalIPs] }, { cluster });
      } else {
        const clusterIP = typeof sp['clusterIP'] === 'string' ? sp['clusterIP'] : '';
        r.finding(gw.address === clusterIP ? 'warn' : 'fail', 'SPC142', { result: 'clusterIP', cluster, ...dial, service, isClusterIP: gw.address === clusterIP }, { cluster });
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC140', { result: 'noReceiver' });
    return r.out;
  },
};
