/**
 * xDS for the data-plane harness as istiod built it: the aggregate and its children are taken from the
 * oracle's answer for a client sidecar (test/support/oracle.ts), not rebuilt from the rendered objects, and
 * served to gRPC's xDS client next to the harness's listener and route.
 *
 * Adaptations (each reported in `adaptations`), all about what gRPC implements, none about failover:
 * - TLS is dropped (transportSocket / transportSocketMatches): the stand-in backends speak plaintext and
 *   the harness has no SDS; the oracle tests pin the TLS itself.
 * - Istio's cluster network filters (istio.metadata_exchange) are dropped: gRPC has no cluster filters.
 * - A child with an lb_policy gRPC lacks (istiod's LEAST_REQUEST) gets load_balancing_policy round_robin;
 *   the aggregate's CLUSTER_PROVIDED gets [cluster_provided, round_robin], as snapshot.ts does.
 * - EDS addresses of the local tier's pods are replaced by the local stand-in backend, keeping istiod's
 *   localities, priorities, weights and health; remote tiers already dial the gateways on loopback.
 */
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { ProxyXds } from '../support/oracle.ts';
import type { BackendAddress, Snapshot } from './snapshot.ts';

const CLUSTER_PROVIDED_URL = 'type.googleapis.com/envoy.extensions.load_balancing_policies.cluster_provided.v3.ClusterProvided';
const ROUND_ROBIN_URL = 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';
const policy = (name: string, url: string) => ({ typedExtensionConfig: { name, typedConfig: { '@type': url } } });

export interface IstiodSnapshotOptions {
  /** The aggregate cluster's name (`outbound|<port>||<global host>`). */
  aggregate: string;
  /** Pod IPs of the local tier's EDS, replaced by `localBackend`. */
  localPodIps: string[];
  localBackend: BackendAddress;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** `base` (the harness's snapshot: its listener and route are kept) with the aggregate, children and EDS istiod built. */
export function snapshotFromIstiod(x: ProxyXds, base: Snapshot, opts: IstiodSnapshotOptions): Snapshot {
  const adaptations: string[] = [];
  const names = [opts.aggregate, ...x.aggregateChildren(opts.aggregate)];
  const clusters = names.map((name) => {
    const c = clone(x.cluster(name)) as JsonObject;
    for (const k of ['transportSocket', 'transportSocketMatches', 'filters']) {
      if (c[k] !== undefined) {
        delete c[k];
        adaptations.push(`${name}: dropped ${k}`);
      }
    }
    if (c.loadBalancingPolicy === undefined) {
      if (c.lbPolicy === 'CLUSTER_PROVIDED') {
        c.loadBalancingPolicy = { policies: [policy('envoy.load_balancing_policies.cluster_provided', CLUSTER_PROVIDED_URL), policy('envoy.load_balancing_policies.round_robin', ROUND_ROBIN_URL)] };
        adaptations.push(`${name}: added load_balancing_policy [cluster_provided, round_robin]`);
      } else if (c.lbPolicy !== undefined && c.lbPolicy !== 'ROUND_ROBIN') {
        c.loadBalancingPolicy = { policies: [policy('envoy.load_balancing_policies.round_robin', ROUND_ROBIN_URL)] };
        adaptations.push(`${name}: lb_policy ${String(c.lbPolicy)} served as load_balancing_policy round_robin`);
      }
    }
    return c;
  });
  const local = new Set(opts.localPodIps);
  const endpoints = names.flatMap((name) => {
    const cla = x.endpoints.find((e) => e.clusterName === name);
    if (!cla) return [];
    const copy = clone(cla) as JsonObject;
    for (const le of (copy.endpoints as JsonValue[] | undefined) ?? []) {
      for (const e of ((le as JsonObject).lbEndpoints as JsonValue[] | undefined) ?? []) {
        const sa = (((e as JsonObject).endpoint as JsonObject).address as JsonObject).socketAddress as JsonObject;
        if (local.has(String(sa.address))) {
          sa.address = opts.localBackend.address;
          sa.portValue = opts.localBackend.port;
        }
      }
      // Istio's per-endpoint metadata names the pod; gRPC does not read it.
    }
    return [copy];
  });
  return { ...base, clusters, endpoints, clusterNames: names, adaptations };
}
