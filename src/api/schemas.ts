/**
 * OpenAPI v3 structural schemas of Spillway's resources: the single source of truth. The analyzer validates
 * input against them and `crds.ts` serves them as the CustomResourceDefinitions' `openAPIV3Schema`.
 */
import type { JSONSchemaProps } from '../schema/structural.ts';
import { DNS_1035_LABEL, DNS_LABEL, DNS_SUBDOMAIN, DURATION_RULES, LABEL_KEY, LABEL_KEY_RULE_MESSAGE, LABEL_VALUE, WORKLOAD_REF } from './values.ts';

const str = (description: string, extra: Partial<JSONSchemaProps> = {}): JSONSchemaProps => ({ type: 'string', description, ...extra });
const int = (description: string, minimum: number, maximum: number): JSONSchemaProps => ({ type: 'integer', format: 'int32', description, minimum, maximum });
/**
 * Label selectors: values by pattern, keys (which OpenAPI cannot constrain) by a CEL rule the API server runs,
 * so `kubectl apply` refuses what values.ts refuses at `validate` (`[prefix/]name`, prefix a DNS subdomain of at
 * most 253 characters, name a qualified name of at most 63).
 */
const labelMap = (description: string): JSONSchemaProps => ({
  type: 'object',
  description,
  maxProperties: 64,
  additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE },
  'x-kubernetes-validations': [{ rule: `self.all(k, k.matches(r'${LABEL_KEY}') && k.indexOf('/') <= 253)`, message: LABEL_KEY_RULE_MESSAGE }],
});
/** Names that become parts of hosts, object names, labels or file paths: checked where they enter. */
const dnsLabel = (description: string): JSONSchemaProps => str(description, { minLength: 1, maxLength: 63, pattern: DNS_LABEL });
const dnsSubdomain = (description: string): JSONSchemaProps => str(description, { minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN });
const labelValue = (description: string): JSONSchemaProps => str(description, { maxLength: 63, pattern: LABEL_VALUE });
/**
 * Go-style durations. Their range (at least 1ms, whole milliseconds, within Go's time.Duration) is checked in
 * values.ts with friendlier messages, and by CEL rules the API server runs (a duration past Go's range fails
 * to parse there, which refuses the object too).
 */
const duration = (description: string): JSONSchemaProps => str(description, {
  maxLength: 64,
  pattern: DURATION_PATTERN,
  'x-kubernetes-validations': DURATION_RULES,
});

/**
 * Most clusters one FailoverService may list: its output grows with the square of the count (every client
 * cluster gets a tier for every other), about 3.7 x count times the input, so 32 clusters is 1.3 MB for one service.
 */
