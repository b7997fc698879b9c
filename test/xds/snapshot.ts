/**
 * Turns Spillway's rendered Istio objects for ONE client cluster into the xDS resources a proxy in
 * that cluster would receive, the way istiod builds them, so a real xDS client can be driven by them.
 *
 * What is reproduced (see docs/dataplane-proof.md):
 * - one EDS cluster `outbound|<port>||<host>` per ServiceEntry host and port, endpoints = the
 *   ServiceEntry's endpoints (address + the port mapped by port name, else the port number);
 * - one EDS cluster for the client's own Kubernetes Service (`opts.local`), endpoints = given backends;
 * - DestinationRule outlier detection on the cluster of the DR's host, translated as istiod does
 *   (enforcing_success_rate 0; consecutive5xxErrors -> consecutive_5xx + enforcing 100; etc.) and
 *   the panic threshold set to 0;
 * - EnvoyFilter CLUSTER patches: REMOVE deletes a generated cluster by name, ADD appends its `value`
 *   VERBATIM. The only change made to an ADDed value: when it says `lb_policy: CLUSTER_PROVIDED` and has
 *   no `load_balancing_policy`, the policy list [cluster_provided, round_robin] is added, because gRPC
 *   rejects CLUSTER_PROVIDED otherwise (Envoy needs nothing). Every such change is reported in
 *   `adaptations`.
 * - routing like a sidecar's outbound port route: one RouteConfiguration per port (named `<port>`), one
 *   virtual host per host (domains `host`, `host:port`) sending everything to `outbound|<port>||<host>`;
 *   a gRPC API listener `<host>:<port>` per host pointing at that route (xds:///<host>:<port>).
 * DNS-resolved ServiceEntries become STRICT_DNS clusters with inline endpoints, as istiod makes them
 * (gRPC accepts only EDS and LOGICAL_DNS, so such a snapshot can be encoded and name-checked but not
 * served to a gRPC client).
 * Not reproduced: TLS (ISTIO_MUTUAL; plaintext here), load-balancer settings, EnvoyFilter MERGE and
 * workloadSelector (every filter is assumed to select the client).
 *
 * Aggregate children are matched to clusters by name only: a child the generated clusters lack is not
 * invented here, exactly as Envoy would not.
 */
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { XdsResources } from './ads-server.ts';

/** A rendered object as it appears in Spillway's JSON output. */
export type RenderedObject = Record<string, unknown>;

export interface BackendAddress {
  address: string;
  port: number;
}

/**
 * EDS health of the local endpoints. istiod sends not-ready pods marked `UNHEALTHY` on the Service host (since
 * istio/istio#60690) and leaves them out (`DROPPED`) on Spillway's dedicated local host, which it builds from ready
 * pods only, as Istio before #60690 did on every host (test/oracle/not-ready.test.ts).
 */
export type LocalHealth = 'HEALTHY' | 'UNHEALTHY' | 'DROPPED';

/** A Kubernetes Service of the client's own cluster (the local tier of an aggregate). */
export interface LocalService {
  /** FQDN, e.g. `reviews.default.svc.cluster.local`. */
  host: string;
  /** Service port number, e.g. 9080. */
  port: number;
  /** Stand-in pods of the local service. */
  endpoints: BackendAddress[];
  /** @default HEALTHY */
  health?: LocalHealth;
}

export interface SnapshotOptions {
  /** The client cluster's own Kubernetes Service(s) behind the local tier. */
  local: LocalService | LocalService[];
}

export interface Snapshot extends XdsResources {
  /** Changes made to ADDed EnvoyFilter values so gRPC accepts them (empty = fully verbatim). */
  adaptations: string[];
  /** Names of every cluster in the snapshot, in order. */
  clusterNames: string[];
}

// ---- small JSON narrowing helpers (rendered input is untyped JSON) ----

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown, what: string): Record<string, unknown> {
  if (!isObj(v)) throw new Error(`${what}: expected an object, got ${JSON.stringify(v)}`);
  return v;
}
function arr(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`);
  return v;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}
function num(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new Error(`${what}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}
function toJson(v: unknown): JsonValue {
  return JSON.parse(JSON.stringify(v)) as JsonValue;
}

export const clusterName = (port: number, host: string): string => `outbound|${port}||${host}`;

const CLUSTER_PROVIDED_URL = 'type.googleapis.com/envoy.extensions.load_balancing_policies.cluster_provided.v3.ClusterProvided';
const ROUND_ROBIN_URL = 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';
const ROUTER_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const HCM_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

