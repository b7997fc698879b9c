/** The receiving side's VirtualService: bound to the emitted Gateway, routes the global host to the local Service. */
import type { KubeObject } from '../api/types.ts';
import type { ClusterTarget, FailoverPlan } from '../model/plan.ts';
import { istioObject, outlineObject } from './meta.ts';
import type { ClusterMeta } from './meta.ts';
import { gatewayName, virtualServiceName } from '../model/naming.ts';

export function receivingVirtualService(plan: FailoverPlan, t: ClusterTarget, meta: ClusterMeta): KubeObject {
  if (meta.outline) return outlineObject(t.profile.networkingApiVersion, 'VirtualService', virtualServiceName(plan.globalHost), t.serviceNamespace);
  return istioObject(t.profile.networkingApiVersion, 'VirtualService', virtualServiceName(plan.globalHost), t.serviceNamespace, meta, 'receiver', undefined, {
    hosts: [plan.globalHost],
    gateways: [`${t.serviceNamespace}/${gatewayName(plan.primaryService.name)}`],
    http: [{ route: [{ destination: { host: t.localHost, port: { number: plan.port.number } } }] }],
    exportTo: plan.exportTo,
  });
}
