/**
 * Where does traffic go under a given failure? Reads the rendered per-cluster Istio objects (the
 * translator's RenderResult.clusters), finds every aggregate cluster Spillway added with an
 * EnvoyFilter, and replays Envoy's priority-load maths over its children as each client proxy sees
 * them. Pure: no I/O.
 *
 * Health model (documented in docs/how-failover-works.md):
 * - `health[c] = {healthy, total}` counts the instances of the service in cluster c that are in EDS
 *   (ready pods); the `total - healthy` others fail requests. `edsUnhealthy` of those are not-ready pods:
 *   on the Service host istiod sends them marked unhealthy (since istio/istio#60690; older Istio dropped
 *   them), so they stay in the tier's hosts (skipped by Envoy, no ejection needed, but lowering its health);
 *   on Spillway's dedicated local host (a ServiceEntry selecting the pods) istiod builds endpoints from
 *   ready pods only, so they are not hosts at all (both checked on istiod's code: test/oracle/not-ready).
 *   `0/0` means no endpoint at all (the tier disappears from the aggregate, as Envoy skips empty children).
 * - A failing host only stops receiving traffic once outlier detection ejects it, and Envoy (1.28+)
 *   ejects at most floor(maxEjectionPercent * n / 100) of a child's n hosts (default 10%). The
 *   simulation applies that cap, read from the rendered DestinationRules.
 * - From a client cluster a remote tier is that cluster's gateway endpoint(s) (the ServiceEntry's
 *   endpoints), which work while the remote has at least one healthy instance.
 * - The local tier is the Service host, or a ServiceEntry with a workloadSelector (the client cluster's own
 *   pods). Either way it is one priority level: Spillway's rule for it turns locality load balancing off.
 *   A rule that leaves locality load balancing on splits it per zone, which is flagged (SIM009).
 */
import type { KubeObject } from '../api/types.ts';
import { message } from '../api/messages.ts';
import type { MessageCode, MessageOf, ParamsOf } from '../api/messages.ts';
import { DEFAULT_OVERPROVISIONING_FACTOR, DEFAULT_PANIC_THRESHOLD, priorityLoad } from './priority.ts';

export interface ClusterHealth {
  healthy: number;
  /** @default 1 when unknown (or `healthy` if larger) */
  total?: number;
  /**
   * Of the `total - healthy` others, how many are not ready. On the Service host istiod sends them with an
   * unhealthy status (since istio/istio#60690): Envoy skips them without outlier detection, so the ejection cap
   * does not apply to them, and they count in the tier's health. On the dedicated local host (a ServiceEntry
   * selecting the pods) istiod leaves them out: they are not hosts. The rest fail requests until ejected. @default 0
   */
  edsUnhealthy?: number;
  /** The cluster's receiving gateway has a ready endpoint; false makes it a dead remote tier. @default true */
  gatewayHealthy?: boolean;
}
/** By cluster name; a cluster not named is fully healthy. */
export type HealthSpec = Record<string, ClusterHealth>;

/** A simulator code (SIM0xx) of the message table. */
export type SimCode = Extract<MessageCode, `SIM${string}`>;
/**
 * A finding, typed by its code like every message: `object` is the FailoverService (`FailoverService/ns/name`),
 * `ref.cluster` the client cluster whose proxies it is about, and the text is rendered from `params`.
 */
export type SimWarning = { [C in SimCode]: MessageOf<C> }[SimCode];

export interface SimulateOptions {
  /** Gateway `address` or `address:port` -> cluster name (from the MeshCluster inputs), to name remote tiers. */
  gatewayAddresses?: Record<string, string>;
  /** EDS overprovisioning factor in percent. @default 140 (Istio does not set one) */
  overprovisioningFactor?: number;
}

export interface OutlierView {
  /** A DestinationRule sets outlierDetection for this child's host in the client cluster. */
  configured: boolean;
  /** Some ejection trigger is enabled (consecutive 5xx or gateway errors). */
  triggers: boolean;
  /** Effective max ejection percent (Envoy's default 10 when absent). */
  maxEjectionPercent: number;
  maxEjectionPercentSet: boolean;
  /** How many of this child's hosts Envoy may eject. */
  ejectable: number;
}

