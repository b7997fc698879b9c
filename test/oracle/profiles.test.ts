/**
 * Each output profile through today's istiod (the pinned module): the objects of every profile are still
 * served (v1, v1beta1, v1alpha3) and accepted by istiod's validation, and the client side of the
 * failover path comes out the same. The legacy profile's aggregate config is a TypedStruct naming the
 * v2alpha type, which istiod passes through untouched (only 1.5-1.7 Envoys read that form).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { at, runOracle } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, loadExample, member } from './mesh.ts';
import { checkClients, renderedAggregates } from './pins.ts';

const PROFILES = [
  { version: '1.24', profile: 'modern', apiVersion: 'networking.istio.io/v1' },
  { version: '1.12', profile: 'v1beta1', apiVersion: 'networking.istio.io/v1beta1' },
  { version: '1.7', profile: 'legacy', apiVersion: 'networking.istio.io/v1alpha3' },
];

function seedAt(version: string): unknown[] {
  return loadExample('seed.yaml').map((d) => {
    const o = d as { kind?: string; spec?: Record<string, unknown> };
    return o.kind === 'MeshCluster' ? { ...o, spec: { ...o.spec, istio: { version } } } : d;
  });
}

describe('oracle: every output profile', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  for (const p of PROFILES) {
    it(`${p.profile} (Istio ${p.version}): istiod accepts every object and builds the same failover path`, { timeout: ORACLE_TEST_TIMEOUT }, async () => {
      const m = member(seedAt(p.version), 'cluster1');
      assert.deepEqual([...new Set(m.rendered.filter((o) => o.kind !== 'EnvoyFilter').map((o) => o.apiVersion))], [p.apiVersion]);
      const res = await runOracle(m.input);
      assert.deepEqual(res.rejected, []);
      const x = res.proxy(m.client);
      checkClients(x, m);
      const agg = renderedAggregates(m.rendered)[0];
      assert.ok(agg);
      const tc = at(x.cluster(agg.name), 'clusterType', 'typedConfig', '@type');
      assert.equal(tc, p.profile === 'legacy' ? 'type.googleapis.com/udpa.type.v1.TypedStruct' : 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig');
    });
  }
});
