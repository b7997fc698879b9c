import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate } from '../../src/simulate/simulate.ts';
import type { ClientResult, SimulationResult } from '../../src/simulate/simulate.ts';
import { rendered } from './fixtures.ts';

const tiers = (r: ClientResult | undefined) => r?.tiers.map((t) => [t.cluster, t.percent]);
const result = (s: SimulationResult, client: string) => s.results.find((r) => r.client === client);
const codes = (s: SimulationResult) => [...new Set(s.warnings.map((w) => w.code))].sort();

test('all healthy: each client keeps 100% local, tiers in aggregate order, no warnings', () => {
  const s = simulate(rendered(['cluster1', 'cluster2']));
  assert.deepEqual(s.results.map((r) => [r.failoverService, r.client]), [['default/reviews', 'cluster1'], ['default/reviews', 'cluster2']]);
  assert.deepEqual(tiers(result(s, 'cluster1')), [['cluster1', 100], ['cluster2', 0]]);
  assert.deepEqual(tiers(result(s, 'cluster2')), [['cluster2', 100], ['cluster1', 0]]);
  assert.deepEqual(s.warnings, []);
});

test('local 1 of 2 healthy -> 70/30; 2 of 3 -> 93/7; local down -> 0/100', () => {
  assert.deepEqual(tiers(result(simulate(rendered(['cluster1', 'cluster2']), { cluster1: { healthy: 1, total: 2 } }), 'cluster1')), [['cluster1', 70], ['cluster2', 30]]);
  assert.deepEqual(tiers(result(simulate(rendered(['cluster1', 'cluster2']), { cluster1: { healthy: 2, total: 3 } }), 'cluster1')), [['cluster1', 93], ['cluster2', 7]]);
  const down = simulate(rendered(['cluster1', 'cluster2']), { cluster1: { healthy: 0, total: 3 } });
  assert.deepEqual(tiers(result(down, 'cluster1')), [['cluster1', 0], ['cluster2', 100]]);
  // cluster2's view of cluster1 is its gateway: failing once no instance is healthy; cluster2 keeps its own traffic.
  assert.deepEqual(tiers(result(down, 'cluster2')), [['cluster2', 100], ['cluster1', 0]]);
  assert.equal(result(down, 'cluster1')?.failingPercent, 0);
});

test('three clusters: remote tiers map to the cluster behind each gateway, in order', () => {
  const r = simulate(rendered(['cluster1', 'cluster2', 'cluster3']), { cluster1: { healthy: 0, total: 2 }, cluster2: { healthy: 0, total: 1 } });
  assert.deepEqual(tiers(result(r, 'cluster1')), [['cluster1', 0], ['cluster2', 0], ['cluster3', 100]]);
  assert.deepEqual(result(r, 'cluster1')?.tiers.map((t) => t.role), ['local', 'remote', 'remote']);
  // From cluster3 everything stays local.
  assert.deepEqual(tiers(result(r, 'cluster3')), [['cluster3', 100], ['cluster1', 0], ['cluster2', 0]]);
});

test('a remote with some healthy instance counts as one healthy gateway endpoint', () => {
  const r = simulate(rendered(['cluster1', 'cluster2']), { cluster1: { healthy: 1, total: 4 }, cluster2: { healthy: 1, total: 10 } });
  // local health floor(140/4)=35, remote gateway 1/1 -> 100: 35/65.
  assert.deepEqual(tiers(result(r, 'cluster1')), [['cluster1', 35], ['cluster2', 65]]);
});

test('everything down with panic threshold 0: no healthy upstream, all 0, SIM004', () => {
  const r = simulate(rendered(['cluster1', 'cluster2']), { cluster1: { healthy: 0, total: 2 }, cluster2: { healthy: 0, total: 2 } });
  const c1 = result(r, 'cluster1');
  assert.equal(c1?.noHealthyUpstream, true);
  assert.deepEqual(tiers(c1), [['cluster1', 0], ['cluster2', 0]]);
  assert.equal(c1?.failingPercent, 100);
  assert.ok(r.warnings.some((w) => w.code === 'SIM004' && w.message.includes('cluster1')));
});

