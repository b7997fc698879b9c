/**
 * ServiceEntries on the client side: the global host (a virtual IP and a cluster for the EnvoyFilter to replace)
 * and one host per remote cluster whose only endpoint is that cluster's gateway.
 */
import type { KubeObject } from '../api/types.ts';
import type { ClientView, FailoverPlan, RemoteTier } from '../model/plan.ts';
import { istioObject, remoteAnnotations } from './meta.ts';
import type { ClusterMeta } from './meta.ts';
import { globalObjectName } from '../model/naming.ts';
import { isIP } from '../model/address.ts';

export function globalServiceEntry(plan: FailoverPlan, client: ClientView, meta: ClusterMeta): KubeObject {
  const l = client.local;
  return istioObject(l.profile.networkingApiVersion, 'ServiceEntry', globalObjectName(plan.primaryService.name), l.serviceNamespace, meta, meta.client, {
    hosts: [plan.globalHost],
    addresses: [plan.address],
    location: 'MESH_INTERNAL',
    ports: plan.servicePorts,
    // No endpoints: the EnvoyFilter replaces this host's cluster with the aggregate.
    resolution: 'STATIC',
    exportTo: plan.exportTo,
  });
}

export function remoteServiceEntry(plan: FailoverPlan, client: ClientView, remote: RemoteTier, meta: ClusterMeta, annotations: Record<string, string> = remoteAnnotations(remote.target.clusterName)): KubeObject {
  const l = client.local;
  const loc = remote.target.cluster.spec.locality;
  const locality = loc?.region ? [loc.region, loc.zone, loc.subzone].filter((x) => x).join('/') : undefined;
  return istioObject(l.profile.networkingApiVersion, 'ServiceEntry', remote.objectName, l.serviceNamespace, meta, annotations, {
    hosts: [remote.host],
    location: 'MESH_INTERNAL',
    ports: plan.servicePorts,
    // A gateway named by DNS must be resolved by Envoy; an IP needs no resolution.
    resolution: isIP(remote.gatewayAddress) ? 'STATIC' : 'DNS',
    endpoints: [{ address: remote.gatewayAddress, ports: { [plan.port.name]: remote.gatewayPort }, ...(locality ? { locality } : {}) }],
    exportTo: plan.exportTo,
  });
}
