/**
 * ServiceEntries on the client side: the global host (a virtual IP and a cluster for the EnvoyFilter to replace)
 * and one host per remote cluster whose only endpoint is that cluster's gateway.
 */
import type { KubeObject } from '../api/types.ts';
import type { ClientBase, ClientView, FailoverPlan, RemoteTier } from '../model/plan.ts';
import { istioObject, outlineObject } from './meta.ts';
import type { ClusterMeta } from './meta.ts';
import { globalObjectName } from '../model/naming.ts';
import { isIP } from '../model/address.ts';

export function globalServiceEntry(plan: FailoverPlan, client: ClientBase, meta: ClusterMeta): KubeObject {
  const l = client.local;
  if (meta.outline) return outlineObject(l.profile.networkingApiVersion, 'ServiceEntry', globalObjectName(plan.primaryService.name), l.serviceNamespace);
  return istioObject(l.profile.networkingApiVersion, 'ServiceEntry', globalObjectName(plan.primaryService.name), l.serviceNamespace, meta, 'client', undefined, {
    hosts: [plan.globalHost],
    addresses: [plan.address],
    location: 'MESH_INTERNAL',
    ports: plan.servicePorts,
    // No endpoints: the EnvoyFilter replaces this host's cluster with the aggregate.
    resolution: 'STATIC',
    exportTo: plan.exportTo,
  });
}

/**
 * The local tier's own host: a ServiceEntry selecting the Service's pods. istiod builds its endpoints from the
 * pods of its own cluster's registry that match the selector in this namespace and are ready (not-ready pods
 * leave it instead of staying as unhealthy endpoints), at the pods' port (container port named like the
 * ServiceEntry port, else targetPort, else the port number). No addresses: nothing resolves or calls this host
 * but the aggregate.
 */
export function localServiceEntry(plan: FailoverPlan, client: ClientView, meta: ClusterMeta): KubeObject | undefined {
  const l = client.local;
  const d = l.localTier.dedicated;
  if (!d) return undefined;
  if (meta.outline) return outlineObject(l.profile.networkingApiVersion, 'ServiceEntry', d.objectName, l.serviceNamespace);
  return istioObject(l.profile.networkingApiVersion, 'ServiceEntry', d.objectName, l.serviceNamespace, meta, 'client', undefined, {
    hosts: [l.localTier.host],
    location: 'MESH_INTERNAL',
    ports: [d.port],
    resolution: 'STATIC',
    workloadSelector: { labels: d.selector },
    exportTo: plan.exportTo,
  });
}

/** How a remote tier is reached: the same in every client cluster of a plan. */
interface RemoteEndpoint {
  resolution: 'STATIC' | 'DNS';
  endpoints: { address: string; ports: Record<string, number>; locality?: string }[];
}

/**
 * Per remote tier (a plan's tier is one object shared by its clients' views), made once: every client cluster's
 * ServiceEntry for the tier shares it (rendered objects are read-only, see ClusterMeta).
 */
const remoteEndpoints = new WeakMap<RemoteTier, RemoteEndpoint>();

function remoteEndpoint(plan: FailoverPlan, remote: RemoteTier): RemoteEndpoint {
  let e = remoteEndpoints.get(remote);
  if (e) return e;
  const loc = remote.target.cluster.spec.locality;
  const locality = loc?.region ? [loc.region, loc.zone, loc.subzone].filter((x) => x).join('/') : undefined;
  const ports = { [plan.port.name]: remote.gatewayPort };
  e = {
    // A gateway named by DNS must be resolved by Envoy; an IP needs no resolution.
    resolution: isIP(remote.gatewayAddress) ? 'STATIC' : 'DNS',
    endpoints: [locality ? { address: remote.gatewayAddress, ports, locality } : { address: remote.gatewayAddress, ports }],
  };
  remoteEndpoints.set(remote, e);
  return e;
}

export function remoteServiceEntry(plan: FailoverPlan, client: ClientBase, remote: RemoteTier, meta: ClusterMeta): KubeObject {
  const l = client.local;
  if (meta.outline) return outlineObject(l.profile.networkingApiVersion, 'ServiceEntry', remote.objectName, l.serviceNamespace);
  const { resolution, endpoints } = remoteEndpoint(plan, remote);
  return istioObject(l.profile.networkingApiVersion, 'ServiceEntry', remote.objectName, l.serviceNamespace, meta, 'client', remote.target.clusterName, {
    hosts: [remote.host],
    location: 'MESH_INTERNAL',
    ports: plan.servicePorts,
    resolution,
    endpoints,
    exportTo: plan.exportTo,
  });
}
