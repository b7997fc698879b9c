/**
 * What the checks and the translator share about one FailoverService: its workloads resolved against the
 * snapshot, and the small derivations (chosen port, defaults) that both must compute the same way.
 */
import type { FailoverService, MeshCluster, MeshWorkload, WorkloadPort } from '../api/types.ts';
import type { Snapshot } from './snapshot.ts';
import { objectRef } from './naming.ts';
import { hasAggregateCrashBug, profileFor } from './profile.ts';

export interface ResolvedWorkload {
  /** As listed in spec.meshWorkloads. */
  listed: string;
  /** `namespace/name` of the MeshWorkload. */
  key: string;
  workload?: MeshWorkload;
  cluster?: MeshCluster;
  clusterName?: string;
}

export interface FailoverContext {
  fs: FailoverService;
  ref: string;
  snapshot: Snapshot;
  /** Every listed workload, in list order, resolved as far as possible. */
  listed: ResolvedWorkload[];
  /** Computed once by `tiers()`. */
  tiersCache?: Tier[];
  /** Computed once by `clientOnlyClusters()`. */
  clientOnlyCache?: ClientOnly[];
}

/** A workload whose MeshWorkload and MeshCluster both exist and are valid. */
export interface Tier {
  key: string;
  workload: MeshWorkload;
  cluster: MeshCluster;
  clusterName: string;
  serviceName: string;
  serviceNamespace: string;
}

export function resolveContext(fs: FailoverService, snapshot: Snapshot): FailoverContext {
  const ns = fs.metadata.namespace ?? 'default';
  const listed = fs.spec.meshWorkloads.map((entry): ResolvedWorkload => {
    const key = entry.includes('/') ? entry : `${ns}/${entry}`;
    const workload = snapshot.workloads.get(key);
    const clusterName = workload?.spec.cluster;
    const cluster = clusterName === undefined ? undefined : snapshot.clusters.get(clusterName);
    return { listed: entry, key, workload, cluster, clusterName };
  });
  return { fs, ref: objectRef('FailoverService', fs.metadata.name, ns), snapshot, listed };
}

/** The fully resolved workloads, first occurrence of each, in priority order. */
export function tiers(ctx: FailoverContext): Tier[] {
  if (ctx.tiersCache) return ctx.tiersCache;
  const seen = new Set<string>();
  const out: Tier[] = [];
  for (const r of ctx.listed) {
    if (!r.workload || !r.cluster || r.clusterName === undefined || seen.has(r.key)) continue;
    seen.add(r.key);
    out.push({
      key: r.key,
      workload: r.workload,
      cluster: r.cluster,
      clusterName: r.clusterName,
      serviceName: r.workload.spec.service.name,
      serviceNamespace: r.workload.spec.service.namespace ?? r.workload.metadata.namespace ?? 'default',
    });
  }
  ctx.tiersCache = out;
  return out;
}

/**
 * A listed cluster that lost its workload but is still registered: it hosts no tier, and its clients keep the global
 * host, served by the remaining tiers through their gateways (a client-only cluster).
 */
export interface ClientOnly {
  /** `namespace/name` of the listed MeshWorkload that is gone. */
  key: string;
  clusterName: string;
  cluster: MeshCluster;
  /** Where this cluster's client-side objects go: the missing workload's namespace (its Service's, as discovered). */
  namespace: string;
}

/**
 * The client-only clusters of a FailoverService, in list order. A missing MeshWorkload no longer says which cluster
 * it was in, so this reads the name discovery gives every workload it creates, `<service>-<cluster>`: a listed
 * `namespace/<service>-<cluster>` that does not exist, where `<service>` is the Service of an available tier (the
 * first in list order whose name fits) and `<cluster>` is a registered, valid MeshCluster hosting no tier of this
 * service, is that cluster's workload. Any other missing name (a hand-written MeshWorkload named otherwise, or one
 * naming no registered cluster) leaves no client behind: its cluster is only left out of the tiers. Neither does a
 * cluster whose Istio cannot take the aggregate cluster.
 */
export function clientOnlyClusters(ctx: FailoverContext): ClientOnly[] {
  if (ctx.clientOnlyCache) return ctx.clientOnlyCache;
  const ts = tiers(ctx);
  const out: ClientOnly[] = [];
  if (ts.length > 0) {
    const hosting = new Set(ts.map((t) => t.clusterName));
    const services = [...new Set(ts.map((t) => t.serviceName))];
    for (const r of ctx.listed) {
      if (r.workload) continue;
      const [namespace, name] = r.key.split('/') as [string, string];
      if (ctx.snapshot.rejected.has(objectRef('MeshWorkload', name, namespace))) continue;
      for (const svc of services) {
        if (!name.startsWith(`${svc}-`)) continue;
        const clusterName = name.slice(svc.length + 1);
        const cluster = ctx.snapshot.clusters.get(clusterName);
        if (!cluster || hosting.has(clusterName) || out.some((c) => c.clusterName === clusterName)) continue;
        // An Istio that cannot take the aggregate (SPW116, SPW117 for a tier) gets nothing rather than a broken client.
        const v = cluster.spec.istio?.version;
        if (profileFor(v) === undefined || hasAggregateCrashBug(v)) break;
        out.push({ key: r.key, clusterName, cluster, namespace });
        break;
      }
    }
  }
  ctx.clientOnlyCache = out;
  return out;
}

export type PortChoice = { port: WorkloadPort } | { error: 'not-chosen' | 'not-found' };

/** The workload's port to fail over: spec.port by number or name, or the only port. */
export function choosePort(fs: FailoverService, workload: MeshWorkload): PortChoice {
  const want = fs.spec.port;
  const ports = workload.spec.ports;
  if (want === undefined) return ports.length === 1 ? { port: ports[0] as WorkloadPort } : { error: 'not-chosen' };
  const found = ports.find((p) => (typeof want === 'number' ? p.number === want : p.name === want || String(p.number) === want));
  return found ? { port: found } : { error: 'not-found' };
}

export function normalizeProtocol(p: string): string {
  return p.toUpperCase();
}

/** Protocols whose requests carry a Host/:authority header the receiving gateway can route on. */
export const L7_PROTOCOLS: ReadonlySet<string> = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);
/** Every protocol name Istio knows, for telling a typo from a real but unsupported protocol. */
export const ISTIO_PROTOCOLS: ReadonlySet<string> = new Set([...L7_PROTOCOLS, 'HTTPS', 'TCP', 'TLS', 'UDP', 'MONGO', 'REDIS', 'MYSQL', 'THRIFT']);

export const DEFAULTS = {
  gatewaySelector: { istio: 'ingressgateway' } as Record<string, string>,
  rootNamespace: 'istio-system',
  clusterDomain: 'cluster.local',
  tlsMode: 'ISTIO_MUTUAL' as const,
  outlierDetection: { consecutive5xxErrors: 10, interval: '5s', baseEjectionTime: '120s', maxEjectionPercent: 100 },
  panicThreshold: 0,
  connectTimeout: '1s',
  /** Remote tiers eject their gateway after this many 502/503/504 in a row unless outlierDetection sets its own. */
  remoteConsecutiveGatewayErrors: 5,
  /** Every emitted object is visible mesh-wide: clients in any namespace may call the global host. */
  exportTo: ['*'],
} as const;
