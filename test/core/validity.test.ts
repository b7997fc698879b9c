/**
 * Every object Spillway renders, across profiles, TLS modes and cluster counts, is valid for the real Istio 1.30
 * CRD schema of its apiVersion and kind (closed: a misspelled field fails), and every EnvoyFilter ADD value parses
 * strictly as an envoy.config.cluster.v3.Cluster over Envoy's own protos, typed config included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../src/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { validateIstioObject } from '../support/istio-crds.ts';
import { checkTypedStructPayload, parseEnvoyCluster } from '../support/envoy-proto.ts';
import { addPatch, at, byKind, example, one, scenario } from './fixtures.ts';

const variants: [string, KubeObject[] | ReturnType<typeof example>][] = [
  ['seed example', example('seed.yaml')],
  ['three-cluster example', example('three-clusters.yaml')],
  ['5 clusters, modern', scenario(5)],
  ['3 clusters, Istio 1.20 (v1beta1)', scenario(3, { clusterSpec: () => ({ istio: { version: '1.20' } }) })],
  ['3 clusters, Istio 1.6 (legacy)', scenario(3, { clusterSpec: () => ({ istio: { version: '1.6.14' } }) })],
  ['mixed versions', scenario(3, { clusterSpec: (i) => ({ istio: { version: ['1.7', '1.12', '1.30'][i - 1] } }) })],
  ['plain HTTP, DNS gateways, selector, options', scenario(3, {
    clusterSpec: (i) => ({ gateway: { address: `gw${i}.example.com`, port: 443, servicePort: 443, http: { port: 80 }, selector: { app: 'eastwest' } }, locality: { region: 'r1', zone: `z${i}` } }),
    fsSpec: { tls: { mode: 'DISABLE' }, hostname: 'reviews.default.global', clientSelector: { app: 'productpage' }, panicThreshold: 0, connectTimeout: '250ms', outlierDetection: { consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, interval: '1s', baseEjectionTime: '30s', maxEjectionPercent: 100 } },
  })],
];

for (const [name, docs] of variants) {
  test(`${name}: every object is valid against the Istio CRD bundle and every aggregate parses as an Envoy Cluster`, () => {
    const r = render(docs);
    assert.deepEqual(r.messages.filter((m) => m.level === 'error'), []);
    let objects = 0;
    let filters = 0;
    for (const [cluster, objs] of Object.entries(r.clusters)) {
      for (const o of objs) {
        objects++;
        assert.deepEqual(validateIstioObject(o), [], `${cluster} ${o.apiVersion} ${o.kind} ${o.metadata.name}`);
        if (o.kind !== 'EnvoyFilter') continue;
        filters++;
        const value = addPatch(o);
        const parsed = parseEnvoyCluster(value);
        assert.ok(parsed.ok, `${cluster} ${o.metadata.name}: ${parsed.ok ? '' : parsed.error}`);
        const tc = at(value, 'cluster_type', 'typed_config') as Record<string, unknown>;
        if (tc['@type'] === 'type.googleapis.com/udpa.type.v1.TypedStruct') {
          const inner = checkTypedStructPayload(tc);
          assert.ok(inner.ok, inner.ok ? '' : inner.error);
        }
      }
    }
    assert.ok(objects > 0 && filters > 0);
  });
}

test('profiles pick API versions and aggregate config by each cluster\'s Istio version', () => {
  const r = render(scenario(3, { clusterSpec: (i) => ({ istio: { version: ['1.7', '1.12', '1.30'][i - 1] } }) }));
  const expect = { c1: 'networking.istio.io/v1alpha3', c2: 'networking.istio.io/v1beta1', c3: 'networking.istio.io/v1' } as const;
  for (const [c, v] of Object.entries(expect)) {
    const objs = r.clusters[c] ?? [];
    for (const o of objs) assert.equal(o.apiVersion, o.kind === 'EnvoyFilter' ? 'networking.istio.io/v1alpha3' : v, `${c} ${o.kind}`);
  }
  const legacy = at(addPatch(byKind(r.clusters.c1 ?? [], 'EnvoyFilter')[0]!), 'cluster_type', 'typed_config');
  assert.deepEqual(legacy, {
    '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
    type_url: 'type.googleapis.com/envoy.config.cluster.aggregate.v2alpha.ClusterConfig',
    value: { clusters: ['outbound|9080||reviews.default.svc.cluster.local', 'outbound|9080||reviews-remote-c2.default.global', 'outbound|9080||reviews-remote-c3.default.global'] },
  });
});

test('a strict check has teeth: a misspelled field fails the CRD schema and the Envoy parse', () => {
  const r = render(scenario(2));
  const dr = structuredClone(one(r.clusters.c1 ?? [], 'DestinationRule', 'reviews-remote-c2'));
  (dr.spec as { trafficPolicy: Record<string, unknown> }).trafficPolicy.outlierDetecton = {};
  assert.ok(validateIstioObject(dr).some((i) => i.path.includes('outlierDetecton')));
  const value = structuredClone(addPatch(one(r.clusters.c1 ?? [], 'EnvoyFilter', 'reviews-global.default.global')));
  value.lb_polcy = 'CLUSTER_PROVIDED';
  assert.equal(parseEnvoyCluster(value).ok, false);
});
