/**
 * What a real mesh does to the failover path, through istiod's own translation: the user's own rules for
 * the service, mesh-wide visibility defaults, pods spread over zones, and the settings that must reach
 * Envoy (connect timeouts on every child, the aggregate's retry budget, gateway errors on remote tiers).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { at, runOracle } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, ZONE_A, ZONE_B, ZONE_C, loadExample, member } from './mesh.ts';
import { checkClients, renderedAggregates } from './pins.ts';

const SEED = loadExample('seed.yaml');
const SERVICE_CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';

/** Bookinfo's mTLS rule for reviews (samples/bookinfo/networking/destination-rule-all-mtls.yaml), short host. */
const BOOKINFO_DR = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: {
    host: 'reviews',
    trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
      { name: 'v3', labels: { version: 'v3' } },
    ],
  },
};

function seedAggregate() {
  const agg = renderedAggregates(member(SEED, 'cluster1').rendered)[0];
  assert.ok(agg);
  return agg;
}

describe('oracle: the failover path on a real mesh', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  for (const order of ['older', 'newer'] as const) {
    it(`Bookinfo's DestinationRule for the service (${order} than Spillway's): failover keeps its health checks, the user keeps the policy`, { timeout: ORACLE_TEST_TIMEOUT }, async () => {
      const m = member(SEED, 'cluster1', order === 'older' ? { userObjects: [BOOKINFO_DR] } : { userObjectsAfter: [BOOKINFO_DR] });
      const res = await runOracle(m.input);
      assert.deepEqual(res.rejected.filter((r) => r.kind === 'DestinationRule'), []);
      const x = res.proxy(m.client);
      // The failover path: every tier, the local one included, still has outlier detection.
      checkClients(x, m);
      // Direct callers of the service get the user's rule: its subsets and its explicit ISTIO_MUTUAL.
      for (const v of ['v1', 'v2', 'v3']) x.cluster(`outbound|9080|${v}|reviews.default.svc.cluster.local`);
      assert.equal(at(x.cluster(SERVICE_CLUSTER), 'metadata', 'filterMetadata', 'istio', 'config'), '/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews');
      assert.equal(x.upstreamTls(SERVICE_CLUSTER)?.via, 'transportSocket');
    });
  }

  it("blast radius: Spillway's outlier detection never applies to the service's own host (direct callers, the receiving gateway)", { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m = member(SEED, 'cluster1');
    const res = await runOracle(m.input);
    for (const proxy of [m.client, m.gateway]) {
      const x = res.proxy(proxy);
      assert.equal(x.outlierDetection(SERVICE_CLUSTER), undefined, `${proxy}: ${JSON.stringify(x.outlierDetection(SERVICE_CLUSTER))}`);
    }
    checkClients(res.proxy(m.client), m);
  });

  it('mesh defaultServiceExportTo and defaultDestinationRuleExportTo ["."]: a client in another namespace still fails over', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    // The user exports their own Service mesh-wide (they call it across namespaces); Spillway's objects
    // must be just as visible.
    const m = member(SEED, 'cluster1', { clientNamespace: 'frontend', serviceAnnotations: { 'networking.istio.io/exportTo': '*' }, mesh: { defaultServiceExportTo: ['.'], defaultDestinationRuleExportTo: ['.'], defaultVirtualServiceExportTo: ['.'] } });
    const res = await runOracle(m.input);
    checkClients(res.proxy(m.client), m);
  });

  it('pods in three zones: the local tier is every local pod, at one priority level (what simulate assumes)', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m = member(SEED, 'cluster1', { zones: [ZONE_A, ZONE_B, ZONE_C], clientZone: ZONE_A });
    const res = await runOracle(m.input);
    const x = res.proxy(m.client);
    const local = x.aggregateChildren(seedAggregate().name)[0];
    assert.ok(local);
    const tiers = x.localities(local);
    assert.ok(tiers);
    assert.equal(tiers.flatMap((t) => t.endpoints).length, 3, JSON.stringify(tiers));
    checkClients(x, m);
  });

  it('spec.connectTimeout reaches every child (the aggregate never connects); the aggregate lifts max_retries; remote tiers count gateway errors', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const docs = SEED.map((d) => ((d as { kind?: string }).kind === 'FailoverService' ? { ...(d as object), spec: { ...(d as { spec: object }).spec, connectTimeout: '2s' } } : d));
    const m = member(docs, 'cluster1');
    const res = await runOracle(m.input);
    const x = res.proxy(m.client);
    const agg = renderedAggregates(m.rendered)[0];
    assert.ok(agg);
    for (const child of x.aggregateChildren(agg.name)) assert.equal(x.cluster(child).connectTimeout, '2s', child);
    const thresholds = at(x.cluster(agg.name), 'circuitBreakers', 'thresholds');
    assert.ok(Array.isArray(thresholds) && thresholds.length > 0, `aggregate has no circuit breakers: ${JSON.stringify(x.cluster(agg.name))}`);
    assert.ok(Number(at(thresholds, 0, 'maxRetries')) >= 1000, `max_retries ${JSON.stringify(thresholds)}`);
    for (const child of x.aggregateChildren(agg.name).slice(1)) {
      const od = x.outlierDetection(child);
      assert.ok(od && Number(od.consecutiveGatewayFailure) > 0 && Number(od.enforcingConsecutiveGatewayFailure) > 0, `${child}: ${JSON.stringify(od)}`);
    }
  });
});
