/**
 * A FailoverService that passed its checks, resolved into everything translation needs: hosts, port,
 * per-cluster targets and defaulted options. Translation reads only plans, never raw input.
 */
import type { FailoverService, MeshCluster, WorkloadPort } from '../api/types.ts';
import type { FailoverContext, Tier } from './context.ts';
import { DEFAULTS, choosePort, clientOnlyClusters, normalizeProtocol, tiers } from './context.ts';
import { profileFor } from './profile.ts';
import type { Profile } from './profile.ts';
import { defaultGlobalHost, localRuleName, localTierHost, outboundCluster, remoteHost, remoteObjectName, serviceHost } from './naming.ts';
import { parseDurationNanos, protoDuration } from './duration.ts';

export interface OutlierDetection {
  consecutive5xxErrors: number;
  consecutiveGatewayErrors?: number;
  /** proto3-JSON durations (`5s`, `0.5s`), the only form Istio parses; the input may say `1m`. */
  interval: string;
  baseEjectionTime: string;
  maxEjectionPercent: number;
}

export interface ClusterTarget {
  clusterName: string;
  cluster: MeshCluster;
  profile: Profile;
  serviceName: string;
  serviceNamespace: string;
  /** The Kubernetes Service host in this cluster, e.g. reviews.default.svc.cluster.local. */
  localHost: string;
  rootNamespace: string;
  /** The local tier as this cluster's own clients see it: the aggregate's first child. */
  localTier: LocalTier;
}

/**
 * The local tier. With the Service's pod selector it is a dedicated host (`<service>-local.<namespace>.global`): a
 * ServiceEntry whose workloadSelector picks the Service's pods (istiod builds its endpoints from the ready pods
 * of its own cluster's registry) with a DestinationRule of its own. Its outlier detection then reaches only
 * failover traffic, and a user's DestinationRule for the Service host neither replaces it nor is replaced by it.
 * Without a selector (or on Istio before 1.8) the tier is the Service host itself, as in the design note.
 */
export interface LocalTier {
  host: string;
  dedicated?: {
    objectName: string;
    selector: Record<string, string>;
    /** The ServiceEntry port: the Service port, with the pods' port as targetPort or, when named, as its name. */
    port: { name: string; number: number; protocol: string; targetPort?: number };
  };
}

export interface RemoteTier {
  target: ClusterTarget;
  /** Host (and object name) this client uses for that remote cluster. */
  host: string;
  objectName: string;
  gatewayAddress: string;
  gatewayPort: number;
}

/** What the client-side objects of one cluster need to know about that cluster. */
export type ClientSide = Pick<ClusterTarget, 'clusterName' | 'cluster' | 'profile' | 'serviceNamespace' | 'rootNamespace'>;

/** One cluster's clients: the global host's aggregate and the remote tiers it spills to. */
export interface ClientBase {
  local: ClientSide;
  /** Remote tiers in failover order. */
  remotes: RemoteTier[];
  /** Envoy cluster names of the aggregate's children, local first (when there is a local tier). */
  children: string[];
}

export interface ClientView extends ClientBase {
  local: ClusterTarget;
}

/**
 * A client-only cluster (see clientOnlyClusters): listed, registered, its workload gone. Its clients keep the
 * global host; the aggregate's children are the remaining tiers in list order, all remote.
 */
export interface ClientOnlyView extends ClientBase {
  /** The listed MeshWorkload that is gone. */
  workload: string;
}

