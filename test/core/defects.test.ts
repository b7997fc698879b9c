/** Each defect of the design note, pinned by a test that fails if it comes back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../src/index.ts';
import { addPatch, at, byKind, example, one, scenario } from './fixtures.ts';
import { toYaml } from '../../src/cli/output.ts';

const seed = render(example('seed.yaml'));
const c1 = seed.clusters.cluster1 ?? [];

test('defect: duplicated trafficPolicy key: TLS and outlier detection both survive in one trafficPolicy', () => {
  const dr = one(c1, 'DestinationRule', 'reviews-remote-cluster2');
  const tp = at(dr, 'spec', 'trafficPolicy') as Record<string, unknown>;
  assert.deepEqual(Object.keys(tp).sort(), ['connectionPool', 'outlierDetection', 'tls']);
  assert.equal(at(tp, 'tls', 'mode'), 'ISTIO_MUTUAL');
  assert.ok(at(tp, 'outlierDetection', 'consecutive5xxErrors'));
  // And serialized YAML has the key once.
  assert.equal(toYaml(dr).match(/trafficPolicy:/g)?.length, 1);
});

test('defect: VirtualService gateways names the Gateway actually emitted (namespace/name)', () => {
  for (const objs of Object.values(seed.clusters)) {
    const gw = byKind(objs, 'Gateway')[0]!;
    const vs = byKind(objs, 'VirtualService')[0]!;
    assert.deepEqual(at(vs, 'spec', 'gateways'), [`${gw.metadata.namespace}/${gw.metadata.name}`]);
  }
});

test('defect: the Gateway terminates what the client originates (ISTIO_MUTUAL both sides, SNI = served host)', () => {
  const dr = one(c1, 'DestinationRule', 'reviews-remote-cluster2');
  const gw = byKind(seed.clusters.cluster2 ?? [], 'Gateway')[0]!;
  const server = at(gw, 'spec', 'servers', 0) as Record<string, unknown>;
  assert.equal(at(dr, 'spec', 'trafficPolicy', 'tls', 'mode'), 'ISTIO_MUTUAL');
  assert.equal(at(server, 'tls', 'mode'), 'ISTIO_MUTUAL');
  assert.equal(at(server, 'port', 'protocol'), 'HTTPS');
  assert.ok((at(server, 'hosts') as string[]).includes(at(dr, 'spec', 'trafficPolicy', 'tls', 'sni') as string), 'the SNI the client sends is a host the server matches');
  assert.equal(at(server, 'port', 'number'), 443, 'the gateway Service port, not the dialled NodePort');

  const plain = render(scenario(2, { fsSpec: { tls: { mode: 'DISABLE' } }, clusterSpec: (i) => ({ gateway: { address: `192.0.2.${i}`, port: 32000, servicePort: 443, http: { port: 31080, servicePort: 80 } } }) }));
  const pdr = one(plain.clusters.c1 ?? [], 'DestinationRule', 'reviews-remote-c2');
  const pgw = byKind(plain.clusters.c2 ?? [], 'Gateway')[0]!;
  assert.deepEqual(at(pdr, 'spec', 'trafficPolicy', 'tls'), { mode: 'DISABLE' });
  assert.equal(at(pgw, 'spec', 'servers', 0, 'port', 'protocol'), 'HTTP');
  assert.equal(at(pgw, 'spec', 'servers', 0, 'tls'), undefined);
});

test('defect: no stray entry under the endpoint: endpoints are exactly {address, ports}', () => {
  for (const se of byKind(c1, 'ServiceEntry')) {
    for (const ep of (at(se, 'spec', 'endpoints') as Record<string, unknown>[] | undefined) ?? []) {
      assert.deepEqual(Object.keys(ep).sort(), ['address', 'ports']);
    }
  }
});

test('defect: no hard-coded 240.0.0.x: addresses derive from the host, are unique, and stay put when services are added', () => {
  const addressOf = (docs: ReturnType<typeof scenario>, cluster: string, name: string) =>
    (at(one(render(docs).clusters[cluster] ?? [], 'ServiceEntry', name), 'spec', 'addresses') as string[])[0];
  const base = scenario(2);
  const before = addressOf(base, 'c1', 'reviews-global');
  const more = [...base];
  for (let i = 0; i < 50; i++) {
    more.push({ apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkload', metadata: { name: `s${i}-c1`, namespace: 'default' }, spec: { cluster: 'c1', service: { name: `s${i}` }, ports: [{ name: 'http', number: 80, protocol: 'HTTP' }], selector: { app: `s${i}` } } });
    more.push({ apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkload', metadata: { name: `s${i}-c2`, namespace: 'default' }, spec: { cluster: 'c2', service: { name: `s${i}` }, ports: [{ name: 'http', number: 80, protocol: 'HTTP' }], selector: { app: `s${i}` } } });
    more.push({ apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name: `s${i}`, namespace: 'default' }, spec: { meshWorkloads: [`s${i}-c1`, `s${i}-c2`] } });
  }
  const big = render(more);
  assert.deepEqual(big.messages, []);
  assert.equal(addressOf(more, 'c1', 'reviews-global'), before, 'adding 50 services did not move the address');
  const all = byKind(big.clusters.c1 ?? [], 'ServiceEntry').flatMap((se) => (at(se, 'spec', 'addresses') as string[] | undefined) ?? []);
  assert.equal(all.length, 51);
  assert.equal(new Set(all).size, 51, 'all unique');
});

test('defect: outlier detection covers the local service too, not only the remote host', () => {
  const local = one(c1, 'DestinationRule', 'reviews-local');
  assert.equal(at(local, 'spec', 'host'), 'reviews-local.default.global', 'the local tier\'s own host, not the shared Service host');
  assert.ok(at(local, 'spec', 'trafficPolicy', 'outlierDetection'));
  // Every child of the aggregate has a DestinationRule with outlier detection.
  const children = at(addPatch(one(c1, 'EnvoyFilter', 'reviews-global.default.global')), 'cluster_type', 'typed_config', 'clusters') as string[];
  const ruled = new Set(byKind(c1, 'DestinationRule').filter((d) => at(d, 'spec', 'trafficPolicy', 'outlierDetection')).map((d) => `outbound|9080||${String(at(d, 'spec', 'host'))}`));
  for (const child of children) assert.ok(ruled.has(child), `${child} has outlier detection`);
});

test('defect: maxEjectionPercent is always set, so one gateway endpoint or a small service can be ejected', () => {
  for (const dr of byKind(c1, 'DestinationRule')) assert.equal(at(dr, 'spec', 'trafficPolicy', 'outlierDetection', 'maxEjectionPercent'), 100);
  const tuned = render(scenario(2, { fsSpec: { outlierDetection: { maxEjectionPercent: 50 } } }));
  for (const dr of byKind(tuned.clusters.c1 ?? [], 'DestinationRule')) assert.equal(at(dr, 'spec', 'trafficPolicy', 'outlierDetection', 'maxEjectionPercent'), 50);
});

test('defect: the added aggregate does not keep Envoy\'s default 50% panic threshold', () => {
  const value = addPatch(one(c1, 'EnvoyFilter', 'reviews-global.default.global'));
  assert.deepEqual(at(value, 'common_lb_config', 'healthy_panic_threshold'), { value: 0 });
});

test('defect: the aggregate uses the v3 ClusterConfig, not v2alpha wrapped in a TypedStruct (modern profile)', () => {
  const tc = at(addPatch(one(c1, 'EnvoyFilter', 'reviews-global.default.global')), 'cluster_type', 'typed_config') as Record<string, unknown>;
  assert.equal(tc['@type'], 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig');
  assert.equal(tc.type_url, undefined);
});
