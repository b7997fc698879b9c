/**
 * Hand-written rendered objects following notes/render-contract.md, for simulating without the
 * translator. `rendered()` builds what the translator emits for one FailoverService whose workloads
 * live in `clusters` (priority order: each client's own cluster first, then the others in order).
 */
import type { KubeObject } from '../../src/api/types.ts';

export interface FixtureOptions {
  service?: string;
  namespace?: string;
  port?: number;
  /** Gateway address per cluster (default 172.18.0.<i+2>). */
  gatewayAddress?: (cluster: string, index: number) => string;
  gatewayPort?: number;
  /** Outlier detection on each DestinationRule; `null` drops it. */
  outlierDetection?: Record<string, unknown> | null;
  /** The local tier as Spillway renders it with a pod selector: a ServiceEntry selecting the pods. */
  dedicatedLocalHost?: boolean;
  /** Leave locality load balancing on in the local rule (as a hand-written rule would). */
  localityOn?: boolean;
  /** Outlier detection on the local rule only (overrides `outlierDetection` there). */
  localOutlierDetection?: Record<string, unknown> | null;
  /** common_lb_config of the aggregate; `null` leaves it out (Envoy default panic threshold 50). */
  commonLbConfig?: Record<string, unknown> | null;
  /** Legacy profile: TypedStruct-wrapped v2alpha config. */
  legacy?: boolean;
  /** Clusters that only call the service (no workload there). */
  clientsOnly?: string[];
}

export const DEFAULT_OD = { consecutive5xxErrors: 5, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 100 };

export function rendered(clusters: string[], o: FixtureOptions = {}): Record<string, KubeObject[]> {
  const svc = o.service ?? 'reviews';
  const ns = o.namespace ?? 'default';
  const port = o.port ?? 9080;
  const globalHost = `${svc}-global.${ns}.global`;
  const localHost = o.dedicatedLocalHost ? `${svc}-local.${ns}.global` : `${svc}.${ns}.svc.cluster.local`;
  const gw = o.gatewayAddress ?? ((_c: string, i: number) => `172.18.0.${i + 2}`);
  const od = o.outlierDetection === undefined ? DEFAULT_OD : o.outlierDetection;
  const localOd = o.localOutlierDetection === undefined ? od : o.localOutlierDetection;
  const out: Record<string, KubeObject[]> = {};
  const labels = (cluster: string) => ({
    'app.kubernetes.io/managed-by': 'spillway',
    'spillway.dev/cluster': cluster,
    'spillway.dev/failover-service': svc,
    'spillway.dev/failover-service-namespace': ns,
  });
  const meta = (name: string, cluster: string, namespace = ns) => ({ name, namespace, labels: labels(cluster) });
  const all = [...clusters, ...(o.clientsOnly ?? [])];
  for (const client of all) {
    const hasLocal = clusters.includes(client);
    const remotes = clusters.filter((c) => c !== client);
    const objs: KubeObject[] = [];
    const remoteName = (r: string) => (remotes.length > 1 ? `${svc}-remote-${r}` : `${svc}-remote`);
    objs.push({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(`${svc}-global`, client), spec: { hosts: [globalHost], addresses: ['240.1.2.3'], location: 'MESH_INTERNAL', ports: [{ name: 'http1', number: port, protocol: 'HTTP' }], resolution: 'STATIC' } });
    for (const r of remotes) {
      const idx = clusters.indexOf(r);
      objs.push({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(remoteName(r), client), spec: { hosts: [`${remoteName(r)}.${ns}.global`], location: 'MESH_INTERNAL', ports: [{ name: 'http1', number: port, protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: gw(r, idx), ports: { http1: o.gatewayPort ?? 32000 } }] } });
      const tp: Record<string, unknown> = { tls: { mode: 'ISTIO_MUTUAL', sni: globalHost } };
      if (od) tp['outlierDetection'] = od;
      objs.push({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(remoteName(r), client), spec: { host: `${remoteName(r)}.${ns}.global`, trafficPolicy: tp } });
    }
    if (hasLocal) {
      objs.push({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(`${svc}-local`, client), spec: { host: localHost, trafficPolicy: localOd ? { ...(o.localityOn ? {} : { loadBalancer: { localityLbSetting: { enabled: false } } }), outlierDetection: localOd } : {} } });
      if (o.dedicatedLocalHost) {
        objs.push({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(`${svc}-local`, client), spec: { hosts: [localHost], location: 'MESH_INTERNAL', ports: [{ name: 'http1', number: port, protocol: 'HTTP' }], resolution: 'STATIC', workloadSelector: { labels: { app: svc } } } });
      }
    }
    const children = [
      ...(hasLocal ? [`outbound|${port}||${localHost}`] : []),
      ...remotes.map((r) => `outbound|${port}||${remoteName(r)}.${ns}.global`),
    ];
    const typed = o.legacy
      ? { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.config.cluster.aggregate.v2alpha.ClusterConfig', value: { clusters: children } }
      : { '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig', clusters: children };
    const name = `outbound|${port}||${globalHost}`;
    const value: Record<string, unknown> = { name, connect_timeout: '1s', lb_policy: 'CLUSTER_PROVIDED', cluster_type: { name: 'envoy.clusters.aggregate', typed_config: typed } };
    const lb = o.commonLbConfig === undefined ? { healthy_panic_threshold: { value: 0 } } : o.commonLbConfig;
    if (lb) value['common_lb_config'] = lb;
    objs.push({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: meta(globalHost, client, 'istio-system'),
      spec: {
        configPatches: [
          { applyTo: 'CLUSTER', match: { context: 'ANY', cluster: { name } }, patch: { operation: 'REMOVE' } },
          { applyTo: 'CLUSTER', match: { context: 'ANY', cluster: { name } }, patch: { operation: 'ADD', value } },
        ],
      },
    });
    if (hasLocal) {
      objs.push({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: meta(`${globalHost}-gw`, client), spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 32000, name: 'tls', protocol: 'HTTPS' }, hosts: [globalHost], tls: { mode: 'ISTIO_MUTUAL' } }] } });
      objs.push({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(`${globalHost}-vs`, client), spec: { hosts: [globalHost], gateways: [`${ns}/${globalHost}-gw`], http: [{ route: [{ destination: { host: localHost, port: { number: port } } }] }] } });
    }
    out[client] = objs;
  }
  return out;
}
