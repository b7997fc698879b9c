/**
 * The receiving side's Gateway: a server for the global host that terminates exactly what client sidecars
 * originate (Istio mTLS with SNI = the global host, or plain HTTP). Its port is a port of the gateway's
 * Kubernetes Service, which istiod translates to that Service port's targetPort; plain HTTP has an entrance of
 * its own (gateway.http), since it cannot share a listener with HTTPS servers.
 */
import type { KubeObject } from '../api/types.ts';
import type { ClusterTarget, FailoverPlan } from '../model/plan.ts';
import { gatewayPorts } from '../model/plan.ts';
import { istioObject, outlineObject } from './meta.ts';
import type { ClusterMeta } from './meta.ts';
import { gatewayName } from '../model/naming.ts';
import { DEFAULTS } from '../model/context.ts';

export function receivingGateway(plan: FailoverPlan, t: ClusterTarget, meta: ClusterMeta): KubeObject {
  if (meta.outline) return outlineObject(t.profile.networkingApiVersion, 'Gateway', gatewayName(plan.primaryService.name), t.serviceNamespace);
  const gw = t.cluster.spec.gateway!;
  const port = gatewayPorts(gw, plan.tlsMode).server;
  const server =
    plan.tlsMode === 'ISTIO_MUTUAL'
      ? { port: { number: port, name: `https-spillway-${port}`, protocol: 'HTTPS' }, hosts: [plan.globalHost], tls: { mode: 'ISTIO_MUTUAL' } }
      : { port: { number: port, name: `http-spillway-${port}`, protocol: 'HTTP' }, hosts: [plan.globalHost] };
  return istioObject(t.profile.networkingApiVersion, 'Gateway', gatewayName(plan.primaryService.name), t.serviceNamespace, meta, 'receiver', undefined, {
    selector: { ...(gw.selector ?? DEFAULTS.gatewaySelector) },
    servers: [server],
  });
}
