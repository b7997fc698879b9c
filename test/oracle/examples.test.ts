/**
 * The bundled examples through istiod's own translation (the oracle): for every member cluster, what its
 * client sidecar would get from istiod for Spillway's objects, on a mesh that has the Services, pods,
 * gateway and DNS capture a real cluster has.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { at } from '../support/oracle.ts';
import type { OracleResult } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, answerAll, loadExample } from './mesh.ts';
import type { Member } from './mesh.ts';
import { checkClients } from './pins.ts';

const EXPECTED = { 'seed.yaml': ['cluster1', 'cluster2'], 'three-clusters.yaml': ['east', 'eu', 'west'] };

for (const [example, clusters] of Object.entries(EXPECTED)) {
  describe(`oracle: examples/${example}`, { timeout: ORACLE_TEST_TIMEOUT }, () => {
    let answers = new Map<string, { m: Member; res: OracleResult }>();
    before(async () => {
      answers = await answerAll(loadExample(example));
    }, { timeout: ORACLE_TEST_TIMEOUT });

    it('has an answer for every member cluster', () => assert.deepEqual([...answers.keys()].sort(), clusters));
    for (const cluster of clusters) {
      it(`${cluster}: the client's route for host:port reaches the aggregate; its children exist in order with ISTIO_MUTUAL, SNI and outlier detection; the local tier is the local pods at one priority`, { timeout: ORACLE_TEST_TIMEOUT }, () => {
        const a = answers.get(cluster);
        assert.ok(a);
        checkClients(a.res.proxy(a.m.client), a.m);
      });
    }

    if (example === 'three-clusters.yaml') {
      it('a gateway reached by DNS name: the tier resolves it by DNS, on the dialled port, with the global host as SNI', { timeout: ORACLE_TEST_TIMEOUT }, () => {
        for (const client of ['east', 'west']) {
          const a = answers.get(client);
          assert.ok(a);
          const x = a.res.proxy(a.m.client);
          const child = x.aggregateChildren('outbound|7070||checkout-global.shop.global').find((c) => x.cluster(c) && JSON.stringify(x.cluster(c)).includes('gw.eu.example.com'));
          assert.ok(child, `${client}: no tier dials gw.eu.example.com`);
          const c = x.cluster(child);
          assert.ok(['STRICT_DNS', 'LOGICAL_DNS'].includes(String(c.type)), `${child}: type ${String(c.type)}`);
          const sa = at(c, 'loadAssignment', 'endpoints', 0, 'lbEndpoints', 0, 'endpoint', 'address', 'socketAddress');
          assert.deepEqual([at(sa, 'address'), at(sa, 'portValue')], ['gw.eu.example.com', 443]);
          assert.equal(x.upstreamTls(child)?.sni, 'checkout-global.shop.global');
        }
      });
    }
  });
}
