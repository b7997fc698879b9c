/** Every name Spillway derives (hosts, Envoy cluster names, object names) is made here and nowhere else. */

/** Envoy's name for Istio's outbound cluster of a host and port (no subset). */
export function outboundCluster(port: number, host: string): string {
  return `outbound|${port}||${host}`;
}

export function serviceHost(name: string, namespace: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

/** The global host clients call: `<service>-global.<namespace>.global` unless overridden. */
export function defaultGlobalHost(serviceName: string, serviceNamespace: string): string {
  return `${serviceName}-global.${serviceNamespace}.global`;
}

/**
 * The host standing for one remote cluster's instances: `<service>-remote-<cluster>.<namespace>.global`, one
 * scheme whatever the number of clusters, so no object is renamed when a cluster joins or leaves (GitOps tools
 * would otherwise delete and recreate every remote tier). Each remote gets its own Envoy cluster.
 */
export function remoteHost(serviceName: string, serviceNamespace: string, remoteCluster: string): string {
  return `${remoteObjectName(serviceName, remoteCluster)}.${serviceNamespace}.global`;
}

export function remoteObjectName(serviceName: string, remoteCluster: string): string {
  return `${serviceName}-remote-${remoteCluster}`;
}

/** The dedicated host of a cluster's local tier, standing for the Service's own pods: `<service>-local.<namespace>.global`. */
export function localTierHost(serviceName: string, serviceNamespace: string): string {
  return `${localRuleName(serviceName)}.${serviceNamespace}.global`;
}

export function globalObjectName(serviceName: string): string {
  return `${serviceName}-global`;
}

export function localRuleName(serviceName: string): string {
  return `${serviceName}-local`;
}

export function envoyFilterName(globalHost: string): string {
  return globalHost;
}

/**
 * The receiving Gateway: `<service>-global-gw`. istiod's validation wants a Gateway's name to be a DNS-1123 label
 * (no dots), unlike every other kind here.
 */
export function gatewayName(serviceName: string): string {
  return `${globalObjectName(serviceName)}-gw`;
}

export function virtualServiceName(globalHost: string): string {
  return `${globalHost}-vs`;
}

/** Input object reference as messages show it: `Kind/namespace/name` or `Kind/name`. */
export function objectRef(kind: string, name: string, namespace?: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}