export interface FailoverPlan {
  ref: string;
  fs: FailoverService;
  globalHost: string;
  /** Set by address allocation, mesh-wide. */
  address: string;
  port: { name: string; number: number; protocol: string };
  primaryService: { name: string; namespace: string };
  targets: ClusterTarget[];
  clients: ClientView[];
  /** Clusters that lost their workload and keep only their clients, in list order. */
  clientOnly: ClientOnlyView[];
  /** The ServiceEntry ports list, shared by every ServiceEntry of the plan. */
  servicePorts: { name: string; number: number; protocol: string }[];
  tlsMode: 'ISTIO_MUTUAL' | 'DISABLE';
  /** What client sidecars originate towards remote gateways: Istio mTLS with SNI = the global host, or plain. */
  clientTls: { mode: 'ISTIO_MUTUAL'; sni: string } | { mode: 'DISABLE' };
  /** Outlier detection of the local tier. */
  localOutlierDetection: OutlierDetection;
  /**
   * Outlier detection of every remote tier: the local settings plus consecutiveGatewayErrors, since a gateway
   * that answers 502/503/504 (no healthy upstream behind it, upstream connect failure, timeout) means the tier
   * is down, while an application's own 5xx passes through the gateway unchanged.
   */
  remoteOutlierDetection: OutlierDetection;
  panicThreshold: number;
  connectTimeoutNanos: number;
  /**
   * What every child's DestinationRule sets as `connectionPool.tcp.connectTimeout` (proto3-JSON duration). The
   * aggregate's own connect_timeout is never used by Envoy: each child connects with its own.
   */
  connectTimeout: string;
  /** `exportTo` of every emitted ServiceEntry, DestinationRule and VirtualService (explicit, never the mesh default). */
  exportTo: string[];
  clientSelector?: Record<string, string>;
}

function localTier(t: Tier, fs: FailoverService, profile: Profile, serviceHostName: string, s: Interner): LocalTier {
  const selector = t.workload.spec.selector;
  const chosen = choosePort(fs, t.workload);
  if (!selector || Object.keys(selector).length === 0 || !profile.workloadSelectorServiceEntry || !('port' in chosen)) return { host: serviceHostName };
  const p = chosen.port;
  const protocol = normalizeProtocol(p.protocol);
  // A named targetPort is resolved by istiod from the pods' container port of the same name (it looks the
  // ServiceEntry port's name up in each pod's ports first), so the ServiceEntry port takes that name.
  const port =
    typeof p.targetPort === 'string'
      ? { name: p.targetPort, number: p.number, protocol }
      : p.targetPort !== undefined && p.targetPort !== p.number
        ? { name: p.name, number: p.number, protocol, targetPort: p.targetPort }
        : { name: p.name, number: p.number, protocol };
  return { host: s(localTierHost(t.serviceName, t.serviceNamespace)), dedicated: { objectName: s(localRuleName(t.serviceName)), selector: { ...selector }, port } };
}

function target(t: Tier, fs: FailoverService, s: Interner): ClusterTarget {
  const spec = t.cluster.spec;
  const profile = profileFor(spec.istio?.version) as Profile;
  const host = s(serviceHost(t.serviceName, t.serviceNamespace, spec.clusterDomain ?? DEFAULTS.clusterDomain));
  return {
    clusterName: t.clusterName,
    cluster: t.cluster,
    profile,
    serviceName: t.serviceName,
    serviceNamespace: t.serviceNamespace,
    localHost: host,
    rootNamespace: spec.istio?.rootNamespace ?? DEFAULTS.rootNamespace,
    localTier: localTier(t, fs, profile, host, s),
  };
}

type Gateway = NonNullable<MeshCluster['spec']['gateway']>;

/**
 * The gateway ports one FailoverService uses in a receiving cluster: what other clusters dial, and the gateway
 * Service port the Gateway server names (istiod resolves it to the Service's targetPort). Istio mTLS goes
 * through the main entrance; plain HTTP through `gateway.http`, never the HTTPS port.
 */
export function gatewayPorts(gw: Gateway, tlsMode: 'ISTIO_MUTUAL' | 'DISABLE'): { dial: number; server: number } {
  if (tlsMode === 'DISABLE' && gw.http) return { dial: gw.http.port, server: gw.http.servicePort ?? gw.http.port };
  return { dial: gw.port, server: gw.servicePort ?? gw.listenPort ?? gw.port };
}

type Interner = (s: string) => string;

/** Equal strings made for one plan, one string. */
function interner(): Interner {
  const seen = new Map<string, string>();
  return (x) => {
    const hit = seen.get(x);
    if (hit !== undefined) return hit;
    seen.set(x, x);
    return x;
  };
}