test('panic threshold absent on the aggregate (Envoy default 50): total panic sends traffic to a dead tier, SIM003', () => {
  const objs = rendered(['cluster1', 'cluster2'], { commonLbConfig: null });
  // Local 1 of 4 healthy (25% < 50), cluster2 dead: both levels in panic -> split by host count 4:1.
  const r = simulate(objs, { cluster1: { healthy: 1, total: 4 }, cluster2: { healthy: 0, total: 3 } });
  const c1 = result(r, 'cluster1');
  assert.equal(c1?.panicThreshold, 50);
  assert.equal(c1?.totalPanic, true);
  assert.deepEqual(tiers(c1), [['cluster1', 80], ['cluster2', 20]]);
  assert.equal(c1?.failingPercent, 20);
  const w = r.warnings.find((x) => x.code === 'SIM003');
  assert.ok(w, 'SIM003 expected');
  assert.match(w.message, /20% of requests go to cluster2/);
  // The same health with the rendered threshold 0: all traffic stays on the healthy local pod.
  const safe = simulate(rendered(['cluster1', 'cluster2']), { cluster1: { healthy: 1, total: 4 }, cluster2: { healthy: 0, total: 3 } });
  assert.deepEqual(tiers(result(safe, 'cluster1')), [['cluster1', 100], ['cluster2', 0]]);
  assert.ok(!safe.warnings.some((x) => x.code === 'SIM003'));
});

test('panic threshold is read from the rendered aggregate (30 -> a 1/3 healthy level is not in panic)', () => {
  const objs = rendered(['cluster1', 'cluster2'], { commonLbConfig: { healthy_panic_threshold: { value: 30 } } });
  const r = simulate(objs, { cluster1: { healthy: 1, total: 3 }, cluster2: { healthy: 0, total: 1 } });
  const c1 = result(r, 'cluster1');
  assert.equal(c1?.panicThreshold, 30);
  assert.equal(c1?.totalPanic, false);
  assert.deepEqual(tiers(c1), [['cluster1', 100], ['cluster2', 0]]);
});

test('missing outlier detection on the remote: SIM001, and a dead remote keeps its spill-over share (black hole, SIM006)', () => {
  const objs = rendered(['cluster1', 'cluster2'], { outlierDetection: null, localOutlierDetection: { consecutive5xxErrors: 5, maxEjectionPercent: 100 } });
  const r = simulate(objs, { cluster1: { healthy: 1, total: 2 }, cluster2: { healthy: 0, total: 2 } });
  const c1 = result(r, 'cluster1');
  // Envoy never ejects cluster2's gateway, so it still looks healthy and takes 30%.
  assert.deepEqual(tiers(c1), [['cluster1', 70], ['cluster2', 30]]);
  assert.equal(c1?.tiers[1]?.seenHealthy, 1);
  assert.equal(c1?.failingPercent, 30);
  assert.ok(r.warnings.some((w) => w.code === 'SIM001' && w.message.includes('reviews-remote.default.global')));
  assert.ok(r.warnings.some((w) => w.code === 'SIM006' && w.message.includes('30% of requests go to cluster2')));
});

test('missing outlier detection on the local service: failing local pods are never ejected, no spill-over', () => {
  const objs = rendered(['cluster1', 'cluster2'], { localOutlierDetection: null });
  const r = simulate(objs, { cluster1: { healthy: 1, total: 4 } });
  const c1 = result(r, 'cluster1');
  assert.deepEqual(tiers(c1), [['cluster1', 100], ['cluster2', 0]]);
  assert.equal(c1?.failingPercent, 75);
  assert.ok(r.warnings.some((w) => w.code === 'SIM001' && w.message.includes('reviews.default.svc.cluster.local')));
});

