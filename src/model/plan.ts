/**
 * A FailoverService that passed its checks, resolved into everything translation needs: hosts, port,
 * per-cluster targets and defaulted options. Translation reads only plans, never raw input.
 */
import type { FailoverService, MeshCluster, WorkloadPort } from '../api/types.ts';
import type { FailoverContext, Tier } from './context.ts';
import { DEFAULTS, choosePort, normalizeProtocol, tiers } from './context.ts';
import { profileFor } from './profile.ts';
import type { Profile } from './profile.ts';
import { defaultGlobalHost, outboundCluster, remoteHost, remoteObjectName, serviceHost } from './naming.ts';
import { parseDurationNanos } from './duration.ts';

export interface ClusterTarget {
  clusterName: string;
  cluster: MeshCluster;
  profile: Profile;
  serviceName: string;
  serviceNamespace: string;
  /** The Kubernetes Service host in this cluster, e.g. reviews.default.svc.cluster.local. */
  localHost: string;
  rootNamespace: string;
}

export interface RemoteTier {
  target: ClusterTarget;
  /** Host (and object name) this client uses for that remote cluster. */
  host: string;
  objectName: string;
  gatewayAddress: string;
  gatewayPort: number;
}

export interface ClientView {
  local: ClusterTarget;
  /** Remote tiers in failover order. */
  remotes: RemoteTier[];
  /** Envoy cluster names of the aggregate's children, local first. */
  children: string[];
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
  /** The ServiceEntry ports list, shared by every ServiceEntry of the plan. */
  servicePorts: { name: string; number: number; protocol: string }[];
  tlsMode: 'ISTIO_MUTUAL' | 'DISABLE';
  /** What client sidecars originate towards remote gateways: Istio mTLS with SNI = the global host, or plain. */
  clientTls: { mode: 'ISTIO_MUTUAL'; sni: string } | { mode: 'DISABLE' };
  outlierDetection: { consecutive5xxErrors: number; consecutiveGatewayErrors?: number; interval: string; baseEjectionTime: string; maxEjectionPercent: number };
  panicThreshold: number;
  connectTimeoutNanos: number;
  clientSelector?: Record<string, string>;
}

function target(t: Tier): ClusterTarget {
  const spec = t.cluster.spec;
  return {
    clusterName: t.clusterName,
    cluster: t.cluster,
    profile: profileFor(spec.istio?.version) as Profile,
    serviceName: t.serviceName,
    serviceNamespace: t.serviceNamespace,
    localHost: serviceHost(t.serviceName, t.serviceNamespace, spec.clusterDomain ?? DEFAULTS.clusterDomain),
    rootNamespace: spec.istio?.rootNamespace ?? DEFAULTS.rootNamespace,
  };
}

/** Builds the plan of a FailoverService whose checks reported no error. */
export function buildPlan(ctx: FailoverContext): FailoverPlan {
  const ts = tiers(ctx);
  const primary = ts[0] as Tier;
  const chosen = choosePort(ctx.fs, primary.workload) as { port: WorkloadPort };
  const spec = ctx.fs.spec;
  const targets = ts.map(target);
  const remoteCount = targets.length - 1;
  const port = { name: chosen.port.name, number: chosen.port.number, protocol: normalizeProtocol(chosen.port.protocol) };
  const clients = targets.map((local): ClientView => {
    const remotes = targets
      .filter((t) => t !== local)
      .map((t): RemoteTier => {
        const gw = t.cluster.spec.gateway as NonNullable<MeshCluster['spec']['gateway']>;
        return {
          target: t,
          host: remoteHost(primary.serviceName, primary.serviceNamespace, t.clusterName, remoteCount),
          objectName: remoteObjectName(primary.serviceName, t.clusterName, remoteCount),
          gatewayAddress: gw.address,
          gatewayPort: gw.port,
        };
      });
    return { local, remotes, children: [outboundCluster(port.number, local.localHost), ...remotes.map((r) => outboundCluster(port.number, r.host))] };
  });
  const od = spec.outlierDetection ?? {};
  const globalHost = spec.hostname ?? defaultGlobalHost(primary.serviceName, primary.serviceNamespace);
  const tlsMode = spec.tls?.mode ?? DEFAULTS.tlsMode;
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
    tlsMode,
    clientTls: tlsMode === 'ISTIO_MUTUAL' ? { mode: 'ISTIO_MUTUAL', sni: globalHost } : { mode: 'DISABLE' },
    outlierDetection: {
      consecutive5xxErrors: od.consecutive5xxErrors ?? DEFAULTS.outlierDetection.consecutive5xxErrors,
      ...(od.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayErrors: od.consecutiveGatewayErrors } : {}),
      interval: od.interval ?? DEFAULTS.outlierDetection.interval,
      baseEjectionTime: od.baseEjectionTime ?? DEFAULTS.outlierDetection.baseEjectionTime,
      maxEjectionPercent: od.maxEjectionPercent ?? DEFAULTS.outlierDetection.maxEjectionPercent,
    },
    panicThreshold: spec.panicThreshold ?? DEFAULTS.panicThreshold,
    connectTimeoutNanos: parseDurationNanos(spec.connectTimeout ?? DEFAULTS.connectTimeout) ?? 1e9,
    ...(spec.clientSelector && Object.keys(spec.clientSelector).length > 0 ? { clientSelector: spec.clientSelector } : {}),
  };
}
