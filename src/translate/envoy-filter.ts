/**
 * The EnvoyFilter that replaces the global host's cluster with an Envoy aggregate cluster: the local service
 * first (a client-only cluster has none), then each remote in order. It lives in Istio's root namespace so every proxy in the mesh that may call
 * the global host gets it (narrowed by spec.clientSelector). REMOVE then ADD of the same name is how Istio
 * replaces a cluster; the added cluster gets none of Istio's defaults, so its panic threshold is set here.
 */
import type { KubeObject } from '../api/types.ts';
import type { ClientBase, FailoverPlan } from '../model/plan.ts';
import { istioObject, outlineObject } from './meta.ts';
import type { ClusterMeta } from './meta.ts';
import { envoyFilterName, outboundCluster } from '../model/naming.ts';
import { protoDuration } from '../model/duration.ts';

/** Istio's own default for every circuit-breaker threshold of its clusters (math.MaxUint32). */
const UNLIMITED = 4294967295;

/**
 * The aggregate cluster. Circuit breaking happens in the children, except max_retries, which Envoy checks
 * against the cluster the route names, the aggregate: its default of 3 concurrent retries would turn every retry
 * beyond the third into an overflow under load. It is lifted as Istio lifts it on its own clusters.
 */
export function aggregateCluster(plan: FailoverPlan, client: ClientBase): Record<string, unknown> {
  return {
    name: outboundCluster(plan.port.number, plan.globalHost),
    connect_timeout: protoDuration(plan.connectTimeoutNanos),
    lb_policy: 'CLUSTER_PROVIDED',
    common_lb_config: { healthy_panic_threshold: { value: plan.panicThreshold } },
    circuit_breakers: { thresholds: [{ max_connections: UNLIMITED, max_pending_requests: UNLIMITED, max_requests: UNLIMITED, max_retries: UNLIMITED }] },
    cluster_type: { name: 'envoy.clusters.aggregate', typed_config: client.local.profile.aggregateTypedConfig(client.children) },
  };
}

export function envoyFilter(plan: FailoverPlan, client: ClientBase, meta: ClusterMeta): KubeObject {
  const l = client.local;
  if (meta.outline) return outlineObject(l.profile.envoyFilterApiVersion, 'EnvoyFilter', envoyFilterName(plan.globalHost), l.rootNamespace);
  const name = outboundCluster(plan.port.number, plan.globalHost);
  const configPatches = [
    { applyTo: 'CLUSTER', match: { context: 'ANY', cluster: { name } }, patch: { operation: 'REMOVE' } },
    { applyTo: 'CLUSTER', match: { context: 'ANY', cluster: { name } }, patch: { operation: 'ADD', value: aggregateCluster(plan, client) } },
  ];
  const spec = plan.clientSelector ? { workloadSelector: { labels: plan.clientSelector }, configPatches } : { configPatches };
  return istioObject(l.profile.envoyFilterApiVersion, 'EnvoyFilter', envoyFilterName(plan.globalHost), l.rootNamespace, meta, 'client', undefined, spec);
}
