/** Realistic Istio objects of the kind Spillway renders (two remote clusters behind east-west gateways). */

export function destinationRule(apiVersion = 'networking.istio.io/v1'): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'DestinationRule',
    metadata: { name: 'reviews-east', namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'spillway' } },
    spec: {
      host: 'reviews.default.east.global',
      exportTo: ['.'],
      trafficPolicy: {
        connectionPool: {
          tcp: { maxConnections: 100, connectTimeout: '1s' },
          http: { http1MaxPendingRequests: 1024, maxRequestsPerConnection: 0 },
        },
        loadBalancer: { simple: 'ROUND_ROBIN', localityLbSetting: { enabled: false } },
        outlierDetection: {
          consecutive5xxErrors: 3,
          consecutiveGatewayErrors: 3,
          interval: '5s',
          baseEjectionTime: '30s',
          maxEjectionPercent: 100,
        },
        tls: { mode: 'ISTIO_MUTUAL', sni: 'reviews.default.svc.cluster.local' },
      },
      subsets: [{ name: 'v1', labels: { version: 'v1' } }],
    },
  };
}

export function serviceEntry(apiVersion = 'networking.istio.io/v1'): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'ServiceEntry',
    metadata: { name: 'reviews-east', namespace: 'default' },
    spec: {
      hosts: ['reviews.default.east.global'],
      addresses: ['240.0.0.2'],
      location: 'MESH_INTERNAL',
      resolution: 'DNS',
      ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }],
      endpoints: [
        // seed style: ports is a map of port name -> gateway port
        { address: 'east-gw.example.com', ports: { http: 15443 }, labels: { cluster: 'east' }, network: 'east', locality: 'us-east1/us-east1-b' },
      ],
    },
  };
}

export function envoyFilter(apiVersion = 'networking.istio.io/v1alpha3'): Record<string, unknown> {
  const name = 'outbound|9080||reviews-global.default.global';
  return {
    apiVersion,
    kind: 'EnvoyFilter',
    metadata: { name: 'reviews-spillway', namespace: 'default' },
    spec: {
      workloadSelector: { labels: { app: 'productpage' } },
      configPatches: [
        { applyTo: 'CLUSTER', match: { context: 'SIDECAR_OUTBOUND', cluster: { name } }, patch: { operation: 'REMOVE' } },
        {
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND' },
          patch: {
            operation: 'ADD',
            value: {
              name,
              connect_timeout: '1s',
              lb_policy: 'CLUSTER_PROVIDED',
              cluster_type: {
                name: 'envoy.clusters.aggregate',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig',
                  clusters: ['outbound|9080||reviews.default.svc.cluster.local', 'outbound|9080||reviews.default.east.global'],
                },
              },
            },
          },
        },
      ],
    },
  };
}

export function gateway(apiVersion = 'networking.istio.io/v1'): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'Gateway',
    metadata: { name: 'spillway-gateway', namespace: 'istio-system' },
    spec: {
      selector: { istio: 'eastwestgateway' },
      servers: [{ port: { number: 15443, name: 'tls-spillway', protocol: 'HTTPS' }, hosts: ['*.global'], tls: { mode: 'ISTIO_MUTUAL' } }],
    },
  };
}

export function virtualService(apiVersion = 'networking.istio.io/v1'): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'VirtualService',
    metadata: { name: 'reviews-global', namespace: 'istio-system' },
    spec: {
      hosts: ['reviews-global.default.global'],
      gateways: ['istio-system/spillway-gateway'],
      http: [
        {
          name: 'to-local-reviews',
          match: [{ authority: { exact: 'reviews-global.default.global' } }],
          route: [{ destination: { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } }, weight: 100 }],
          timeout: '10s',
          retries: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx,connect-failure' },
        },
      ],
    },
  };
}
