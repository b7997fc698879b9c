/**
 * The oracle's own contract: equal input gives equal output, and a bad request is a prompt one-line error
 * naming what is wrong (never a hang, never an empty answer taken for a real one).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runOracle } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, loadExample, member } from './mesh.ts';

describe('oracle: contract', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  it('is deterministic: two runs over the same objects answer the same, resource for resource', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m = member(loadExample('three-clusters.yaml'), 'east');
    const [a, b] = await Promise.all([runOracle(m.input), runOracle(m.input)]);
    assert.ok(a.proxies.every((p) => p.clusters.length > 0 && p.endpoints.length > 0));
    assert.ok(a.proxy(m.client).listeners.length > 0 && a.proxy(m.client).routes.length > 0);
    assert.equal(JSON.stringify(a.proxies), JSON.stringify(b.proxies));
  });

  it('a proxy that is not among the objects is a one-line error naming it', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m = member(loadExample('seed.yaml'), 'cluster1');
    await assert.rejects(runOracle({ ...m.input, proxies: [{ pod: 'default/nobody' }] }), (e: Error) => {
      assert.match(e.message, /^istio-oracle exit 2: istio-oracle: proxy pod default\/nobody: no such Pod among the objects$/);
      return true;
    });
  });

  it('an object without apiVersion/kind is refused, not skipped', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m = member(loadExample('seed.yaml'), 'cluster1');
    await assert.rejects(runOracle({ ...m.input, objects: [...m.input.objects, { metadata: { name: 'x' } }] }), /objects\[\d+\]: not a JSON object with apiVersion and kind/);
  });

  it('a run that exceeds its timeout is killed and reported', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m = member(loadExample('seed.yaml'), 'cluster1');
    await assert.rejects(runOracle(m.input, { timeoutMs: 1 }), /timed out after 1 ms/);
  });
});
