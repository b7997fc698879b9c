/**
 * xDS data-plane harness: drives gRPC's own xDS client (@grpc/grpc-js-xds) with the xDS resources an
 * Istio sidecar would get from Spillway's rendered objects, against stand-in backends on loopback.
 *
 *   const world = await startWorld({ clusters: ['cluster1', 'cluster2'], client: 'cluster1' });
 *   await world.caller.waitForIdentity('cluster1', 5000);  // local tier serves
 *   world.backend('cluster1').kill();                      // local pod dies
 *   await world.caller.waitForIdentity('cluster2', 5000);  // spilled over to cluster2's gateway
 *   await world.close();
 *
 * Each cluster has one stand-in backend answering with the cluster's name. It is both the cluster's own
 * service pod (the local tier, seen from a client in that cluster) and the cluster's ingress gateway
 * (the remote tier, seen from the others): MeshCluster gateways are rendered as 127.0.0.1:<its port>.
 *
 * Pieces, usable on their own: AdsServer (ads-server.ts), snapshotFromRendered (snapshot.ts),
 * Backend / IdentityCaller (backends.ts).
 */
import type { ChannelOptions } from '@grpc/grpc-js';
import { render } from '../../src/index.ts';
import { AdsServer } from './ads-server.ts';
import { Backend, IdentityCaller, startClientWorker } from './backends.ts';
import { snapshotFromRendered } from './snapshot.ts';
import type { LocalHealth, RenderedObject, Snapshot } from './snapshot.ts';

export { AdsServer, encodeResources } from './ads-server.ts';
export type { EncodedResource, Nack, XdsResources } from './ads-server.ts';
export { Backend, IdentityCaller, startClientWorker } from './backends.ts';
export type { CallResult } from './backends.ts';
export { snapshotFromRendered, translateOutlierDetection, clusterName } from './snapshot.ts';
export type { RenderedObject, Snapshot, SnapshotOptions, LocalService, LocalHealth, BackendAddress } from './snapshot.ts';

/** Channel option carrying a per-channel bootstrap (so clients with different bootstraps share a process). */
export const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

export const SERVICE = { name: 'reviews', namespace: 'default', port: 9080, portName: 'http1' } as const;
export const GLOBAL_HOST = `${SERVICE.name}-global.${SERVICE.namespace}.global`;
export const LOCAL_HOST = `${SERVICE.name}.${SERVICE.namespace}.svc.cluster.local`;
/** The local tier's own host (a ServiceEntry selecting the Service's pods), the aggregate's first child. */
export const LOCAL_TIER_HOST = `${SERVICE.name}-local.${SERVICE.namespace}.global`;
/** The xds:/// target a client uses: the API listener name `<global host>:<port>`. */
export const TARGET = `xds:///${GLOBAL_HOST}:${SERVICE.port}`;

/** Spillway inputs: one MeshCluster + MeshWorkload per cluster, one FailoverService in the given order. */
export function failoverInputs(clusters: readonly { name: string; gatewayPort: number; istioVersion?: string }[]): unknown[] {
  const docs: unknown[] = [];
  for (const c of clusters) {
    docs.push({
      apiVersion: 'spillway.dev/v1alpha1',
      kind: 'MeshCluster',
      metadata: { name: c.name },
      spec: { gateway: { address: '127.0.0.1', port: c.gatewayPort }, ...(c.istioVersion ? { istio: { version: c.istioVersion } } : {}) },
    });
    docs.push({
      apiVersion: 'spillway.dev/v1alpha1',
      kind: 'MeshWorkload',
      metadata: { name: `${SERVICE.name}-${c.name}`, namespace: SERVICE.namespace },
      spec: {
        cluster: c.name,
        service: { name: SERVICE.name, namespace: SERVICE.namespace },
        ports: [{ name: SERVICE.portName, number: SERVICE.port, protocol: 'HTTP' }],
        selector: { app: SERVICE.name },
      },
    });
  }
  docs.push({
    apiVersion: 'spillway.dev/v1alpha1',
    kind: 'FailoverService',
    metadata: { name: SERVICE.name, namespace: SERVICE.namespace },
    spec: {
      meshWorkloads: clusters.map((c) => `${SERVICE.name}-${c.name}`),
      outlierDetection: { consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '10s' },
    },
  });
  return docs;
}