test('maxEjectionPercent absent: Envoy default 10% cannot eject a single gateway or a 3-pod service (SIM002)', () => {
  const od = { consecutive5xxErrors: 5, interval: '5s', baseEjectionTime: '30s' };
  const r = simulate(rendered(['cluster1', 'cluster2'], { outlierDetection: od }), { cluster1: { healthy: 1, total: 3 }, cluster2: { healthy: 0, total: 1 } });
  const sim002 = r.warnings.filter((w) => w.code === 'SIM002');
  assert.ok(sim002.some((w) => w.message.includes('reviews-remote.default.global') && w.message.includes('absent')));
  assert.ok(sim002.some((w) => w.message.includes('reviews.default.svc.cluster.local') && w.message.includes('3 host(s)')));
  // Nothing is ejected: Envoy sees the local level fully healthy and sends everything there.
  assert.deepEqual(tiers(result(r, 'cluster1')), [['cluster1', 100], ['cluster2', 0]]);
  // With 20 local pods the default 10% ejects 2: 17 of 20 failing leaves 18 seen healthy -> 100% local still.
  const big = simulate(rendered(['cluster1', 'cluster2'], { outlierDetection: od }), { cluster1: { healthy: 3, total: 20 } });
  assert.equal(result(big, 'cluster1')?.tiers[0]?.seenHealthy, 18);
  assert.ok(!big.warnings.some((w) => w.code === 'SIM002' && w.message.includes('in cluster1') && w.message.includes('svc.cluster.local')));
});

test('maxEjectionPercent 50 ejects one of two pods but not one of one gateway', () => {
  const od = { consecutive5xxErrors: 5, maxEjectionPercent: 50 };
  const r = simulate(rendered(['cluster1', 'cluster2'], { outlierDetection: od }), { cluster1: { healthy: 1, total: 2 } });
  assert.deepEqual(tiers(result(r, 'cluster1')), [['cluster1', 70], ['cluster2', 30]]);
  assert.ok(r.warnings.some((w) => w.code === 'SIM002' && w.message.includes('reviews-remote') && w.message.includes('needs >= 100')));
  assert.ok(!r.warnings.some((w) => w.code === 'SIM002' && w.message.includes('in cluster1') && w.message.includes('svc.cluster.local')));
  // cluster2's size is not given: one pod is assumed, which 50% cannot eject, and the warning says so.
  assert.ok(r.warnings.some((w) => w.code === 'SIM002' && w.message.includes('in cluster2') && w.message.includes('svc.cluster.local') && w.message.includes('assumed')));
});

test('outlier detection with every trigger disabled: SIM005', () => {
  const r = simulate(rendered(['cluster1', 'cluster2'], { outlierDetection: { consecutive5xxErrors: 0, maxEjectionPercent: 100 } }));
  assert.deepEqual(codes(r), ['SIM005']);
});

test('legacy TypedStruct aggregate config is read too', () => {
  const r = simulate(rendered(['cluster1', 'cluster2'], { legacy: true }), { cluster1: { healthy: 1, total: 2 } });
  assert.deepEqual(tiers(result(r, 'cluster1')), [['cluster1', 70], ['cluster2', 30]]);
});

test('a client-only cluster sees only remote tiers', () => {
  const r = simulate(rendered(['cluster1', 'cluster2'], { clientsOnly: ['edge'] }), { cluster1: { healthy: 0, total: 1 } });
  assert.deepEqual(tiers(result(r, 'edge')), [['cluster1', 0], ['cluster2', 100]]);
});

test('local tier with no ready endpoint (0/0) vanishes from the aggregate', () => {
  const r = simulate(rendered(['cluster1', 'cluster2'], { commonLbConfig: null }), { cluster1: { healthy: 0, total: 0 } });
  const c1 = result(r, 'cluster1');
  assert.deepEqual(tiers(c1), [['cluster1', 0], ['cluster2', 100]]);
  assert.equal(c1?.totalPanic, false);
});

test('remote tiers are named through gateway addresses when the host does not say', () => {
  // Two remotes render `-remote-<cluster>` hosts; rename the clusters in the address map to prove it is used.
  const objs = rendered(['a', 'b'], { gatewayAddress: (c) => (c === 'a' ? '10.0.0.1' : 'gw.b.example') });
  const fromMap = simulate(objs, {}, { gatewayAddresses: { 'gw.b.example:32000': 'b' } });
  assert.deepEqual(tiers(result(fromMap, 'a')), [['a', 100], ['b', 0]]);
  // Without the map the single-remote host falls back to the only other receiving cluster.
  assert.deepEqual(tiers(result(simulate(objs), 'a')), [['a', 100], ['b', 0]]);
});

