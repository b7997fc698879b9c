/**
 * What the oracle tests pin, shared by every oracle test file: the client side of each aggregate Spillway
 * rendered for a cluster, and the receiving gateway.
 */
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import type { ProxyXds } from '../support/oracle.ts';
import type { Member } from './mesh.ts';

export interface Aggregate {
  name: string;
  host: string;
  port: number;
  children: string[];
  sni: string | undefined;
}

/** The aggregates Spillway rendered for a cluster, read from its own EnvoyFilters and ServiceEntries. */
export function renderedAggregates(objs: KubeObject[]): Aggregate[] {
  const out: Aggregate[] = [];
  for (const o of objs) {
    if (o.kind !== 'EnvoyFilter') continue;
    for (const p of (o.spec as { configPatches: { patch: { operation: string; value?: Record<string, unknown> } }[] }).configPatches) {
      const v = p.patch.value;
      if (p.patch.operation !== 'ADD' || !v) continue;
      const tc = (v.cluster_type as { typed_config: { clusters?: string[]; value?: { clusters: string[] } } }).typed_config;
      const name = String(v.name);
      const [, port = '', , host = ''] = name.split('|');
      out.push({ name, host, port: Number(port), children: tc.clusters ?? tc.value?.clusters ?? [], sni: undefined });
    }
  }
  return out;
}

/** SNI each remote tier's DestinationRule asks for, by the tier's host. */
function tierSni(objs: KubeObject[]): Map<string, string | undefined> {
  const m = new Map<string, string | undefined>();
  for (const o of objs) {
    if (o.kind !== 'DestinationRule') continue;
    const spec = o.spec as { host: string; trafficPolicy?: { tls?: { sni?: string } } };
    m.set(spec.host, spec.trafficPolicy?.tls?.sni);
  }
  return m;
}

export const hostOf = (cluster: string): string => cluster.split('|')[3] ?? '';

/**
 * The client-side pins for one aggregate on one proxy. The first child is the local tier, unless `local` is false
 * (a client-only cluster: every child is a remote tier).
 */
export function checkClient(x: ProxyXds, agg: Aggregate, m: Member, localPodIps: string[], { local = true }: { local?: boolean } = {}): void {
  // The app calls host:port; the route the sidecar gets for it must lead to the aggregate.
  const r = x.route(agg.host, agg.port);
  assert.ok(r, `${x.pod}: no route for ${agg.host}:${agg.port}`);
  assert.deepEqual(r.clusters, [agg.name], `${x.pod}: ${agg.host}:${agg.port} routes to ${r.clusters.join(',')}`);

  // The aggregate istiod pushes is Spillway's, children in Spillway's order; every child exists.
  assert.deepEqual(x.aggregateChildren(agg.name), agg.children);
  assert.ok(agg.children.length > 0, `${x.pod}: an aggregate without children`);
  if (local) assert.ok(localPodIps.length > 0, `${x.pod}: no local pods behind ${agg.children[0] ?? '(no child)'}`);
  const sni = tierSni(m.rendered);
  for (const [i, child] of agg.children.entries()) {
    const c = x.cluster(child);
    const tls = x.upstreamTls(child);
    assert.ok(tls, `${child}: plaintext`);
    // ISTIO_MUTUAL: the workload certificate and the mesh root, both over SDS.
    assert.deepEqual(tls.certificates, ['default'], child);
    assert.equal(tls.validation, 'ROOTCA', child);
    assert.ok(x.outlierDetection(child), `${child}: no outlier detection`);
    if (i === 0 && local) {
      // The local tier: the service's own pods in this cluster, nothing else, at one priority level (what
      // the simulator assumes a tier is).
      const tiers = x.localities(child);
      assert.ok(tiers, `${child}: no EDS`);
      assert.deepEqual(tiers.flatMap((t) => t.endpoints.map((e) => e.split(':')[0])).sort(), [...localPodIps].sort(), `${child}: endpoints`);
      assert.deepEqual([...new Set(tiers.map((t) => t.priority))], [0], `${child}: priority levels ${JSON.stringify(tiers)}`);
    } else {
      // A remote tier reaches the remote gateway with the global host as SNI, which the gateway matches.
      assert.equal(tls.via, 'transportSocket', `${child}: TLS from auto-mTLS instead of Spillway's rule`);
      assert.equal(tls.sni, sni.get(hostOf(child)), `${child}: SNI`);
      assert.equal(tls.sni, agg.host, `${child}: SNI`);
      assert.ok(c, child);
    }
  }
}