interface Generated {
  host: string;
  port: number;
  cluster: JsonObject;
  endpoints: BackendAddress[];
  health: 'HEALTHY' | 'UNHEALTHY';
  /** STRICT_DNS cluster: endpoints are inline, no EDS resource. */
  dns?: boolean;
}

function strictDnsCluster(name: string, endpoints: { address: string; port: number }[]): JsonObject {
  // istiod's cluster for a DNS-resolved ServiceEntry: endpoints inline, resolved by Envoy.
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: '10s',
    lb_policy: 'ROUND_ROBIN',
    dns_lookup_family: 'V4_ONLY',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          locality: {},
          lb_endpoints: endpoints.map((e) => ({ endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } } })),
        },
      ],
    },
  };
}

function edsCluster(name: string): JsonObject {
  // Shape of an istiod outbound EDS cluster, minus TLS and its Envoy-only tuning.
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { service_name: name, eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' } },
    connect_timeout: '10s',
    lb_policy: 'ROUND_ROBIN',
  };
}

/** istiod's DestinationRule outlierDetection -> Envoy OutlierDetection (cluster_traffic_policy.go). */
export function translateOutlierDetection(od: Record<string, unknown>): JsonObject {
  const out: JsonObject = { enforcing_success_rate: 0 };
  const c5 = od.consecutive5xxErrors;
  if (c5 !== undefined) {
    const v = num(c5, 'outlierDetection.consecutive5xxErrors');
    out.consecutive_5xx = v;
    out.enforcing_consecutive_5xx = v > 0 ? 100 : 0;
  }
  const gw = od.consecutiveGatewayErrors;
  if (gw !== undefined) {
    const v = num(gw, 'outlierDetection.consecutiveGatewayErrors');
    out.consecutive_gateway_failure = v;
    out.enforcing_consecutive_gateway_failure = v > 0 ? 100 : 0;
  }
  if (od.interval !== undefined) out.interval = str(od.interval, 'outlierDetection.interval');
  if (od.baseEjectionTime !== undefined) out.base_ejection_time = str(od.baseEjectionTime, 'outlierDetection.baseEjectionTime');
  if (od.maxEjectionPercent !== undefined) {
    const v = num(od.maxEjectionPercent, 'outlierDetection.maxEjectionPercent');
    if (v > 0) out.max_ejection_percent = v;
  }
  const known = new Set(['consecutive5xxErrors', 'consecutiveGatewayErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent', 'minHealthPercent']);
  for (const k of Object.keys(od)) if (!known.has(k)) throw new Error(`outlierDetection.${k}: not reproduced by the harness`);
  return out;
}

function kindOf(o: RenderedObject): string {
  return typeof o.kind === 'string' ? o.kind : '';
}