export interface TierResult {
  /** The cluster this tier's traffic lands in. */
  cluster: string;
  percent: number;
  role: 'local' | 'remote';
  /** Envoy cluster name of the aggregate child. */
  envoyCluster: string;
  host: string;
  /** Hosts Envoy has in this child (pods, or gateway endpoints for a remote). */
  hosts: number;
  /** Of those, how many really work under the given health. */
  healthy: number;
  /** Of those, how many Envoy still treats as healthy (failing hosts it cannot eject count as healthy). */
  seenHealthy: number;
  outlier: OutlierView;
}

export interface ClientResult {
  /** `<namespace>/<name>` of the FailoverService. */
  failoverService: string;
  /** The cluster whose proxies send the traffic. */
  client: string;
  /** Envoy name of the aggregate cluster. */
  aggregate: string;
  panicThreshold: number;
  tiers: TierResult[];
  totalPanic: boolean;
  noHealthyUpstream: boolean;
  /** Percent of requests sent to hosts that do not work (no healthy upstream, dead tiers, failing hosts not ejected). */
  failingPercent: number;
}

export interface SimulationResult {
  results: ClientResult[];
  warnings: SimWarning[];
}

const LABEL_FS = 'spillway.dev/failover-service';
const LABEL_FS_NS = 'spillway.dev/failover-service-namespace';
const LABEL_CLUSTER = 'spillway.dev/cluster';
const REMOTE_CLUSTER_KEY = 'spillway.dev/remote-cluster';
const AGGREGATE_TYPE = 'envoy.clusters.aggregate';
const ENVOY_DEFAULT_MAX_EJECTION_PERCENT = 10;

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
function field(obj: unknown, ...names: string[]): unknown {
  if (!isRecord(obj)) return undefined;
  for (const n of names) if (obj[n] !== undefined) return obj[n];
  return undefined;
}
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const asNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

interface Aggregate {
  name: string;
  children: string[];
  panicThreshold: number;
  panicThresholdSet: boolean;
}

/** The aggregate clusters an EnvoyFilter ADDs (v3 typed config, or the legacy TypedStruct wrapper). */
function aggregatesOf(filter: KubeObject): Aggregate[] {
  const out: Aggregate[] = [];
  for (const patch of asArray(field(filter['spec'], 'configPatches'))) {
    if (field(patch, 'applyTo') !== 'CLUSTER') continue;
    const p = field(patch, 'patch');
    if (field(p, 'operation') !== 'ADD') continue;
    const value = field(p, 'value');
    const clusterType = field(value, 'cluster_type', 'clusterType');
    if (field(clusterType, 'name') !== AGGREGATE_TYPE) continue;
    const typed = field(clusterType, 'typed_config', 'typedConfig');
    const list = field(typed, 'clusters') ?? field(field(typed, 'value'), 'clusters');
    const children = asArray(list).filter((c): c is string => typeof c === 'string');
    const threshold = field(field(value, 'common_lb_config', 'commonLbConfig'), 'healthy_panic_threshold', 'healthyPanicThreshold');
    const t = asNumber(field(threshold, 'value'));
    out.push({
      name: asString(field(value, 'name')) ?? '(unnamed)',
      children,
      // A Percent message present without `value` means 0.
      panicThreshold: threshold === undefined ? DEFAULT_PANIC_THRESHOLD : (t ?? 0),
      panicThresholdSet: threshold !== undefined,
    });
  }
  return out;
}

/** `outbound|<port>|<subset>|<host>` -> port and host. */
function parseOutbound(name: string): { port?: number; host: string } {
  const parts = name.split('|');
  if (parts.length === 4 && parts[0] === 'outbound') {
    const port = Number(parts[1]);
    return { port: Number.isInteger(port) ? port : undefined, host: parts[3] as string };
  }
  return { host: name };
}

function fsKey(o: KubeObject): string | undefined {
  const name = o.metadata.labels?.[LABEL_FS];
  if (!name) return undefined;
  const ns = o.metadata.labels?.[LABEL_FS_NS] ?? o.metadata.namespace ?? 'default';
  return `${ns}/${name}`;
}

