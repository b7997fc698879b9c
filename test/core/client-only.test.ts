// A listed cluster whose workload is gone (its MeshWorkload deleted, discovery losing its Service) but that is still
// registered keeps the global host for its own clients: an aggregate of the remaining tiers, all remote, and no
// receiving side (SPW161). Everything else about a missing workload is as before: its tier is left out (SPW127).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render, renderDetailed, RenderCache } from '../../src/index.ts';
import { renderByCluster } from '../../src/core/render.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { at, failoverService, meshCluster, meshWorkload, one, scenario } from './fixtures.ts';

const withoutC3 = (docs: KubeObject[]): KubeObject[] => docs.filter((d) => !(d.kind === 'MeshWorkload' && d.metadata.name === 'reviews-c3'));
const kinds = (objs: readonly KubeObject[]): string[] => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const children = (objs: readonly KubeObject[]): unknown => at(one([...objs], 'EnvoyFilter', 'reviews-global.default.global').spec, 'configPatches', 1, 'patch', 'value', 'cluster_type', 'typed_config', 'clusters');

test('the cluster keeps the global host: an aggregate of the remaining tiers in list order, each remote with TLS/SNI and outlier detection', () => {
  const r = render(withoutC3(scenario(3)));
  assert.deepEqual(r.messages.map((m) => `${m.level} ${m.code}`), ['warning SPW161']);
  assert.match(r.messages[0]!.message, /cluster c3 serves no local tier: its clients keep the global host and spill to c1, c2 through their gateways/);
  const c3 = r.clusters['c3']!;
  assert.deepEqual(kinds(c3), [
    'DestinationRule/reviews-remote-c1',
    'DestinationRule/reviews-remote-c2',
    'EnvoyFilter/reviews-global.default.global',
    'ServiceEntry/reviews-global',
    'ServiceEntry/reviews-remote-c1',
    'ServiceEntry/reviews-remote-c2',
  ], 'client side only: no local tier, no Gateway or VirtualService');
  assert.deepEqual(children(c3), ['outbound|9080||reviews-remote-c1.default.global', 'outbound|9080||reviews-remote-c2.default.global']);
  for (const c of ['c1', 'c2']) {
    const dr = one(c3, 'DestinationRule', `reviews-remote-${c}`);
    assert.deepEqual(at(dr.spec, 'trafficPolicy', 'tls'), { mode: 'ISTIO_MUTUAL', sni: 'reviews-global.default.global' });
    assert.equal(at(dr.spec, 'trafficPolicy', 'outlierDetection', 'consecutiveGatewayErrors'), 5);
  }
  // The global host is the same object as in a cluster that still hosts a tier (same address, same port).
  assert.deepEqual(one(c3, 'ServiceEntry', 'reviews-global').spec, one(r.clusters['c1']!, 'ServiceEntry', 'reviews-global').spec);
  // The remaining clusters no longer fail over to c3, and no longer receive for it.
  assert.deepEqual(children(r.clusters['c1']!), ['outbound|9080||reviews-local.default.global', 'outbound|9080||reviews-remote-c2.default.global']);
  const d = renderDetailed(withoutC3(scenario(3)));
  assert.deepEqual(d.services[0]!.clusters, [
    { name: 'c1', roles: ['client', 'receiver'], failoverOrder: ['c1', 'c2'] },
    { name: 'c2', roles: ['client', 'receiver'], failoverOrder: ['c2', 'c1'] },
    { name: 'c3', roles: ['client'], failoverOrder: ['c1', 'c2'] },
  ]);
});

test('with one tier left, the client-only cluster spills to it, and that tier serves locally (SPW160)', () => {
  const docs = scenario(3).filter((d) => !(d.kind === 'MeshWorkload' && d.metadata.name !== 'reviews-c2'));
  const r = render(docs);
  assert.deepEqual(r.messages.map((m) => m.code).sort(), ['SPW160', 'SPW161', 'SPW161']);
  assert.deepEqual(children(r.clusters['c1']!), ['outbound|9080||reviews-remote-c2.default.global']);
  assert.deepEqual(children(r.clusters['c3']!), ['outbound|9080||reviews-remote-c2.default.global']);
  assert.deepEqual(children(r.clusters['c2']!), ['outbound|9080||reviews-local.default.global']);
});

