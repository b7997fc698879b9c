/**
 * What the checks and the translator share about one FailoverService: its workloads resolved against the
 * snapshot, and the small derivations (chosen port, defaults) that both must compute the same way.
 */
import type { FailoverService, MeshCluster, MeshWorkload, WorkloadPort } from '../api/types.ts';
import type { Snapshot } from './snapshot.ts';
import { objectRef } from './naming.ts';

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
