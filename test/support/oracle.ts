/**
 * The Istio oracle: istiod's own translation code (tools/istio-oracle, built by scripts/build-go-tools.mjs)
 * run over one cluster's objects, answering "what xDS would this proxy receive?".
 *
 * A test builds the Kubernetes side of one cluster with the builders below (a Service with its pods and
 * EndpointSlice spread over zones, the gateway's Service and pod as a chart installs them, MeshConfig),
 * adds Spillway's rendered objects for that cluster plus whatever user objects it needs, and calls
 * `runOracle` once for several proxies. The answer is the protojson istiod would push (camelCase field
 * names), with typed accessors for what the tests read: clusters, their TLS and outlier detection, the
 * aggregate's children, listeners and filter chains by port and SNI, routes by host:port, EDS localities.
 *
 * Istio config without metadata.creationTimestamp is dated by its position in `objects` (earlier = older),
 * which decides istiod's "oldest rule wins" conflicts.
 */
import { execFile } from 'node:child_process';
import yaml from 'js-yaml';
import type { KubeObject } from '../../src/api/types.ts';
import { requireGoTool } from './go-tools.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

// ---------------------------------------------------------------------------------------------------------
// Kubernetes builders

export interface PortSpec {
  name: string;
  port: number;
  /** Default: `port`. */
  targetPort?: number;
  /** Default TCP. */
  protocol?: 'TCP' | 'UDP';
  appProtocol?: string;
}

export interface Zone {
  region: string;
  zone: string;
}

let nextIp = 10;
/** A fresh pod IP in 10.0.0.0/8 (deterministic per process run order; tests never depend on the value). */
function podIp(): string {
  const n = nextIp++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

/** A Node in a zone: istiod reads a pod's locality from its node's topology labels. */
export function node(name: string, z: Zone): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'topology.kubernetes.io/region': z.region, 'topology.kubernetes.io/zone': z.zone, 'kubernetes.io/hostname': name } },
    spec: {},
    status: {},
  };
}

export function service(name: string, ns: string, ports: PortSpec[], selector: Record<string, string>, type: 'ClusterIP' | 'LoadBalancer' = 'ClusterIP'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: {
      type,
      clusterIP: `172.20.${(nextIp >> 8) & 255}.${nextIp++ & 255}`,
      selector,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
    },
  };
}

export interface PodSpec {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  node: string;
  ip?: string;
  serviceAccount?: string;
  annotations?: Record<string, string>;
}