function outlierOf(objects: readonly KubeObject[], host: string, port: number | undefined, hosts: number): OutlierView {
  let od: unknown;
  for (const o of objects) {
    if (o.kind !== 'DestinationRule' || field(o['spec'], 'host') !== host) continue;
    const policy = field(o['spec'], 'trafficPolicy');
    const portLevel = asArray(field(policy, 'portLevelSettings')).find((s) => port !== undefined && asNumber(field(field(s, 'port'), 'number')) === port);
    const candidate = field(portLevel, 'outlierDetection') ?? field(policy, 'outlierDetection');
    if (candidate !== undefined) {
      od = candidate;
      break;
    }
  }
  if (!isRecord(od)) {
    return { configured: false, triggers: false, maxEjectionPercent: 0, maxEjectionPercentSet: false, ejectable: 0 };
  }
  // Istio: consecutive5xxErrors defaults to 5 (0 disables it); consecutiveGatewayErrors is off unless set.
  const c5xx = asNumber(od['consecutive5xxErrors']) ?? asNumber(od['consecutiveErrors']) ?? 5;
  const cgw = asNumber(od['consecutiveGatewayErrors']) ?? 0;
  const triggers = c5xx > 0 || cgw > 0;
  const set = asNumber(od['maxEjectionPercent']);
  const max = Math.min(100, set ?? ENVOY_DEFAULT_MAX_EJECTION_PERCENT);
  // Envoy ejects only while 100 * (ejected + 1) / n <= max_ejection_percent.
  const ejectable = triggers && hosts > 0 ? Math.floor((max * hosts) / 100) : 0;
  return { configured: true, triggers, maxEjectionPercent: max, maxEjectionPercentSet: set !== undefined, ejectable };
}

/** Whether the DestinationRule for a host leaves Istio's locality load balancing on (the mesh default). */
function localityOn(objects: readonly KubeObject[], host: string): boolean {
  const dr = objects.find((o) => o.kind === 'DestinationRule' && field(o['spec'], 'host') === host);
  const setting = field(field(field(field(dr?.['spec'], 'trafficPolicy'), 'loadBalancer'), 'localityLbSetting'), 'enabled');
  return setting !== false;
}

function healthOf(health: HealthSpec, cluster: string): { healthy: number; total: number; edsUnhealthy: number; assumed: boolean } {
  const h = health[cluster];
  if (!h) return { healthy: 1, total: 1, edsUnhealthy: 0, assumed: true };
  const total = h.total ?? Math.max(1, h.healthy);
  const healthy = Math.min(h.healthy, total);
  return { healthy, total, edsUnhealthy: Math.max(0, Math.min(h.edsUnhealthy ?? 0, total - healthy)), assumed: h.total === undefined };
}

/** A remote tier works while that cluster has a healthy instance and its gateway a ready endpoint. */
function remoteWorks(health: HealthSpec, cluster: string): boolean {
  return healthOf(health, cluster).healthy > 0 && health[cluster]?.gatewayHealthy !== false;
}