test('unresolvable remote: SIM007 and the tier keeps its host name', () => {
  const objs = rendered(['cluster1', 'cluster2', 'cluster3']);
  // Drop every receiver object and rename the remote hosts so nothing identifies the clusters.
  for (const o of objs['cluster1'] ?? []) {
    if (o.kind === 'ServiceEntry' && o.metadata.name.startsWith('reviews-remote-')) {
      const spec = o['spec'] as { hosts: string[] };
      spec.hosts = spec.hosts.map((h) => h.replace('reviews-remote-', 'mystery-'));
    }
    if (o.kind === 'EnvoyFilter') {
      const text = JSON.stringify(o['spec']).replaceAll('reviews-remote-', 'mystery-');
      o['spec'] = JSON.parse(text) as unknown;
    }
  }
  const r = simulate(objs);
  assert.ok(r.warnings.some((w) => w.code === 'SIM007'));
  assert.deepEqual(tiers(result(r, 'cluster1')), [['cluster1', 100], ['mystery-cluster2.default.global', 0], ['mystery-cluster3.default.global', 0]]);
});

test('results are sorted by FailoverService then client', () => {
  const a = rendered(['c2', 'c1'], { service: 'ratings' });
  const b = rendered(['c2', 'c1'], { service: 'details', namespace: 'shop' });
  const merged: typeof a = {};
  for (const k of ['c2', 'c1']) merged[k] = [...(a[k] ?? []), ...(b[k] ?? [])];
  const r = simulate(merged);
  assert.deepEqual(r.results.map((x) => `${x.failoverService}@${x.client}`), ['default/ratings@c1', 'default/ratings@c2', 'shop/details@c1', 'shop/details@c2']);
});

test('an EnvoyFilter without an aggregate, or an aggregate without children: SIM008, no result', () => {
  const objs = rendered(['cluster1', 'cluster2']);
  for (const o of objs['cluster1'] ?? []) {
    if (o.kind !== 'EnvoyFilter') continue;
    const patches = (o['spec'] as { configPatches: { patch: { value?: { cluster_type: { typed_config: { clusters: string[] } } } } }[] }).configPatches;
    const added = patches[1]?.patch.value;
    if (added) added.cluster_type.typed_config.clusters = [];
  }
  for (const o of objs['cluster2'] ?? []) if (o.kind === 'EnvoyFilter') (o['spec'] as { configPatches: unknown[] }).configPatches = [];
  const r = simulate(objs);
  assert.deepEqual(r.results, []);
  assert.ok(r.warnings.some((w) => w.code === 'SIM008' && w.message.includes('in cluster1') && w.message.includes('no child clusters')));
  assert.ok(r.warnings.some((w) => w.code === 'SIM008' && w.message.includes('in cluster2') && w.message.includes('adds no aggregate')));
});

test('a ServiceEntry with a workloadSelector is the local tier (the client cluster\'s own pods), not a remote', () => {
  const s = simulate(rendered(['cluster1', 'cluster2'], { dedicatedLocalHost: true }), { cluster1: { healthy: 1, total: 2 } });
  const c1 = result(s, 'cluster1');
  assert.deepEqual(c1?.tiers.map((t) => [t.cluster, t.role, t.host, t.percent]), [
    ['cluster1', 'local', 'reviews-local.default.global', 70],
    ['cluster2', 'remote', 'reviews-remote.default.global', 30],
  ]);
  assert.deepEqual(s.warnings, []);
});

test('a local rule that leaves locality load balancing on: SIM009 (Istio splits the tier per zone)', () => {
  const s = simulate(rendered(['cluster1', 'cluster2'], { localityOn: true }));
  assert.deepEqual(codes(s), ['SIM009']);
  assert.ok(s.warnings[0]?.message.includes('localityLbSetting.enabled: false'));
  assert.deepEqual(codes(simulate(rendered(['cluster1', 'cluster2']))), []);
});