/** A running, ready pod with a sidecar (or a gateway pod: same shape, `istio: ...` labels). */
export function pod(p: PodSpec): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels, annotations: { 'sidecar.istio.io/status': '{}', ...p.annotations } },
    spec: { nodeName: p.node, serviceAccountName: p.serviceAccount ?? 'default', containers: [{ name: 'app', image: 'app' }] },
    status: { phase: 'Running', podIP: p.ip ?? podIp(), conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** The EndpointSlice the endpoint-slice controller would write for `svc` over `pods`. */
export function endpointSlice(svc: KubeObject, pods: KubeObject[], nodes: KubeObject[]): KubeObject {
  const spec = svc.spec as { ports: { name: string; targetPort: number; protocol: string; appProtocol?: string }[] };
  const zoneOf = (n: string): string | undefined => nodes.find((x) => x.metadata.name === n)?.metadata.labels?.['topology.kubernetes.io/zone'];
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc.metadata.name}-abcde`, namespace: svc.metadata.namespace, labels: { 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    ports: spec.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
    endpoints: pods.map((p) => {
      const nodeName = (p.spec as { nodeName: string }).nodeName;
      const zone = zoneOf(nodeName);
      return {
        addresses: [(p.status as { podIP: string }).podIP],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName,
        ...(zone ? { zone } : {}),
        targetRef: { kind: 'Pod', name: p.metadata.name, namespace: p.metadata.namespace },
      };
    }),
  };
}

export interface WorkloadOptions {
  name: string;
  namespace: string;
  ports: PortSpec[];
  /** One pod per entry, on a node in that zone. */
  zones: Zone[];
  labels?: Record<string, string>;
}

/** A Service, its pods (one per zone entry, each on its own node) and its EndpointSlice. */
export function workload(o: WorkloadOptions): { objects: KubeObject[]; pods: KubeObject[]; service: KubeObject } {
  const labels = o.labels ?? { app: o.name };
  const nodes = o.zones.map((z, i) => node(`node-${o.name}-${o.namespace}-${i}`, z));
  const pods = o.zones.map((_, i) => pod({ name: `${o.name}-${i}`, namespace: o.namespace, labels: { ...labels, 'security.istio.io/tlsMode': 'istio' }, node: nodes[i]!.metadata.name, serviceAccount: o.name }));
  const svc = service(o.name, o.namespace, o.ports, labels);
  return { objects: [...nodes, svc, ...pods, endpointSlice(svc, pods, nodes)], pods, service: svc };
}

/** A client pod with a sidecar (default `sleep` in `default`); its proxy id is `<namespace>/<name>`. */
export function client(o: { name?: string; namespace?: string; zone: Zone; labels?: Record<string, string>; annotations?: Record<string, string> }): { objects: KubeObject[]; proxy: string } {
  const name = o.name ?? 'sleep';
  const ns = o.namespace ?? 'default';
  const n = node(`node-${name}-${ns}`, o.zone);
  const p = pod({ name, namespace: ns, labels: o.labels ?? { app: name }, node: n.metadata.name, ...(o.annotations ? { annotations: o.annotations } : {}) });
  return { objects: [n, p], proxy: `${ns}/${name}` };
}

/**
 * The gateway Service port mappings of the common charts (what a Gateway server's port.number is read
 * against): the istioctl `istio-ingress` chart maps 80/443 to 8080/8443, the Helm `gateway` chart keeps
 * them, the east-west gateway serves 15443 (and 15012/15017 for istiod).
 */
export const GATEWAY_CHARTS = {
  istioctl: [
    { name: 'status-port', port: 15021 },
    { name: 'http2', port: 80, targetPort: 8080 },
    { name: 'https', port: 443, targetPort: 8443 },
  ],
  helm: [
    { name: 'status-port', port: 15021 },
    { name: 'http2', port: 80 },
    { name: 'https', port: 443 },
  ],
  eastwest: [
    { name: 'status-port', port: 15021 },
    { name: 'tls', port: 15443 },
    { name: 'tls-istiod', port: 15012 },
    { name: 'tls-webhook', port: 15017 },
  ],
} satisfies Record<string, PortSpec[]>;

export interface GatewayOptions {
  chart: keyof typeof GATEWAY_CHARTS;
  zone: Zone;
  /** Default `istio-ingressgateway` (`istio-eastwestgateway` for the east-west chart). */
  name?: string;
  namespace?: string;
  /** Pod and Service selector labels. Default `{istio: ingressgateway}` (`{istio: eastwestgateway}`). */
  labels?: Record<string, string>;
}

/** A gateway as its chart installs it: LoadBalancer Service, one pod, its EndpointSlice. */
export function gateway(o: GatewayOptions): { objects: KubeObject[]; proxy: string; service: KubeObject } {
  const ew = o.chart === 'eastwest';
  const name = o.name ?? (ew ? 'istio-eastwestgateway' : 'istio-ingressgateway');
  const ns = o.namespace ?? 'istio-system';
  const labels = o.labels ?? { istio: ew ? 'eastwestgateway' : 'ingressgateway', app: name };
  const n = node(`node-${name}`, o.zone);
  const p = pod({ name: `${name}-0`, namespace: ns, labels, node: n.metadata.name, serviceAccount: `${name}-service-account` });
  const svc = service(name, ns, GATEWAY_CHARTS[o.chart], labels, 'LoadBalancer');
  return { objects: [n, svc, p, endpointSlice(svc, [p], [n])], proxy: `${ns}/${p.metadata.name}`, service: svc };
}

export interface MeshOptions {
  /** Mesh-wide ISTIO_META_DNS_CAPTURE in defaultConfig.proxyMetadata (default true: the setup Spillway needs). */
  dnsCapture?: boolean;
  defaultServiceExportTo?: string[];
  defaultDestinationRuleExportTo?: string[];
  defaultVirtualServiceExportTo?: string[];
  /** Anything else, merged at the top level of the MeshConfig. */
  extra?: Record<string, unknown>;
}

/** MeshConfig YAML (the `mesh` key of the istio ConfigMap). */
export function meshConfig(o: MeshOptions = {}): string {
  const m: Record<string, unknown> = { ...o.extra };
  if (o.dnsCapture ?? true) m.defaultConfig = { proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true' } };
  if (o.defaultServiceExportTo) m.defaultServiceExportTo = o.defaultServiceExportTo;
  if (o.defaultDestinationRuleExportTo) m.defaultDestinationRuleExportTo = o.defaultDestinationRuleExportTo;
  if (o.defaultVirtualServiceExportTo) m.defaultVirtualServiceExportTo = o.defaultVirtualServiceExportTo;
  return yaml.dump(m);
}

// ---------------------------------------------------------------------------------------------------------
// Running the oracle

export interface ProxyRequest {
  /** `namespace/name` of a Pod among the objects. */
  pod: string;
  /** `router` for a gateway pod. Default sidecar. */
  type?: 'sidecar' | 'router';
  /** Node metadata the proxy would send (e.g. `{ DNS_CAPTURE: 'true' }`), over the mesh's proxyMetadata. */
  metadata?: Record<string, string>;
  /** Default 1.30.0. */
  istioVersion?: string;
}

export interface OracleInput {
  objects: readonly unknown[];
  meshConfig?: string;
  proxies: ProxyRequest[];
}

export interface Rejection {
  kind: string;
  namespace: string;
  name: string;
  error: string;
}

interface RawProxy {
  pod: string;
  id: string;
  type: string;
  locality: { region: string; zone: string; subZone: string };
  clusters: JsonObject[];
  listeners: JsonObject[];
  routes: JsonObject[];
  endpoints: JsonObject[];
}

export interface OracleResult {
  /** Istio config istiod's validation rejected (left out of the store, as the webhook would). */
  rejected: Rejection[];
  /** Warnings istiod's validation gives for accepted config (`error` holds the warning text). */
  warnings: Rejection[];
  proxies: ProxyXds[];
  /** The proxy for `pod` (`namespace/name`); throws when it was not requested. */
  proxy(pod: string): ProxyXds;
}

/** Default per-run timeout; a test's own timeout should be larger. */
export const ORACLE_TIMEOUT_MS = 90_000;

/** Runs istiod's translation over `input`; one process answers every proxy of the input. */
export function runOracle(input: OracleInput, { timeoutMs = ORACLE_TIMEOUT_MS }: { timeoutMs?: number } = {}): Promise<OracleResult> {
  const bin = requireGoTool('istioOracle');
  const body = JSON.stringify({ objects: input.objects, ...(input.meshConfig ? { meshConfig: input.meshConfig } : {}), proxies: input.proxies });
  return new Promise((resolve, reject) => {
    const child = execFile(bin, [], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 512 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out after ${timeoutMs} ms` : `exit ${String(err.code)}`;
        reject(new Error(`istio-oracle ${why}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      try {
        const raw = JSON.parse(stdout) as { rejected: Rejection[]; warnings: Rejection[]; proxies: RawProxy[] };
        const proxies = raw.proxies.map((p) => new ProxyXds(p));
        resolve({
          rejected: raw.rejected,
          warnings: raw.warnings,
          proxies,
          proxy(id: string): ProxyXds {
            const p = proxies.find((x) => x.pod === id);
            if (!p) throw new Error(`no proxy ${id} in the oracle's answer (asked: ${proxies.map((x) => x.pod).join(', ')})`);
            return p;
          },
        });
      } catch (e) {
        reject(new Error(`istio-oracle printed something that is not its JSON answer: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
    child.stdin?.end(body);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Reading the answer

function obj(v: Json | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}
function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}
function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Walks `path` (keys, or indices into arrays) from `v`; undefined where anything is missing. */
export function at(v: Json | undefined, ...path: (string | number)[]): Json | undefined {
  let cur: Json | undefined = v;
  for (const k of path) {
    if (typeof k === 'number') cur = Array.isArray(cur) ? cur[k] : undefined;
    else cur = obj(cur)?.[k];
    if (cur === undefined) return undefined;
  }
  return cur;
}

export interface UpstreamTls {
  sni: string | undefined;
  /** The SDS secret names of the client certificate (`default` for Istio's workload cert). */
  certificates: string[];
  /** The SDS name of the validation context (`ROOTCA` for Istio's mesh root). */
  validation: string | undefined;
  /** Where the TLS settings came from: a plain transportSocket (a DestinationRule's TLS) or auto-mTLS matches. */
  via: 'transportSocket' | 'transportSocketMatches';
}

export interface LocalityTier {
  region: string;
  zone: string;
  priority: number;
  /** `address:port` of each endpoint. */
  endpoints: string[];
}

export interface RouteTarget {
  /** The route configuration (RDS name) the virtual host is in. */
  routeConfig: string;
  virtualHost: string;
  domains: string[];
  /** Clusters of the first route's action (one, or weighted). */
  clusters: string[];
  route: JsonObject;
}

/** One proxy's xDS as istiod built it. */
export class ProxyXds {
  readonly pod: string;
  readonly id: string;
  readonly type: string;
  readonly locality: { region: string; zone: string; subZone: string };
  readonly clusters: JsonObject[];
  readonly listeners: JsonObject[];
  readonly routes: JsonObject[];
  readonly endpoints: JsonObject[];

  constructor(raw: RawProxy) {
    this.pod = raw.pod;
    this.id = raw.id;
    this.type = raw.type;
    this.locality = raw.locality;
    this.clusters = raw.clusters;
    this.listeners = raw.listeners;
    this.routes = raw.routes;
    this.endpoints = raw.endpoints;
  }

  clusterNames(): string[] {
    return this.clusters.map((c) => String(c.name));
  }

  findCluster(name: string): JsonObject | undefined {
    return this.clusters.find((c) => c.name === name);
  }

  /** The cluster named `name`; throws (listing what exists nearby) when istiod did not build it. */
  cluster(name: string): JsonObject {
    const c = this.findCluster(name);
    if (!c) {
      const near = this.clusterNames().filter((n) => n.split('|').slice(-1)[0] === name.split('|').slice(-1)[0]);
      throw new Error(`${this.pod}: no cluster ${name}${near.length ? ` (same host: ${near.join(', ')})` : ''}`);
    }
    return c;
  }

  /** The ordered children of aggregate cluster `name`; throws when it is not an aggregate. */
  aggregateChildren(name: string): string[] {
    const c = this.cluster(name);
    if (at(c, 'clusterType', 'name') !== 'envoy.clusters.aggregate') throw new Error(`${this.pod}: cluster ${name} is not an aggregate (clusterType ${JSON.stringify(at(c, 'clusterType'))})`);
    const tc = obj(at(c, 'clusterType', 'typedConfig'));
    const list = tc?.['@type'] === 'type.googleapis.com/udpa.type.v1.TypedStruct' ? at(tc, 'value', 'clusters') : at(tc, 'clusters');
    return arr(list).map(String);
  }

  /** The upstream TLS settings of cluster `name`, or undefined for plaintext. */
  upstreamTls(name: string): UpstreamTls | undefined {
    const c = this.cluster(name);
    const fromSocket = (socket: Json | undefined, via: UpstreamTls['via']): UpstreamTls | undefined => {
      const tc = obj(at(socket, 'typedConfig'));
      if (!tc || tc['@type'] !== 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext') return undefined;
      const common = obj(tc.commonTlsContext);
      return {
        sni: str(tc.sni),
        certificates: arr(common?.tlsCertificateSdsSecretConfigs).map((s) => String(at(s, 'name'))),
        validation: str(at(common, 'combinedValidationContext', 'validationContextSdsSecretConfig', 'name')) ?? str(at(common, 'validationContextSdsSecretConfig', 'name')),
        via,
      };
    };
    if (c.transportSocket) return fromSocket(c.transportSocket, 'transportSocket');
    for (const m of arr(c.transportSocketMatches)) {
      const t = fromSocket(at(m, 'transportSocket'), 'transportSocketMatches');
      if (t) return t;
    }
    return undefined;
  }

  outlierDetection(name: string): JsonObject | undefined {
    return obj(this.cluster(name).outlierDetection);
  }

  /** The listener bound to `port` (on any address); throws when there is none. */
  listener(port: number): JsonObject {
    const l = this.listeners.find((x) => at(x, 'address', 'socketAddress', 'portValue') === port);
    if (!l) throw new Error(`${this.pod}: no listener on port ${port} (ports: ${this.listenerPorts().join(', ')})`);
    return l;
  }

  listenerPorts(): number[] {
    return this.listeners.map((x) => Number(at(x, 'address', 'socketAddress', 'portValue'))).sort((a, b) => a - b);
  }

  /** The filter chain of the listener on `port` that matches SNI `sni`; undefined when none does. */
  filterChain(port: number, sni: string): JsonObject | undefined {
    return arr(this.listener(port).filterChains)
      .map(obj)
      .find((fc) => arr(at(fc, 'filterChainMatch', 'serverNames')).includes(sni));
  }

  /** The RDS name a filter chain's HTTP connection manager uses, if any. */
  static rdsName(fc: JsonObject): string | undefined {
    for (const f of arr(fc.filters)) {
      const name = str(at(f, 'typedConfig', 'rds', 'routeConfigName'));
      if (name) return name;
    }
    return undefined;
  }

  routeConfig(name: string): JsonObject | undefined {
    return this.routes.find((r) => r.name === name);
  }

  /**
   * Where an HTTP request for `host` (with `:port` when given) is routed: the virtual host whose domains
   * include it, searched in `routeConfig` (default: every route configuration, the port's own first).
   */
  route(host: string, port?: number, routeConfig?: string): RouteTarget | undefined {
    const wanted = port === undefined ? [host] : [`${host}:${port}`, host];
    const configs = routeConfig !== undefined ? this.routes.filter((r) => r.name === routeConfig) : [...this.routes].sort((a, b) => Number(b.name === String(port)) - Number(a.name === String(port)));
    for (const rc of configs) {
      for (const vh of arr(rc.virtualHosts).map(obj)) {
        const domains = arr(vh?.domains).map(String);
        if (!vh || !wanted.some((w) => domains.includes(w))) continue;
        const first = obj(arr(vh.routes)[0]) ?? {};
        const action = obj(first.route);
        const clusters = action?.cluster !== undefined ? [String(action.cluster)] : arr(at(action, 'weightedClusters', 'clusters')).map((w) => String(at(w, 'name')));
        return { routeConfig: String(rc.name), virtualHost: String(vh.name), domains, clusters, route: first };
      }
    }
    return undefined;
  }

  /** EDS for cluster `name` as locality tiers (in the order istiod sent them); undefined when not EDS. */
  localities(name: string): LocalityTier[] | undefined {
    const cla = this.endpoints.find((e) => e.clusterName === name);
    if (!cla) return undefined;
    return arr(cla.endpoints).map((le) => ({
      region: str(at(le, 'locality', 'region')) ?? '',
      zone: str(at(le, 'locality', 'zone')) ?? '',
      priority: Number(at(le, 'priority') ?? 0),
      endpoints: arr(at(le, 'lbEndpoints')).map((e) => `${String(at(e, 'endpoint', 'address', 'socketAddress', 'address'))}:${String(at(e, 'endpoint', 'address', 'socketAddress', 'portValue'))}`),
    }));
  }
}
