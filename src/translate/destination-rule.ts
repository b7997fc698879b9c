/**
 * DestinationRules on the client side. Outlier detection sits on every child of the aggregate: the local
 * service and each remote host (the aggregate's own settings are never used). maxEjectionPercent is always
 * set: since Envoy 1.28 its 10% default is enforced before the first ejection, so a single gateway endpoint or
 * a service with fewer than 10 pods would otherwise never be ejected.
 */
import type { KubeObject } from '../api/types.ts';
import type { ClientView, FailoverPlan, RemoteTier } from './plan.ts';
import { istioObject } from './meta.ts';
import { localRuleName } from './naming.ts';

function outlierDetection(plan: FailoverPlan): Record<string, unknown> {
  const od = plan.outlierDetection;
  return {
    consecutive5xxErrors: od.consecutive5xxErrors,
    ...(od.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayErrors: od.consecutiveGatewayErrors } : {}),
    interval: od.interval,
    baseEjectionTime: od.baseEjectionTime,
    maxEjectionPercent: od.maxEjectionPercent,
  };
}

export function remoteDestinationRule(plan: FailoverPlan, client: ClientView, remote: RemoteTier): KubeObject {
  const l = client.local;
  // The client originates what the remote Gateway terminates. With Istio mTLS the SNI is set to the global
  // host, which is the host the remote Gateway's server matches on.
  const tls = plan.tlsMode === 'ISTIO_MUTUAL' ? { mode: 'ISTIO_MUTUAL', sni: plan.globalHost } : { mode: 'DISABLE' };
  return istioObject(l.profile.networkingApiVersion, 'DestinationRule', remote.objectName, l.serviceNamespace, plan, l.clusterName, 'client', {
    host: remote.host,
    trafficPolicy: { tls, outlierDetection: outlierDetection(plan) },
  }, remote.target.clusterName);
}

export function localDestinationRule(plan: FailoverPlan, client: ClientView): KubeObject {
  const l = client.local;
  return istioObject(l.profile.networkingApiVersion, 'DestinationRule', localRuleName(l.serviceName), l.serviceNamespace, plan, l.clusterName, 'client', {
    host: l.localHost,
    trafficPolicy: { outlierDetection: outlierDetection(plan) },
  });
}