/** The receiving-gateway pins: listener on the port istiod resolves, SNI chain, route to the local service. */
export function checkGateway(x: ProxyXds, m: Member): void {
  for (const gw of m.rendered.filter((o) => o.kind === 'Gateway')) {
    const server = (gw.spec as { servers: { port: { number: number }; hosts: string[] }[] }).servers[0];
    assert.ok(server);
    // istiod reads the server port as a port of the gateway's Service and listens on its target port; a
    // number that matches no Service port is taken as a container port as is.
    const ports = (m.gatewayService.spec as { ports: { port: number; targetPort: number }[] }).ports;
    const listenPort = ports.find((p) => p.port === server.port.number)?.targetPort ?? server.port.number;
    // Traffic reaches the pod only through the Service, i.e. on one of its target ports.
    assert.ok(
      ports.some((p) => p.targetPort === listenPort),
      `${x.pod}: Gateway ${gw.metadata.name} port ${server.port.number} makes istiod listen on ${listenPort}, which no port of Service ${m.gatewayService.metadata.name} (${ports.map((p) => `${p.port}->${p.targetPort}`).join(', ')}) reaches`,
    );
    x.listener(listenPort);
    const host = server.hosts[0] ?? '';
    const fc = x.filterChain(listenPort, host);
    assert.ok(fc, `${x.pod}: no filter chain for SNI ${host} on ${listenPort}`);
    const vs = m.rendered.find((o) => o.kind === 'VirtualService' && (o.spec as { hosts: string[] }).hosts.includes(host));
    assert.ok(vs);
    const dest = (vs.spec as { http?: { route: { destination: { host: string; port: { number: number } } }[] }[]; tls?: { route: { destination: { host: string; port: { number: number } } }[] }[] });
    const want = (dest.http ?? dest.tls ?? [])[0]?.route[0]?.destination;
    assert.ok(want);
    const rds = fc ? (fc.filters as { typedConfig?: { rds?: { routeConfigName?: string } } }[] | undefined)?.map((f) => f.typedConfig?.rds?.routeConfigName).find(Boolean) : undefined;
    assert.ok(rds, `${x.pod}: the SNI chain for ${host} has no HTTP route config`);
    const r = x.route(host, undefined, rds);
    assert.ok(r, `${x.pod}: no route for ${host} in ${rds}`);
    assert.deepEqual(r.clusters, [`outbound|${want.port.number}||${want.host}`]);
    x.cluster(`outbound|${want.port.number}||${want.host}`);
  }
}


/**
 * IPs of the pods behind the local tier `cluster` in the member: those a rendered ServiceEntry for its host selects
 * (Spillway's dedicated local host), else those of the Service (outbound|port||name.namespace.svc...).
 */
export function servicePodIps(m: Member, cluster: string): string[] {
  const host = hostOf(cluster);
  const entry = m.rendered.find((o) => o.kind === 'ServiceEntry' && (o.spec as { hosts: string[] }).hosts.includes(host));
  const selector = (entry?.spec as { workloadSelector?: { labels: Record<string, string> } } | undefined)?.workloadSelector?.labels;
  const pods = (m.input.objects as KubeObject[]).filter((o) => o.kind === 'Pod');
  const chosen = selector
    ? pods.filter((o) => o.metadata.namespace === entry?.metadata.namespace && Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v))
    : pods.filter((o) => host.startsWith(`${(o.metadata.labels ?? {}).app}.${o.metadata.namespace}.svc.`));
  return chosen.map((o) => (o.status as { podIP: string }).podIP);
}

/** checkClient for every aggregate the member's objects render, on its client proxy. */
export function checkClients(x: ProxyXds, m: Member): void {
  const aggs = renderedAggregates(m.rendered);
  assert.ok(aggs.length > 0, 'no aggregate rendered');
  for (const agg of aggs) checkClient(x, agg, m, servicePodIps(m, agg.children[0] ?? ''));
}
