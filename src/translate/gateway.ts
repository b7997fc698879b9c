/**
 * The receiving side's Gateway: a server on the gateway's listen port for the global host that terminates
 * exactly what client sidecars originate (Istio mTLS with SNI = the global host, or plain HTTP).
 */
import type { KubeObject } from '../api/types.ts';
import type { ClusterTarget, FailoverPlan } from '../model/plan.ts';
import { istioObject } from './meta.ts';
import type { ClusterMeta } from './meta.ts';
import { gatewayName } from '../model/naming.ts';
import { DEFAULTS } from '../model/context.ts';

export function receivingGateway(plan: FailoverPlan, t: ClusterTarget, meta: ClusterMeta): KubeObject {
  const gw = t.cluster.spec.gateway!;
  const listenPort = gw.listenPort ?? gw.port;
  const server =
    plan.tlsMode === 'ISTIO_MUTUAL'
      ? { port: { number: listenPort, name: `https-spillway-${listenPort}`, protocol: 'HTTPS' }, hosts: [plan.globalHost], tls: { mode: 'ISTIO_MUTUAL' } }
      : { port: { number: listenPort, name: `http-spillway-${listenPort}`, protocol: 'HTTP' }, hosts: [plan.globalHost] };
  return istioObject(t.profile.networkingApiVersion, 'Gateway', gatewayName(plan.globalHost), t.serviceNamespace, meta, meta.receiver, {
    selector: { ...(gw.selector ?? DEFAULTS.gatewaySelector) },
    servers: [server],
  });
}
