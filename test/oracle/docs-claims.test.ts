/**
 * Claims the docs make about what istiod does with Spillway's objects, each checked on istiod's own translation
 * (README "Which proxies get the aggregate", docs/how-failover-works.md "Panic threshold on an
 * EnvoyFilter-added cluster").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { at, runOracle } from '../support/oracle.ts';
import type { ProxyXds } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, loadExample, member } from './mesh.ts';
import { renderedAggregates } from './pins.ts';

const SEED = loadExample('seed.yaml');
const SERVICE_CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';

const withSpec = (extra: Record<string, unknown>): unknown[] =>
  SEED.map((d) => ((d as { kind?: string }).kind === 'FailoverService' ? { ...(d as object), spec: { ...(d as { spec: object }).spec, ...extra } } : d));

/** healthy_panic_threshold of a cluster as a number (proto3 JSON drops a 0 value: `{}` is 0), undefined when unset. */
function panic(x: ProxyXds, name: string): number | undefined {
  const p = at(x.cluster(name), 'commonLbConfig', 'healthyPanicThreshold');
  if (p === undefined) return undefined;
  const v = at(p, 'value');
  return v === undefined ? 0 : Number(v);
}

describe('oracle: what the docs say istiod does', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  it("the aggregate's panic threshold is Spillway's own: istiod adds none to an EnvoyFilter-added cluster", { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m0 = member(SEED, 'cluster1');
    const m50 = member(withSpec({ panicThreshold: 50 }), 'cluster1');
    const [r0, r50] = await Promise.all([runOracle(m0.input), runOracle(m50.input)]);
    const agg = renderedAggregates(m0.rendered)[0];
    assert.ok(agg);
    const x0 = r0.proxy(m0.client);
    const x50 = r50.proxy(m50.client);
    assert.equal(panic(x0, agg.name), 0, JSON.stringify(at(x0.cluster(agg.name), 'commonLbConfig')));
    assert.equal(panic(x50, agg.name), 50, 'spec.panicThreshold reaches the aggregate unchanged');
    // The children are istiod's own clusters: istiod sets their threshold (0 here, as the docs say), and
    // a FailoverService's panicThreshold never touches them.
    for (const child of agg.children) {
      assert.equal(panic(x0, child), 0, child);
      assert.equal(panic(x50, child), 0, child);
    }
    // This istiod sends unhealthy endpoints by default (PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS), and so sets 0
    // even on a cluster no DestinationRule gives outlier detection: the Service's own.
    assert.equal(x0.outlierDetection(SERVICE_CLUSTER), undefined);
    assert.equal(panic(x0, SERVICE_CLUSTER), 0);
  });

  it('a proxy that never calls the host carries the aggregate and every tier with its endpoints; clientSelector narrows only the aggregate', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const all = member(SEED, 'cluster1');
    const narrowed = member(withSpec({ clientSelector: { app: 'sleep' } }), 'cluster1');
    const [a, n] = await Promise.all([runOracle(all.input), runOracle(narrowed.input)]);
    const agg = renderedAggregates(all.rendered)[0];
    assert.ok(agg);
    // The receiving gateway never calls the global host, yet gets everything.
    const gw = a.proxy(all.gateway);
    assert.deepEqual(gw.aggregateChildren(agg.name), agg.children);
    for (const child of agg.children) assert.ok(gw.endpoints.some((e) => e.clusterName === child), `${all.gateway}: no endpoints for ${child}`);
    // clientSelector: the client (app: sleep) keeps the aggregate, the gateway gets the plain ServiceEntry
    // cluster instead, but the tiers' ServiceEntries (and so their clusters) stay visible mesh-wide.
    assert.deepEqual(n.proxy(narrowed.client).aggregateChildren(agg.name), agg.children);
    const gwn = n.proxy(narrowed.gateway);
    assert.notEqual(at(gwn.cluster(agg.name), 'clusterType', 'name'), 'envoy.clusters.aggregate', JSON.stringify(gwn.cluster(agg.name)));
    for (const child of agg.children) assert.ok(gwn.findCluster(child), `${narrowed.gateway}: ${child} is gone too`);
  });
});
