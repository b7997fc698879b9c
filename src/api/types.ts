/**
 * Spillway's input resources (apiVersion `spillway.dev/v1alpha1`) and the shape of what it emits.
 * The OpenAPI schemas in `schemas.ts` are the single source of truth for validation and for the CRDs;
 * these types describe the same objects after validation and defaulting.
 */

export const GROUP = 'spillway.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
}

/** Any Kubernetes object: what Spillway reads and what it emits. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface MeshClusterSpec {
  /** The ingress (east-west) gateway that other clusters dial to reach this one. Required for a cluster that receives spill-over. */
  gateway?: {
    /** IP address or DNS name other clusters dial. */
    address: string;
    /** Port other clusters dial (the LoadBalancer port, or a NodePort such as 32000). */
    port: number;
    /**
     * Port of the gateway's Kubernetes Service that carries this traffic (443 on the common charts): what the
     * Gateway server names. istiod looks it up among the Service's ports and listens on its targetPort.
     * @default `listenPort`, else `port`
     */
    servicePort?: number;
    /** Deprecated: the gateway pod's port, written as is (istiod uses a number no Service port has as a container port). Use `servicePort`. */
    listenPort?: number;
    /**
     * The plain-HTTP entrance, needed by FailoverServices with `tls.mode: DISABLE`: a plain-HTTP server cannot
     * share a port with HTTPS servers (Spillway's own, or the cluster's public HTTPS ingress).
     */
    http?: {
      /** Port other clusters dial for plain HTTP. */
      port: number;
      /** The gateway Service's plain-HTTP port (80 on the common charts). @default `port` */
      servicePort?: number;
    };
    /** Labels selecting the gateway proxy pods. @default {istio: ingressgateway} */
    selector?: Record<string, string>;
  };
  istio?: {
    /** Istio minor version of this cluster's control plane (`1.22`, `1.7.8`); selects the output profile. @default modern (1.22+) */
    version?: string;
    /** Istio's root namespace, where mesh-wide EnvoyFilters live. @default istio-system */
    rootNamespace?: string;
  };
  /** Kubernetes cluster DNS domain. @default cluster.local */
  clusterDomain?: string;
  /** Network name (informational; endpoints are never tagged with it, see docs). */
  network?: string;
  locality?: { region?: string; zone?: string; subzone?: string };
  /** Secret holding this cluster's kubeconfig (data key `kubeconfig`); absent = the management cluster itself. */
  kubeconfigSecret?: { name: string; namespace?: string };
}

export interface MeshCluster extends KubeObject {
  kind: 'MeshCluster';
  spec: MeshClusterSpec;
  status?: Record<string, unknown>;
}

export interface WorkloadPort {
  name: string;
  number: number;
  protocol: string;
  /** The Service port's targetPort: the pods' port number, or the name of their container port. @default `number` */
  targetPort?: number | string;
}

export interface MeshWorkloadSpec {
  cluster: string;
  service: { name: string; namespace?: string };
  ports: WorkloadPort[];
  /**
   * The Service's pod selector (its `spec.selector`). With it the local tier is a host of its own that selects
   * these pods, so its health settings reach only failover traffic; without it they go on the Service host.
   */
  selector?: Record<string, string>;
}

export interface MeshWorkload extends KubeObject {
  kind: 'MeshWorkload';
  spec: MeshWorkloadSpec;
}

export interface OutlierDetectionSpec {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
}

export interface FailoverServiceSpec {
  /** MeshWorkload names (in this namespace, or `namespace/name`) in priority order. */
  meshWorkloads: string[];
  /** Port to fail over (number or name); required when the workloads expose several ports. */
  port?: number | string;
  /** The global host clients call. @default `<service>-global.<namespace>.global` of the first workload */
  hostname?: string;
  /** Virtual IP for the global host (pins it); by default one is derived from the hostname in 240.0.0.0/4. */
  address?: string;
  /** TLS between a client sidecar and a remote gateway. @default ISTIO_MUTUAL */
  tls?: { mode?: 'ISTIO_MUTUAL' | 'DISABLE' };
  outlierDetection?: OutlierDetectionSpec;
  /** Envoy panic threshold (percent) on the aggregate cluster. @default 0 (never route to a tier without healthy hosts) */
  panicThreshold?: number;
  /** Connect timeout of the aggregate cluster. @default 1s */
  connectTimeout?: string;
  /** Only proxies whose pods carry these labels receive the aggregate cluster. @default every proxy in the mesh */
  clientSelector?: Record<string, string>;
}

export interface FailoverService extends KubeObject {
  kind: 'FailoverService';
  spec: FailoverServiceSpec;
  status?: Record<string, unknown>;
}

/**
 * Lets FailoverServices of other namespaces use MeshWorkloads (and Services) of this namespace, the way Gateway
 * API's ReferenceGrant does: without one, a FailoverService may use only its own namespace's workloads.
 */
export interface MeshWorkloadGrantSpec {
  /** Namespaces whose FailoverServices may use this namespace's MeshWorkloads. */
  from: { namespace: string }[];
  /** Only these MeshWorkloads (names in this namespace); absent means every MeshWorkload here. */
  meshWorkloads?: string[];
}

export interface MeshWorkloadGrant extends KubeObject {
  kind: 'MeshWorkloadGrant';
  spec: MeshWorkloadGrantSpec;
}

export type SpillwayInput = MeshCluster | MeshWorkload | FailoverService | MeshWorkloadGrant;

/** Labels every emitted object carries, so a controller can prune exactly what it owns. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'spillway';
export const LABEL_CLUSTER = 'spillway.dev/cluster';
export const LABEL_OWNER_NAME = 'spillway.dev/failover-service';
export const LABEL_OWNER_NAMESPACE = 'spillway.dev/failover-service-namespace';
/** Annotation on emitted objects: the role the object plays (`client` or `receiver`). */
export const ANNOTATION_ROLE = 'spillway.dev/role';
/** Annotation on a remote tier's ServiceEntry and DestinationRule: the cluster it leads to. */
export const ANNOTATION_REMOTE_CLUSTER = 'spillway.dev/remote-cluster';