export const MAX_FAILOVER_CLUSTERS = 32;

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
      findings: {
        type: 'array',
        description: 'Checked only: the failures and warnings the message lists, as data (docs/messages.md): code, level, cluster, object and the typed params the text is rendered from.',
        items: {
          type: 'object',
          required: ['code', 'level'],
          properties: {
            code: str('The spillway check code (SPC1xx).'),
            level: str('fail or warn.', { enum: ['fail', 'warn'] }),
            cluster: str('The member cluster the finding is about.'),
            clusters: { type: 'array', items: { type: 'string' }, description: 'The clusters a finding about a pair names.' },
            object: str('The object the finding is about (Kind/namespace/name).'),
            params: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'The code\'s parameters (their shape follows the code and its result).' },
          },
        },
      },
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
            servicePort: portNumber('Port of the gateway\'s Kubernetes Service that carries this traffic (443 on the common charts): the Gateway server port, which istiod maps to the Service\'s targetPort; defaults to listenPort, else port.'),
            listenPort: portNumber('Deprecated, use servicePort: the gateway pod\'s port, written into the Gateway as is.'),
            http: {
              type: 'object',
              description: 'The plain-HTTP entrance for FailoverServices with tls.mode DISABLE (a plain-HTTP server never shares the HTTPS port).',
              required: ['port'],
              properties: {
                port: portNumber('Port other clusters dial for plain HTTP.'),
                servicePort: portNumber('The gateway Service\'s plain-HTTP port (80 on the common charts); defaults to port.'),
              },
            },
            selector: labelMap('Labels selecting the gateway proxy pods; defaults to {istio: ingressgateway}.'),
          },
        },
        istio: {
          type: 'object',
          properties: {
            version: str('Istio version of this cluster (1.5 or later), e.g. "1.22" or "1.7.8"; selects the output profile.', { pattern: '^1\\.[0-9]+(\\.[0-9]+)?$' }),
            rootNamespace: dnsLabel('Istio root namespace, where mesh-wide EnvoyFilters live; defaults to istio-system.'),
          },
        },
        clusterDomain: dnsSubdomain('Kubernetes cluster DNS domain; defaults to cluster.local.'),
        network: labelValue('Network name (informational; a label value, as Istio\'s topology.istio.io/network).'),
        locality: {
          type: 'object',
          properties: { region: labelValue('Region.'), zone: labelValue('Zone.'), subzone: labelValue('Subzone.') },
        },
        kubeconfigSecret: {
          type: 'object',
          description: 'Secret with this cluster\'s kubeconfig under data key `kubeconfig`; absent means the management cluster itself.',
          required: ['name'],
          properties: { name: dnsSubdomain('Secret name.'), namespace: dnsLabel('Secret namespace; defaults to the controller\'s.') },
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
        credentialsExpireAt: str('When the member credentials expire: a TokenRequest token\'s exp, or the client certificate\'s notAfter.', { format: 'date-time' }),
        credentialsWarning: str('SPW214 while the credentials expire within the controller\'s warning window (--credential-warning): rotate them.'),
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
        cluster: dnsLabel('Name of the MeshCluster the service runs in.'),
        service: {
          type: 'object',
          required: ['name'],
          properties: {
            name: str('Kubernetes Service name.', { minLength: 1, maxLength: 63, pattern: DNS_1035_LABEL }),
            namespace: dnsLabel('Kubernetes Service namespace; defaults to the MeshWorkload\'s namespace.'),
          },
        },
        ports: {
          type: 'array',
          minItems: 1,
          maxItems: 256,
          items: {
            type: 'object',
            required: ['name', 'number', 'protocol'],
            properties: {
              name: dnsLabel('Port name.'),
              number: portNumber('Service port.'),
              protocol: str('Istio protocol (HTTP, HTTP2, GRPC, ...), case-insensitive.', { minLength: 1, maxLength: 32 }),
              targetPort: { 'x-kubernetes-int-or-string': true, description: 'The Service port\'s targetPort (a pod port number or a container port name); defaults to `number`.' },
            },
          },
        },
        selector: labelMap('The Service\'s pod selector (its spec.selector). With it the local tier is a dedicated host selecting these pods, so its outlier detection reaches only failover traffic and never meets a user\'s DestinationRule for the Service.'),
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
          maxItems: MAX_FAILOVER_CLUSTERS,
          items: { type: 'string', minLength: 1, maxLength: 317, pattern: WORKLOAD_REF },
        },
        port: { 'x-kubernetes-int-or-string': true, maxLength: 63, description: 'Port to fail over (number or name); required for multi-port services.' },
        hostname: str('Global host clients call; defaults to <service>-global.<namespace>.global of the first workload.', { minLength: 1, maxLength: 253 }),
        address: str('Virtual IPv4 address of the global host; defaults to one derived from the hostname in 240.0.0.0/4.', { maxLength: 45 }),
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
            interval: duration('Time between ejection sweeps (at least 1ms); defaults to 5s.'),
            baseEjectionTime: duration('Minimum ejection time (at least 1ms), multiplied by the number of ejections; defaults to 120s.'),
            maxEjectionPercent: int('Largest share of hosts that may be ejected; defaults to 100.', 0, 100),
          },
        },
        panicThreshold: { type: 'number', minimum: 0, maximum: 100, description: 'Envoy panic threshold on the aggregate cluster, percent; defaults to 0.' },
        connectTimeout: duration('Connect timeout of the aggregate cluster (at least 1ms); defaults to 1s.'),
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
              syncState: str('Synced, Pending, Failed, or Unavailable (its workload is gone: left out of the tiers).', { enum: ['Synced', 'Pending', 'Failed', 'Unavailable'] }),
              message: str('Last sync error, if any.'),
            },
          },
        },
        messages: {
          type: 'array',
          description: 'The analyzer\'s messages about this FailoverService, as data (docs/messages.md): code, level, field path, typed params and the text rendered from them.',
          items: {
            type: 'object',
            required: ['code', 'level', 'message'],
            properties: {
              code: str('Stable code, such as SPW127.'),
              level: str('error, warning or info.', { enum: ['error', 'warning', 'info'] }),
              path: str('JSON path of the field the message is about, such as spec.meshWorkloads[2].'),
              params: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'The code\'s parameters (their shape follows the code).' },
              message: str('The text, rendered from params.'),
            },
          },
        },
        serving: {
          type: 'array',
          description: 'Per client cluster: the predicted share of its requests each tier serves, from live endpoints.',
          items: {
            type: 'object',
            required: ['client', 'tiers'],
            properties: {
              client: str('Client cluster.'),
              tiers: {
                type: 'array',
                description: 'Tiers in failover order, the client\'s own cluster first (a client-only cluster, whose workload is gone, has none of its own: remote tiers only).',
                items: {
                  type: 'object',
                  required: ['cluster', 'percent'],
                  properties: {
                    cluster: str('Cluster this tier\'s requests land in.'),
                    percent: { type: 'integer', format: 'int32', minimum: 0, maximum: 100, description: 'Predicted share of the client\'s requests, percent.' },
                    healthy: { type: 'integer', format: 'int32', minimum: 0, description: 'Ready endpoints of the service in that cluster.' },
                    total: { type: 'integer', format: 'int32', minimum: 0, description: 'Endpoints Envoy gets: ready and not ready on the Service host, ready only on the dedicated local host (a ServiceEntry selecting the pods); terminating ones never.' },
                    gatewayReady: { type: 'integer', format: 'int32', minimum: 0, description: 'Remote tiers: ready endpoints of that cluster\'s gateway Service.' },
                  },
                },
              },
              failingPercent: { type: 'number', minimum: 0, maximum: 100, description: 'Share of requests predicted to fail.' },
              lastTransitionTime: str('When these shares last changed.', { format: 'date-time' }),
            },
          },
        },
      },
    },
  },
};

