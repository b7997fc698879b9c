/**
 * OpenAPI v3 structural schemas of Spillway's resources: the single source of truth. The analyzer validates
 * input against them and `crds.ts` serves them as the CustomResourceDefinitions' `openAPIV3Schema`.
 */
import type { JSONSchemaProps } from '../schema/structural.ts';

const str = (description: string, extra: Partial<JSONSchemaProps> = {}): JSONSchemaProps => ({ type: 'string', description, ...extra });
const int = (description: string, minimum: number, maximum: number): JSONSchemaProps => ({ type: 'integer', format: 'int32', description, minimum, maximum });
const labelMap = (description: string): JSONSchemaProps => ({ type: 'object', description, additionalProperties: { type: 'string' } });

/** A Go-style duration as Istio and Kubernetes accept it: `5s`, `1m30s`, `250ms`. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$';

const portNumber = (description: string) => int(description, 1, 65535);

const conditions: JSONSchemaProps = {
  type: 'array',
  description: 'Standard Kubernetes conditions.',
  items: {
    type: 'object',
    required: ['type', 'status'],
    properties: {
      type: str('Condition type.'),
      status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
      observedGeneration: { type: 'integer', format: 'int64' },
      lastTransitionTime: str('When the condition last changed.', { format: 'date-time' }),
      reason: str('Machine-readable reason.'),
      message: str('Human-readable message.'),
    },
  },
};

export const meshClusterSchema: JSONSchemaProps = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      description: 'A member cluster of the mesh.',
      properties: {
        gateway: {
          type: 'object',
          description: 'The ingress (east-west) gateway that other clusters dial to reach this one.',
          required: ['address', 'port'],
          properties: {
            address: str('IP address or DNS name other clusters dial.', { minLength: 1, maxLength: 253 }),
            port: portNumber('Port other clusters dial (for example a NodePort such as 32000).'),
            listenPort: portNumber('Port the gateway proxy listens on for this traffic; defaults to `port`.'),
            selector: labelMap('Labels selecting the gateway proxy pods; defaults to {istio: ingressgateway}.'),
          },
        },
        istio: {
          type: 'object',
          properties: {
            version: str('Istio version of this cluster (1.5 or later), e.g. "1.22" or "1.7.8"; selects the output profile.', { pattern: '^1\\.[0-9]+(\\.[0-9]+)?$' }),
            rootNamespace: str('Istio root namespace, where mesh-wide EnvoyFilters live; defaults to istio-system.', { minLength: 1, maxLength: 63 }),
          },
        },
        clusterDomain: str('Kubernetes cluster DNS domain; defaults to cluster.local.', { minLength: 1, maxLength: 253 }),
        network: str('Network name (informational).'),
        locality: {
          type: 'object',
          properties: { region: str('Region.'), zone: str('Zone.'), subzone: str('Subzone.') },
        },
        kubeconfigSecret: {
          type: 'object',
          description: 'Secret with this cluster\'s kubeconfig under data key `kubeconfig`; absent means the management cluster itself.',
          required: ['name'],
          properties: { name: str('Secret name.', { minLength: 1 }), namespace: str('Secret namespace; defaults to the controller\'s.') },
        },
      },
    },
    status: {
      type: 'object',
      properties: {
        observedGeneration: { type: 'integer', format: 'int64' },
        reachable: { type: 'boolean' },
        lastSyncTime: str('Last successful sync.', { format: 'date-time' }),
        lastError: str('Last error talking to this cluster; a refused kubeconfig starts with its code (SPW2xx) and names the field.'),
        credentialsExpireAt: str('When the member credentials (a TokenRequest token) expire, when the token says.', { format: 'date-time' }),
        conditions,
      },
    },
  },
};

export const meshWorkloadSchema: JSONSchemaProps = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      description: 'One instance of a service in one cluster.',
      required: ['cluster', 'service', 'ports'],
      properties: {
        cluster: str('Name of the MeshCluster the service runs in.', { minLength: 1 }),
        service: {
          type: 'object',
          required: ['name'],
          properties: {
            name: str('Kubernetes Service name.', { minLength: 1 }),
            namespace: str('Kubernetes Service namespace; defaults to the MeshWorkload\'s namespace.', { minLength: 1 }),
          },
        },
        ports: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['name', 'number', 'protocol'],
            properties: {
              name: str('Port name.', { minLength: 1 }),
              number: portNumber('Service port.'),
              protocol: str('Istio protocol (HTTP, HTTP2, GRPC, ...), case-insensitive.', { minLength: 1 }),
            },
          },
        },
      },
    },
  },
};

export const failoverServiceSchema: JSONSchemaProps = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      description: 'A service served local-first that spills over to other clusters in order.',
      required: ['meshWorkloads'],
      properties: {
        meshWorkloads: {
          type: 'array',
          description: 'MeshWorkload names (this namespace, or namespace/name), highest priority first.',
          minItems: 1,
          items: { type: 'string', minLength: 1 },
        },
        port: { 'x-kubernetes-int-or-string': true, description: 'Port to fail over (number or name); required for multi-port services.' },
        hostname: str('Global host clients call; defaults to <service>-global.<namespace>.global of the first workload.', { minLength: 1, maxLength: 253 }),
        address: str('Virtual IPv4 address of the global host; defaults to one derived from the hostname in 240.0.0.0/4.'),
        tls: {
          type: 'object',
          properties: { mode: str('TLS from client sidecars to remote gateways; defaults to ISTIO_MUTUAL.', { enum: ['ISTIO_MUTUAL', 'DISABLE'] }) },
        },
        outlierDetection: {
          type: 'object',
          description: 'Passive health checking applied to the local service and to every remote tier.',
          properties: {
            consecutive5xxErrors: int('5xx responses in a row that eject a host; defaults to 10.', 0, 1_000_000),
            consecutiveGatewayErrors: int('502/503/504 responses in a row that eject a host.', 0, 1_000_000),
            interval: str('Time between ejection sweeps; defaults to 5s.', { pattern: DURATION_PATTERN }),
            baseEjectionTime: str('Minimum ejection time, multiplied by the number of ejections; defaults to 120s.', { pattern: DURATION_PATTERN }),
            maxEjectionPercent: int('Largest share of hosts that may be ejected; defaults to 100.', 0, 100),
          },
        },
        panicThreshold: { type: 'number', minimum: 0, maximum: 100, description: 'Envoy panic threshold on the aggregate cluster, percent; defaults to 0.' },
        connectTimeout: str('Connect timeout of the aggregate cluster; defaults to 1s.', { pattern: DURATION_PATTERN }),
        clientSelector: labelMap('Only proxies of pods with these labels get the aggregate cluster; defaults to every proxy.'),
      },
    },
    status: {
      type: 'object',
      properties: {
        observedGeneration: { type: 'integer', format: 'int64' },
        conditions,
        clusters: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            properties: {
              name: str('Cluster name.'),
              roles: { type: 'array', items: { type: 'string', enum: ['client', 'receiver'] } },
              failoverOrder: { type: 'array', items: { type: 'string' }, description: 'Tiers this cluster\'s clients use, in order.' },
              syncState: str('Synced, Pending or Failed.', { enum: ['Synced', 'Pending', 'Failed'] }),
              message: str('Last sync error, if any.'),
            },
          },
        },
      },
    },
  },
};

export interface KindInfo {
  kind: 'MeshCluster' | 'MeshWorkload' | 'FailoverService';
  plural: string;
  namespaced: boolean;
  schema: JSONSchemaProps;
  shortNames: string[];
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'MeshCluster', plural: 'meshclusters', namespaced: false, schema: meshClusterSchema, shortNames: ['mc'] },
  { kind: 'MeshWorkload', plural: 'meshworkloads', namespaced: true, schema: meshWorkloadSchema, shortNames: ['mw'] },
  { kind: 'FailoverService', plural: 'failoverservices', namespaced: true, schema: failoverServiceSchema, shortNames: ['fos'] },
];

export function kindInfo(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}
