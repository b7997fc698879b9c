/**
 * ServiceEntries on the client side: the global host (a virtual IP and a cluster for the EnvoyFilter to replace)
 * and one host per remote cluster whose only endpoint is that cluster's gateway.
 */
import type { KubeObject } from '../api/types.ts';
import type { ClientView, FailoverPlan, RemoteTier } from './plan.ts';
import { istioObject } from './meta.ts';
import { globalObjectName } from './naming.ts';
import { isIP } from './address.ts';

function ports(plan: FailoverPlan) {
  return [{ name: plan.port.name, number: plan.port.number, protocol: plan.port.protocol }];
}

export function globalServiceEntry(plan: FailoverPlan, client: ClientView): KubeObject {
  const l = client.local;
  return istioObject(l.profile.networkingApiVersion, 'ServiceEntry', globalObjectName(plan.primaryService.name), l.serviceNamespace, plan, l.clusterName, 'client', {
    hosts: [plan.globalHost],
    addresses: [plan.address],
    location: 'MESH_INTERNAL',
    ports: ports(plan),
    // No endpoints: the EnvoyFilter replaces this host's cluster with the aggregate.
    resolution: 'STATIC',
  });
}

export function remoteServiceEntry(plan: FailoverPlan, client: ClientView, remote: RemoteTier): KubeObject {
  const l = client.local;
  const loc = remote.target.cluster.spec.locality;
  const locality = loc?.region ? [loc.region, loc.zone, loc.subzone].filter((x) => x).join('/') : undefined;
  return istioObject(l.profile.networkingApiVersion, 'ServiceEntry', remote.objectName, l.serviceNamespace, plan, l.clusterName, 'client', {
    hosts: [remote.host],
    location: 'MESH_INTERNAL',
    ports: ports(plan),
    // A gateway named by DNS must be resolved by Envoy; an IP needs no resolution.
    resolution: isIP(remote.gatewayAddress) ? 'STATIC' : 'DNS',
    endpoints: [{ address: remote.gatewayAddress, ports: { [plan.port.name]: remote.gatewayPort }, ...(locality ? { locality } : {}) }],
  }, remote.target.clusterName);
}