class Warnings {
  private readonly seen = new Set<string>();
  readonly list: SimWarning[] = [];
  add<C extends SimCode>(code: C, params: ParamsOf<C>): void {
    const p = params as ParamsOf<C> & { service: string; client: string };
    const m = message(code, `FailoverService/${p.service}`, params, { cluster: p.client });
    const key = `${code}\u0000${m.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(m as SimWarning);
  }
}

/** Name of the cluster a remote ServiceEntry endpoint leads to. */
function remoteClusterOf(
  se: KubeObject,
  endpoint: unknown,
  host: string,
  client: string,
  fs: string,
  all: Record<string, readonly KubeObject[]>,
  opts: SimulateOptions,
): string | undefined {
  const fromMeta = se.metadata.annotations?.[REMOTE_CLUSTER_KEY] ?? se.metadata.labels?.[REMOTE_CLUSTER_KEY];
  if (fromMeta) return fromMeta;
  const epLabels = field(endpoint, 'labels');
  const fromEndpoint = asString(field(epLabels, REMOTE_CLUSTER_KEY)) ?? asString(field(epLabels, LABEL_CLUSTER));
  if (fromEndpoint) return fromEndpoint;
  const address = asString(field(endpoint, 'address'));
  if (address && opts.gatewayAddresses) {
    const ports = field(endpoint, 'ports');
    const portValues = isRecord(ports) ? Object.values(ports).map(asNumber).filter((p): p is number => p !== undefined) : [];
    for (const p of portValues) {
      const hit = opts.gatewayAddresses[`${address}:${p}`];
      if (hit) return hit;
    }
    const hit = opts.gatewayAddresses[address];
    if (hit) return hit;
  }
  // Naming convention: `<service>-remote-<cluster>.<ns>.global` when there are several remotes.
  const first = host.split('.')[0] ?? '';
  const named = Object.keys(all)
    .filter((c) => c !== client && first.endsWith(`-remote-${c}`))
    .sort((a, b) => b.length - a.length)[0];
  if (named) return named;
  // A single remote (`<service>-remote`): the only other cluster receiving this FailoverService.
  if (/-remote$/.test(first)) {
    const receivers = Object.keys(all).filter((c) => c !== client && all[c]?.some((o) => o.kind === 'Gateway' && fsKey(o) === fs));
    if (receivers.length === 1) return receivers[0];
  }
  return undefined;
}

interface TierDraft extends TierResult {
  /** Hosts that fail but that Envoy keeps using. */
  failingSeen: number;
}

function buildTiers(
  client: string,
  fs: string,
  agg: Aggregate,
  all: Record<string, readonly KubeObject[]>,
  health: HealthSpec,
  opts: SimulateOptions,
  warn: Warnings,
): TierDraft[] {
  const objects = all[client] ?? [];
  const tiers: TierDraft[] = [];
  for (const child of agg.children) {
    const { port, host } = parseOutbound(child);
    const found = objects.find((o) => o.kind === 'ServiceEntry' && asArray(field(o['spec'], 'hosts')).includes(host));
    // A ServiceEntry selecting workloads stands for the client cluster's own pods (Spillway's dedicated local
    // tier): istiod builds its endpoints from the matching ready pods of its own cluster.
    const se = found && field(found['spec'], 'workloadSelector') === undefined ? found : undefined;
    let role: 'local' | 'remote';
    let cluster: string;
    let hosts: number;
    let healthy: number;
    let assumed = false;
    let edsUnhealthy = 0;
    if (se) {
      role = 'remote';
      const endpoints = asArray(field(se['spec'], 'endpoints'));
      const targets = endpoints.map((ep) => remoteClusterOf(se, ep, host, client, fs, all, opts));
      const named = targets.filter((t): t is string => t !== undefined);
      cluster = named[0] ?? host;
      if (endpoints.length > 0 && named.length < endpoints.length) {
        warn.add('SIM007', { service: fs, client, serviceEntry: `${se.metadata.namespace ?? ''}/${se.metadata.name}`, host });
      }
      hosts = endpoints.length;
      healthy = targets.filter((t) => t === undefined || remoteWorks(health, t)).length;
    } else {
      role = 'local';
      cluster = client;
      const h = healthOf(health, client);
      // On the dedicated local host (a ServiceEntry selecting the pods) istiod builds endpoints from ready pods
      // only: not-ready ones are not in EDS at all. On the Service host they are sent marked unhealthy.
      const dropsNotReady = found !== undefined;
      hosts = dropsNotReady ? h.total - h.edsUnhealthy : h.total;
      healthy = h.healthy;
      edsUnhealthy = dropsNotReady ? 0 : h.edsUnhealthy;
      assumed = h.assumed;
    }
    const outlier = outlierOf(objects, host, port, hosts);
    // Hosts EDS marks unhealthy are never used; the other failing ones only once ejected (up to the cap).
    const failing = hosts - healthy - edsUnhealthy;
    const seenHealthy = hosts - edsUnhealthy - Math.min(failing, outlier.ejectable);
    tiers.push({ cluster, percent: 0, role, envoyCluster: child, host, hosts, healthy, seenHealthy, outlier, failingSeen: seenHealthy - healthy });

    if (role === 'local' && outlier.configured && localityOn(objects, host)) {
      warn.add('SIM009', { service: fs, client, host });
    }
    if (!outlier.configured) {
      warn.add('SIM001', { service: fs, client, child, host, role, cluster });
    } else if (!outlier.triggers) {
      warn.add('SIM005', { service: fs, client, host });
    } else if (hosts > 0 && outlier.maxEjectionPercent * hosts < 100) {
      warn.add('SIM002', { service: fs, client, host, hosts, ...(outlier.maxEjectionPercentSet ? { maxEjectionPercent: outlier.maxEjectionPercent } : {}), assumed, role, cluster });
    }
  }
  return tiers;
}

/** Simulate every client cluster of every FailoverService found in the rendered objects. */
export function simulate(clusters: Record<string, readonly KubeObject[]>, health: HealthSpec = {}, opts: SimulateOptions = {}): SimulationResult {
  const warn = new Warnings();
  const results: ClientResult[] = [];
  const factor = opts.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR;

  for (const client of Object.keys(clusters).sort()) {
    for (const filter of clusters[client] ?? []) {
      if (filter.kind !== 'EnvoyFilter') continue;
      const fs = fsKey(filter);
      if (!fs) continue;
      const aggregates = aggregatesOf(filter);
      if (aggregates.length === 0) {
        warn.add('SIM008', { service: fs, client, reason: 'noAggregate', envoyFilter: `${filter.metadata.namespace ?? ''}/${filter.metadata.name}` });
        continue;
      }
      for (const agg of aggregates) {
        if (agg.children.length === 0) {
          warn.add('SIM008', { service: fs, client, reason: 'noChildren', aggregate: agg.name });
          continue;
        }
        const tiers = buildTiers(client, fs, agg, clusters, health, opts, warn);
        // Envoy linearizes only children that have hosts; empty ones take no load.
        const live = tiers.filter((t) => t.hosts > 0);
        const load = priorityLoad(
          live.map((t) => ({ healthy: t.seenHealthy, total: t.hosts })),
          { panicThreshold: agg.panicThreshold, overprovisioningFactor: factor },
        );
        live.forEach((t, i) => {
          t.percent = load.noHealthyUpstream ? 0 : (load.percent[i] ?? 0) + (load.degradedPercent[i] ?? 0);
        });
        const noHealthyUpstream = load.noHealthyUpstream;
        let failing = 0;
        if (noHealthyUpstream) {
          failing = 100;
          warn.add('SIM004', { service: fs, client });
        }
        for (const t of live) {
          if (t.percent === 0) continue;
          if (t.healthy === 0) {
            failing += t.percent;
            if (load.totalPanic && agg.panicThreshold > 0) {
              warn.add('SIM003', { service: fs, client, aggregate: agg.name, ...(agg.panicThresholdSet ? { panicThreshold: agg.panicThreshold } : {}), percent: t.percent, cluster: t.cluster });
            } else {
              warn.add('SIM006', { service: fs, client, percent: t.percent, cluster: t.cluster, hosts: t.hosts });
            }
          } else if (t.failingSeen > 0) {
            // Requests spread evenly over the hosts Envoy uses; the un-ejected failing ones fail theirs.
            failing += (t.percent * t.failingSeen) / t.seenHealthy;
          }
        }
        results.push({
          failoverService: fs,
          client,
          aggregate: agg.name,
          panicThreshold: agg.panicThreshold,
          tiers: tiers.map(({ failingSeen: _f, ...rest }) => rest),
          totalPanic: load.totalPanic,
          noHealthyUpstream,
          failingPercent: Math.round(failing * 10) / 10,
        });
      }
    }
  }
  results.sort((a, b) => (a.failoverService < b.failoverService ? -1 : a.failoverService > b.failoverService ? 1 : a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  return { results, warnings: warn.list };
}

/** Cluster names the rendered objects mention (to validate a health spec against). */
export function knownClusters(clusters: Record<string, readonly KubeObject[]>): string[] {
  return Object.keys(clusters).sort();
}
