/**
 * A cluster whose workload is gone but that is still registered (SPW161), through istiod's own translation: its
 * client sidecar still routes the global host to Spillway's aggregate, whose children are only the remaining tiers,
 * in list order, each reaching a remote gateway with Istio mTLS, the global host as SNI and outlier detection.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { runOracle } from '../support/oracle.ts';
import type { OracleResult } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, loadExample, member, renderOk } from './mesh.ts';
import type { Member } from './mesh.ts';
import { checkClient, renderedAggregates } from './pins.ts';

describe('oracle: a client-only cluster (examples/three-clusters.yaml without checkout-eu)', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  const docs = loadExample('three-clusters.yaml').filter((d) => !((d as KubeObject).kind === 'MeshWorkload' && (d as KubeObject).metadata.name === 'checkout-eu'));
  const result = renderOk(docs);
  let m: Member;
  let res: OracleResult;
  before(async () => {
    m = member(docs, 'eu', { clientNamespace: 'shop' }, result);
    res = await runOracle(m.input);
  }, { timeout: ORACLE_TEST_TIMEOUT });

  it('the render says so: SPW161 for eu, no receiving side there', () => {
    assert.deepEqual(result.messages.map((mm) => mm.code), ['SPW161']);
    assert.deepEqual(m.rendered.filter((o) => o.kind === 'Gateway' || o.kind === 'VirtualService'), []);
  });

  it('eu: the client routes the global host to the aggregate; its children are east then west, each remote with ISTIO_MUTUAL, the global host as SNI and outlier detection', { timeout: ORACLE_TEST_TIMEOUT }, () => {
    const x = res.proxy(m.client);
    const aggs = renderedAggregates(m.rendered);
    assert.equal(aggs.length, 1);
    const agg = aggs[0]!;
    assert.deepEqual(agg.children, ['outbound|7070||checkout-remote-east.shop.global', 'outbound|7070||checkout-remote-west.shop.global']);
    // The route, the children istiod pushes (in order), each child's TLS, SNI and outlier detection: all remote.
    checkClient(x, agg, m, [], { local: false });
    // And each child dials its cluster's gateway, on the port its MeshCluster gives.
    // (STATIC ServiceEntry endpoints: istiod serves them over EDS.)
    const dialled = agg.children.map((child) => (x.localities(child) ?? []).flatMap((t) => t.endpoints));
    assert.deepEqual(dialled, [['192.0.2.10:32000'], ['198.51.100.7:15443']]);
  });
});
