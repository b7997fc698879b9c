/**
 * DestinationRules on the client side. Outlier detection sits on every child of the aggregate: the local
 * service and each remote host (the aggregate's own settings are never used). maxEjectionPercent is always
 * set: since Envoy 1.28 its 10% default is enforced before the first ejection, so a single gateway endpoint or
 * a service with fewer than 10 pods would otherwise never be ejected. The connect timeout is set on every
 * child too: Envoy connects with the child's own timeout (Istio's default 10s), never the aggregate's.
 */
import type { KubeObject } from '../api/types.ts';
import type { ClientBase, ClientView, FailoverPlan, RemoteTier } from '../model/plan.ts';
import { istioObject, outlineObject } from './meta.ts';
import type { ClusterMeta } from './meta.ts';
import { localRuleName } from '../model/naming.ts';

export function remoteDestinationRule(plan: FailoverPlan, client: ClientBase, remote: RemoteTier, meta: ClusterMeta): KubeObject {
  const l = client.local;
  if (meta.outline) return outlineObject(l.profile.networkingApiVersion, 'DestinationRule', remote.objectName, l.serviceNamespace);
  // The client originates what the remote Gateway terminates (plan.clientTls): with Istio mTLS the SNI is the
  // global host, which is the host the remote Gateway's server matches on.
  return istioObject(l.profile.networkingApiVersion, 'DestinationRule', remote.objectName, l.serviceNamespace, meta, 'client', remote.target.clusterName, {
    host: remote.host,
    trafficPolicy: { tls: plan.clientTls, connectionPool: { tcp: { connectTimeout: plan.connectTimeout } }, outlierDetection: plan.remoteOutlierDetection },
    exportTo: plan.exportTo,
  });
}

/**
 * The local tier's rule, on its dedicated host (or the Service host without one). Locality load balancing is
 * off: with outlier detection on, Istio would otherwise split the tier's endpoints into one priority level per
 * region/zone, and the aggregate's levels would no longer be "local, then each remote" as `simulate` computes.
 */
export function localDestinationRule(plan: FailoverPlan, client: ClientView, meta: ClusterMeta): KubeObject {
  const l = client.local;
  if (meta.outline) return outlineObject(l.profile.networkingApiVersion, 'DestinationRule', localRuleName(l.serviceName), l.serviceNamespace);
  return istioObject(l.profile.networkingApiVersion, 'DestinationRule', localRuleName(l.serviceName), l.serviceNamespace, meta, 'client', undefined, {
    host: l.localTier.host,
    trafficPolicy: {
      loadBalancer: { localityLbSetting: { enabled: false } },
      connectionPool: { tcp: { connectTimeout: plan.connectTimeout } },
      outlierDetection: plan.localOutlierDetection,
    },
    exportTo: plan.exportTo,
  });
}