/** Builds the xDS snapshot a client proxy in this cluster would get from istiod. */
export function snapshotFromRendered(objects: readonly RenderedObject[], opts: SnapshotOptions): Snapshot {
  const generated: Generated[] = [];

  // 1. ServiceEntries: one EDS cluster per host and port.
  for (const se of objects.filter((o) => kindOf(o) === 'ServiceEntry')) {
    const name = str(obj(se.metadata, 'ServiceEntry.metadata').name, 'ServiceEntry.metadata.name');
    const spec = obj(se.spec, `ServiceEntry ${name}.spec`);
    const resolution = spec.resolution ?? 'NONE';
    const seEndpoints = arr(spec.endpoints, `ServiceEntry ${name}.spec.endpoints`).map((e) => obj(e, `ServiceEntry ${name} endpoint`));
    if (spec.workloadSelector !== undefined) {
      // istiod builds a selecting ServiceEntry's endpoints from the ready pods it selects in its namespace: here
      // the stand-in pods of the client cluster's Service in that namespace (not-ready pods leave, as istiod does).
      const ns = str(obj(se.metadata, 'ServiceEntry.metadata').namespace, `ServiceEntry ${name}.metadata.namespace`);
      const inNs = (Array.isArray(opts.local) ? opts.local : [opts.local]).filter((l) => l.host.split('.')[1] === ns);
      for (const hostV of arr(spec.hosts, `ServiceEntry ${name}.spec.hosts`)) {
        for (const pV of arr(spec.ports, `ServiceEntry ${name}.spec.ports`)) {
          const p = obj(pV, `ServiceEntry ${name} port`);
          const portNumber = num(p.number, `ServiceEntry ${name} port.number`);
          const host = str(hostV, `ServiceEntry ${name} host`);
          const locals = inNs.filter((l) => l.port === portNumber);
          if (locals.length !== 1) throw new Error(`ServiceEntry ${name}: a workloadSelector needs exactly one local service on port ${portNumber} in namespace ${ns}`);
          const local = locals[0] as LocalService;
          const ready = local.health === 'DROPPED' || local.health === 'UNHEALTHY' ? [] : local.endpoints;
          generated.push({ host, port: portNumber, cluster: edsCluster(clusterName(portNumber, host)), endpoints: ready, health: 'HEALTHY' });
        }
      }
      continue;
    }
    if (resolution !== 'STATIC' && resolution !== 'DNS' && seEndpoints.length > 0) {
      throw new Error(`ServiceEntry ${name}: resolution ${String(resolution)} is not reproduced by the harness`);
    }
    for (const hostV of arr(spec.hosts, `ServiceEntry ${name}.spec.hosts`)) {
      const host = str(hostV, `ServiceEntry ${name} host`);
      for (const pV of arr(spec.ports, `ServiceEntry ${name}.spec.ports`)) {
        const p = obj(pV, `ServiceEntry ${name} port`);
        const portNumber = num(p.number, `ServiceEntry ${name} port.number`);
        const portName = str(p.name, `ServiceEntry ${name} port.name`);
        const endpoints = seEndpoints.map((e) => {
          const mapped = isObj(e.ports) ? e.ports[portName] : undefined;
          const port = mapped !== undefined ? num(mapped, `ServiceEntry ${name} endpoint port ${portName}`) : typeof p.targetPort === 'number' ? p.targetPort : portNumber;
          return { address: str(e.address, `ServiceEntry ${name} endpoint.address`), port };
        });
        const cn = clusterName(portNumber, host);
        if (resolution === 'DNS') generated.push({ host, port: portNumber, cluster: strictDnsCluster(cn, endpoints), endpoints, health: 'HEALTHY', dns: true });
        else generated.push({ host, port: portNumber, cluster: edsCluster(cn), endpoints, health: 'HEALTHY' });
      }
    }
  }

  // 2. The client's own Kubernetes Service(s).
  for (const local of Array.isArray(opts.local) ? opts.local : [opts.local]) {
    const health = local.health ?? 'HEALTHY';
    generated.push({
      host: local.host,
      port: local.port,
      cluster: edsCluster(clusterName(local.port, local.host)),
      endpoints: health === 'DROPPED' ? [] : local.endpoints,
      health: health === 'UNHEALTHY' ? 'UNHEALTHY' : 'HEALTHY',
    });
  }
  const seenNames = new Set<string>();
  for (const g of generated) {
    const n = String(g.cluster.name);
    if (seenNames.has(n)) throw new Error(`two generated clusters named ${n}`);
    seenNames.add(n);
  }

  // 3. DestinationRules: outlier detection (and the panic threshold istiod sets with it) by host.
  for (const dr of objects.filter((o) => kindOf(o) === 'DestinationRule')) {
    const name = str(obj(dr.metadata, 'DestinationRule.metadata').name, 'DestinationRule.metadata.name');
    const spec = obj(dr.spec, `DestinationRule ${name}.spec`);
    const host = str(spec.host, `DestinationRule ${name}.spec.host`);
    const tp = isObj(spec.trafficPolicy) ? spec.trafficPolicy : {};
    const targets = generated.filter((g) => g.host === host);
    if (targets.length === 0) throw new Error(`DestinationRule ${name}: host ${host} matches no generated cluster`);
    for (const g of targets) {
      let od = isObj(tp.outlierDetection) ? tp.outlierDetection : undefined;
      for (const plV of arr(tp.portLevelSettings, `DestinationRule ${name} portLevelSettings`)) {
        const pl = obj(plV, 'portLevelSettings entry');
        if (isObj(pl.port) && pl.port.number === g.port && isObj(pl.outlierDetection)) od = pl.outlierDetection;
      }
      if (!od) continue;
      g.cluster.outlier_detection = translateOutlierDetection(od);
      const mhp = typeof od.minHealthPercent === 'number' ? od.minHealthPercent : 0;
      g.cluster.common_lb_config = { healthy_panic_threshold: { value: mhp } };
    }
  }

  // 4. EnvoyFilter CLUSTER patches: REMOVE from the generated set, then ADD appended (istiod's order).
  let clusters: JsonObject[] = generated.map((g) => g.cluster);
  const added: JsonObject[] = [];
  const adaptations: string[] = [];
  for (const ef of objects.filter((o) => kindOf(o) === 'EnvoyFilter')) {
    const efName = str(obj(ef.metadata, 'EnvoyFilter.metadata').name, 'EnvoyFilter.metadata.name');
    const spec = obj(ef.spec, `EnvoyFilter ${efName}.spec`);
    for (const [i, cpV] of arr(spec.configPatches, `EnvoyFilter ${efName}.spec.configPatches`).entries()) {
      const where = `EnvoyFilter ${efName} configPatches[${i}]`;
      const cp = obj(cpV, where);
      if (cp.applyTo !== 'CLUSTER') throw new Error(`${where}: applyTo ${String(cp.applyTo)} is not reproduced by the harness`);
      const match = isObj(cp.match) ? cp.match : {};
      const context = match.context ?? 'ANY';
      if (context !== 'ANY' && context !== 'SIDECAR_OUTBOUND') continue; // does not reach a client sidecar's clusters
      const patch = obj(cp.patch, `${where}.patch`);
      const op = str(patch.operation, `${where}.patch.operation`);
      if (op === 'REMOVE') {
        const cm = obj(match.cluster, `${where}.match.cluster`);
        const unsupported = Object.keys(cm).filter((k) => k !== 'name');
        if (unsupported.length > 0) throw new Error(`${where}: match.cluster.${unsupported.join(', ')} not reproduced by the harness`);
        const target = str(cm.name, `${where}.match.cluster.name`);
        clusters = clusters.filter((c) => c.name !== target);
      } else if (op === 'ADD') {
        const value = obj(toJson(obj(patch.value, `${where}.patch.value`)), `${where}.patch.value`) as JsonObject;
        if (value.lb_policy === 'CLUSTER_PROVIDED' && value.load_balancing_policy === undefined && value.loadBalancingPolicy === undefined) {
          value.load_balancing_policy = {
            policies: [
              { typed_extension_config: { name: 'envoy.load_balancing_policies.cluster_provided', typed_config: { '@type': CLUSTER_PROVIDED_URL } } },
              { typed_extension_config: { name: 'envoy.load_balancing_policies.round_robin', typed_config: { '@type': ROUND_ROBIN_URL } } },
            ],
          };
          adaptations.push(`${String(value.name)}: added load_balancing_policy [cluster_provided, round_robin] next to lb_policy CLUSTER_PROVIDED`);
        }
        added.push(value);
      } else {
        throw new Error(`${where}: operation ${op} is not reproduced by the harness`);
      }
    }
  }
  // 5. EDS for the generated clusters that survived REMOVE (an ADDed cluster brings its own discovery).
  const survivors = new Set(clusters.map((c) => c.name));
  clusters = [...clusters, ...added];
  const endpoints: JsonObject[] = generated
    .filter((g) => !g.dns && survivors.has(g.cluster.name))
    .map((g) => ({
      cluster_name: String(g.cluster.name),
      endpoints:
        g.endpoints.length === 0
          ? []
          : [
              {
                locality: {},
                load_balancing_weight: g.endpoints.length,
                lb_endpoints: g.endpoints.map((e) => ({
                  endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
                  health_status: g.health,
                  load_balancing_weight: 1,
                })),
              },
            ],
    }));

  // 6. Routing: per port, a route config with one virtual host per host; an API listener per host:port.
  const byPort = new Map<number, string[]>();
  for (const g of generated) byPort.set(g.port, [...(byPort.get(g.port) ?? []), g.host]);
  const routes: JsonObject[] = [];
  const listeners: JsonObject[] = [];
  for (const [port, hosts] of byPort) {
    routes.push({
      name: String(port),
      virtual_hosts: hosts.map((host) => ({
        name: `${host}:${port}`,
        domains: [host, `${host}:${port}`],
        routes: [{ match: { prefix: '/' }, route: { cluster: clusterName(port, host), timeout: '0s' } }],
      })),
    });
    for (const host of hosts) {
      listeners.push({
        name: `${host}:${port}`,
        api_listener: {
          api_listener: {
            '@type': HCM_URL,
            stat_prefix: `${host}:${port}`,
            rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: String(port) },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_URL } }],
          },
        },
      });
    }
  }

  return { listeners, routes, clusters, endpoints, adaptations, clusterNames: clusters.map((c) => String(c.name)) };
}
