/** Names, labels and ports shared by the install and register manifests (pure: no I/O). */

export const DEFAULT_NAMESPACE = 'spillway-system';
/** The image `docker build -t spillway:0.1.0 .` produces; no image is published, so pass --image for a registry. */
export const DEFAULT_IMAGE = 'spillway:0.1.0';
export const DEFAULT_REPLICAS = 2;

export const CONTROLLER_NAME = 'spillway-controller';
export const MEMBER_NAME = 'spillway-member';
/** The controller serves Prometheus metrics at `/metrics` on this port. */
export const METRICS_PORT = 8080;

/** Data key of the kubeconfig in a cluster's Secret (see MeshCluster `spec.kubeconfigSecret`). */
export const KUBECONFIG_KEY = 'kubeconfig';

/** Istio's root namespace unless a MeshCluster says otherwise (`spec.istio.rootNamespace`). */
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';

export const ISTIO_GROUP = 'networking.istio.io';
/** Istio kinds the controller applies and prunes in member clusters (plural resource names). */
export const ISTIO_RESOURCES = ['destinationrules', 'envoyfilters', 'gateways', 'serviceentries', 'virtualservices'] as const;

export function baseLabels(component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'spillway',
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'spillway',
  };
}

export function secretNameFor(cluster: string): string {
  return `${cluster}-kubeconfig`;
}
