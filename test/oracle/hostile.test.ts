/**
 * Ordinary meshes that are hostile to failover, through istiod's own translation: what users already have
 * next to Spillway's objects must neither break the failover path nor be broken by it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runOracle } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, loadExample, member } from './mesh.ts';
import { checkClients, renderedAggregates } from './pins.ts';

const SEED = loadExample('seed.yaml');
const GLOBAL = 'reviews-global.default.global';
const SERVICE = 'reviews.default.svc.cluster.local';

describe('oracle: hostile but ordinary meshes', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  it("a user's VirtualService for the service: its routes stay the user's, the global host still reaches the aggregate", { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: { hosts: ['reviews'], http: [{ timeout: '3s', retries: { attempts: 1, perTryTimeout: '1s' }, route: [{ destination: { host: 'reviews', port: { number: 9080 } } }] }] },
    };
    const m = member(SEED, 'cluster1', { userObjects: [vs] });
    const res = await runOracle(m.input);
    assert.deepEqual(res.rejected.filter((r) => r.name === 'reviews'), []);
    const x = res.proxy(m.client);
    const direct = x.route(SERVICE, 9080);
    assert.ok(direct, 'no route for the service itself');
    assert.deepEqual(direct.clusters, [`outbound|9080||${SERVICE}`]);
    assert.equal(JSON.stringify(direct.route).includes('"timeout":"3s"'), true, `the user's timeout is gone: ${JSON.stringify(direct.route)}`);
    checkClients(x, m);
  });

  it('a Sidecar scoping egress in a client namespace hides the failover path unless it imports the service namespace', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const sidecar = (hosts: string[]) => ({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'frontend' }, spec: { egress: [{ hosts }] } });
    const scoped = member(SEED, 'cluster1', { clientNamespace: 'frontend', userObjects: [sidecar(['./*', 'istio-system/*'])] });
    const imported = member(SEED, 'cluster1', { clientNamespace: 'frontend', userObjects: [sidecar(['./*', 'istio-system/*', 'default/*'])] });
    const [a, b] = await Promise.all([runOracle(scoped.input), runOracle(imported.input)]);
    // Scoped out: no route for the global host, and the aggregate's children are not built for this proxy.
    const xa = a.proxy(scoped.client);
    assert.equal(xa.route(GLOBAL, 9080), undefined);
    const agg = renderedAggregates(scoped.rendered)[0];
    assert.ok(agg);
    assert.deepEqual(agg.children.filter((c) => xa.findCluster(c)), []);
    // With the service's namespace imported (what docs tell clients to add), everything is there.
    checkClients(b.proxy(imported.client), imported);
  });
});