export const meshWorkloadGrantSchema: JSONSchemaProps = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      description: 'Lets FailoverServices of other namespaces use the MeshWorkloads of this namespace (like Gateway API ReferenceGrant).',
      required: ['from'],
      properties: {
        from: {
          type: 'array',
          description: 'Namespaces whose FailoverServices may use MeshWorkloads of this namespace.',
          minItems: 1,
          maxItems: 256,
          items: {
            type: 'object',
            required: ['namespace'],
            properties: { namespace: str('A namespace allowed to reference this namespace\'s MeshWorkloads.', { minLength: 1, maxLength: 63 }) },
          },
        },
        meshWorkloads: {
          type: 'array',
          description: 'Only these MeshWorkloads of this namespace; absent means all of them.',
          maxItems: 1024,
          items: { type: 'string', minLength: 1, maxLength: 253 },
        },
      },
    },
  },
};

export interface KindInfo {
  kind: 'MeshCluster' | 'MeshWorkload' | 'FailoverService' | 'MeshWorkloadGrant';
  plural: string;
  namespaced: boolean;
  schema: JSONSchemaProps;
  shortNames: string[];
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'MeshCluster', plural: 'meshclusters', namespaced: false, schema: meshClusterSchema, shortNames: ['mc'] },
  { kind: 'MeshWorkload', plural: 'meshworkloads', namespaced: true, schema: meshWorkloadSchema, shortNames: ['mw'] },
  { kind: 'FailoverService', plural: 'failoverservices', namespaced: true, schema: failoverServiceSchema, shortNames: ['fos'] },
  { kind: 'MeshWorkloadGrant', plural: 'meshworkloadgrants', namespaced: true, schema: meshWorkloadGrantSchema, shortNames: ['mwg'] },
];

export function kindInfo(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}