/** Builds the plan of a FailoverService whose checks reported no error. */
export function buildPlan(ctx: FailoverContext): FailoverPlan {
  const ts = tiers(ctx);
  const primary = ts[0] as Tier;
  const chosen = choosePort(ctx.fs, primary.workload) as { port: WorkloadPort };
  const spec = ctx.fs.spec;
  const s = interner();
  const targets = ts.map((t) => target(t, ctx.fs, s));
  const port = { name: chosen.port.name, number: chosen.port.number, protocol: normalizeProtocol(chosen.port.protocol) };
  const tlsMode = spec.tls?.mode ?? DEFAULTS.tlsMode;
  // A tier seen as remote is the same for every client (one object, shared by their views), and so is the name of
  // its Envoy cluster: a plan held for each of 10,000 services does not repeat them per client.
  const remotes = new Map<ClusterTarget, RemoteTier>();
  const remote = (t: ClusterTarget): RemoteTier => {
    let r = remotes.get(t);
    if (r) return r;
    const gw = t.cluster.spec.gateway as NonNullable<MeshCluster['spec']['gateway']>;
    r = {
      target: t,
      host: remoteHost(primary.serviceName, primary.serviceNamespace, t.clusterName),
      objectName: remoteObjectName(primary.serviceName, t.clusterName),
      gatewayAddress: gw.address,
      gatewayPort: gatewayPorts(gw, tlsMode).dial,
    };
    remotes.set(t, r);
    return r;
  };
  const outbound = (host: string): string => s(outboundCluster(port.number, host));
  const clients = targets.map((local): ClientView => {
    const remotes = targets.filter((t) => t !== local).map(remote);
    return { local, remotes, children: [outbound(local.localTier.host), ...remotes.map((r) => outbound(r.host))] };
  });
  const clientOnly = clientOnlyClusters(ctx).map((c): ClientOnlyView => {
    const spec = c.cluster.spec;
    const local: ClientSide = {
      clusterName: c.clusterName,
      cluster: c.cluster,
      profile: profileFor(spec.istio?.version) as Profile,
      serviceNamespace: c.namespace,
      rootNamespace: spec.istio?.rootNamespace ?? DEFAULTS.rootNamespace,
    };
    const remotes = targets.map(remote);
    return { workload: c.key, local, remotes, children: remotes.map((r) => outbound(r.host)) };
  });
  const od = spec.outlierDetection ?? {};
  const globalHost = spec.hostname ?? defaultGlobalHost(primary.serviceName, primary.serviceNamespace);
  const duration = (v: string | undefined, d: string) => protoDuration(parseDurationNanos(v ?? d) ?? (parseDurationNanos(d) as number));
  const local: OutlierDetection = {
    consecutive5xxErrors: od.consecutive5xxErrors ?? DEFAULTS.outlierDetection.consecutive5xxErrors,
    ...(od.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayErrors: od.consecutiveGatewayErrors } : {}),
    interval: duration(od.interval, DEFAULTS.outlierDetection.interval),
    baseEjectionTime: duration(od.baseEjectionTime, DEFAULTS.outlierDetection.baseEjectionTime),
    maxEjectionPercent: od.maxEjectionPercent ?? DEFAULTS.outlierDetection.maxEjectionPercent,
  };
  const connectTimeoutNanos = parseDurationNanos(spec.connectTimeout ?? DEFAULTS.connectTimeout) ?? 1e9;
  return {
    ref: ctx.ref,
    fs: ctx.fs,
    globalHost,
    address: spec.address ?? '',
    port,
    servicePorts: [{ name: port.name, number: port.number, protocol: port.protocol }],
    primaryService: { name: primary.serviceName, namespace: primary.serviceNamespace },
    targets,
    clients,
    clientOnly,
    tlsMode,
    clientTls: tlsMode === 'ISTIO_MUTUAL' ? { mode: 'ISTIO_MUTUAL', sni: globalHost } : { mode: 'DISABLE' },
    localOutlierDetection: local,
    remoteOutlierDetection: { ...local, consecutiveGatewayErrors: od.consecutiveGatewayErrors ?? DEFAULTS.remoteConsecutiveGatewayErrors },
    panicThreshold: spec.panicThreshold ?? DEFAULTS.panicThreshold,
    connectTimeoutNanos,
    connectTimeout: protoDuration(connectTimeoutNanos),
    exportTo: [...DEFAULTS.exportTo],
    ...(spec.clientSelector && Object.keys(spec.clientSelector).length > 0 ? { clientSelector: spec.clientSelector } : {}),
  };
}