test('no client-only cluster without a registered cluster behind the name, or for a name discovery does not give', () => {
  // reviews-c9: no MeshCluster c9. checkout: not the Service of any tier. Both: the tier is only left out.
  const docs = [...scenario(2), meshCluster('c3')];
  const fs = failoverService('reviews', ['reviews-c1', 'reviews-c2', 'reviews-c9', 'checkout-c3', 'hand-written']);
  const r = render([...docs.filter((d) => d.kind !== 'FailoverService'), fs]);
  assert.deepEqual(r.messages.map((m) => m.code), ['SPW127', 'SPW127', 'SPW127']);
  assert.deepEqual(r.clusters['c3'], []);
});

test('a cluster that still hosts a tier is not a client-only one; an Istio that cannot take the aggregate gets nothing', () => {
  // reviews-c1x names a registered cluster c1x on Istio 1.8.1 (the aggregate crash, SPW117 for a tier).
  const docs = scenario(2);
  const fs = failoverService('reviews', ['reviews-c1', 'reviews-c2', 'default/reviews-c1x']);
  const r = render([...docs.filter((d) => d.kind !== 'FailoverService'), fs, meshCluster('c1x', { istio: { version: '1.8.1' } })]);
  assert.deepEqual(r.messages.map((m) => m.code), ['SPW127']);
  assert.deepEqual(r.clusters['c1x'], []);
  // reviews-c2 is gone but reviews-x names cluster c2 too: c2 hosts that tier, so it is no client-only cluster.
  const x = meshWorkload('reviews-x', 'c2');
  const again = render([...scenario(2).filter((d) => d.kind !== 'FailoverService' && d.metadata.name !== 'reviews-c2'), x, failoverService('reviews', ['reviews-c1', 'reviews-c2', 'reviews-x'])]);
  assert.deepEqual(again.messages.map((m) => m.code), ['SPW127']);
});

test('one-shot renders (a cluster at a time) and cached renders give the same client-only objects', () => {
  const docs = withoutC3(scenario(3));
  const full = render(docs);
  const byCluster = renderByCluster(docs);
  assert.deepEqual(byCluster.objects('c3'), full.clusters['c3']);
  assert.ok(byCluster.hasObjects('c3'));
  // The cache: the workload comes back, then goes again; each render matches a fresh one.
  const cache = new RenderCache();
  assert.deepEqual(renderDetailed(docs, cache).clusters, full.clusters);
  assert.deepEqual(renderDetailed(scenario(3), cache).clusters, render(scenario(3)).clusters);
  assert.deepEqual(renderDetailed(docs, cache).clusters, full.clusters);
  // The cluster deregistered: c3 is no client any more.
  const gone = docs.filter((d) => !(d.kind === 'MeshCluster' && d.metadata.name === 'c3'));
  assert.deepEqual(renderDetailed(gone, cache).clusters, render(gone).clusters);
  assert.equal(render(gone).clusters['c3'], undefined);
});

test('the client objects go to the missing workload\'s namespace', () => {
  const docs = [meshCluster('c1'), meshCluster('c2'), meshCluster('c3'), meshWorkload('reviews-c1', 'c1', { namespace: 'shop' }), meshWorkload('reviews-c2', 'c2', { namespace: 'shop' })];
  const fs = failoverService('reviews', ['reviews-c1', 'reviews-c2', 'reviews-c3'], {}, { namespace: 'shop' });
  const r = render([...docs, fs]);
  assert.deepEqual(r.messages.map((m) => m.code), ['SPW161']);
  const se = one(r.clusters['c3']!, 'ServiceEntry', 'reviews-global');
  assert.equal(se.metadata.namespace, 'shop');
});