/** Renders the inputs with Spillway's real renderer; returns one cluster's objects as plain JSON. Throws on error messages. */
export function renderFor(docs: unknown[], cluster: string): RenderedObject[] {
  const result = render(docs);
  const errors = result.messages.filter((m) => m.level === 'error');
  if (errors.length > 0) throw new Error(`render reported errors: ${JSON.stringify(errors)}`);
  const objs = result.clusters[cluster];
  if (!objs) throw new Error(`render produced nothing for ${cluster}`);
  return JSON.parse(JSON.stringify(objs)) as RenderedObject[];
}

/**
 * Client channel settings that matter for failover/failback timing. Reconnect backoff bounds how soon a
 * restored local backend is noticed (gRPC only fails back once the local subchannel reconnects).
 */
export interface ClientTuning {
  /** grpc.initial_reconnect_backoff_ms. @default 100 */
  initialReconnectBackoffMs?: number;
  /** grpc.max_reconnect_backoff_ms. @default 500 */
  maxReconnectBackoffMs?: number;
}

export function channelOptions(bootstrap: string, tuning: ClientTuning = {}): ChannelOptions {
  return {
    [BOOTSTRAP_OPTION]: bootstrap,
    'grpc.initial_reconnect_backoff_ms': tuning.initialReconnectBackoffMs ?? 100,
    'grpc.max_reconnect_backoff_ms': tuning.maxReconnectBackoffMs ?? 500,
  };
}

export interface WorldOptions {
  /** Cluster names in failover priority order (FailoverService.meshWorkloads order). */
  clusters: string[];
  /** The cluster whose client is exercised. */
  client: string;
  /** MeshCluster spec.istio.version for every cluster (selects Spillway's output profile). @default modern */
  istioVersion?: string;
  /** Edits the rendered objects before they become xDS (for teeth tests). */
  mutate?: (objects: RenderedObject[]) => void;
  tuning?: ClientTuning;
  /** ADS server debug log. */
  log?: (line: string) => void;
}

export interface World {
  ads: AdsServer;
  caller: IdentityCaller;
  rendered: RenderedObject[];
  snapshot: Snapshot;
  backend(cluster: string): Backend;
  /** Republishes xDS with the local endpoints' EDS health changed (not-ready pods: UNHEALTHY, or DROPPED on the dedicated host). */
  setLocalHealth(health: LocalHealth): Snapshot;
  close(): Promise<void>;
}

export async function startWorld(opts: WorldOptions): Promise<World> {
  const backends = new Map<string, Backend>();
  let ads: AdsServer | undefined;
  let caller: IdentityCaller | undefined;
  const close = async () => {
    await caller?.close();
    await ads?.close();
    for (const b of backends.values()) b.kill();
  };
  try {
    startClientWorker();
    for (const c of opts.clusters) backends.set(c, await Backend.start(c));
    const docs = failoverInputs(opts.clusters.map((name) => ({ name, gatewayPort: backends.get(name)!.port, ...(opts.istioVersion ? { istioVersion: opts.istioVersion } : {}) })));
    const rendered = renderFor(docs, opts.client);
    opts.mutate?.(rendered);
    const local = backends.get(opts.client);
    if (!local) throw new Error(`client cluster ${opts.client} is not among ${opts.clusters.join(', ')}`);
    const build = (health: LocalHealth) =>
      snapshotFromRendered(rendered, {
        local: { host: LOCAL_HOST, port: SERVICE.port, endpoints: [{ address: local.address, port: local.port }], health },
      });
    let snapshot = build('HEALTHY');
    ads = await AdsServer.start(opts.log ? { log: opts.log } : {});
    const server = ads;
    server.setResources(snapshot);
    caller = new IdentityCaller(TARGET, channelOptions(server.bootstrap(`sidecar~127.0.0.1~client.${opts.client}~default.svc.cluster.local`), opts.tuning));
    return {
      ads: server,
      caller,
      rendered,
      get snapshot() {
        return snapshot;
      },
      backend(cluster: string) {
        const b = backends.get(cluster);
        if (!b) throw new Error(`no backend for ${cluster}`);
        return b;
      },
      setLocalHealth(health: LocalHealth) {
        snapshot = build(health);
        server.setResources(snapshot);
        return snapshot;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
