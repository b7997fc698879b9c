/**
 * Ownership is not a label: objects someone else labelled with Spillway's labels, and copies of Spillway's own
 * objects under other names, are never pruned, even when every FailoverService is deleted. Spillway's own are.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { ANNOTATION_OWNER, ownerId } from '../../src/api/ownership.ts';
import type { Fleet } from './harness.ts';
import { applyAs, converged, create, failoverService, get, list, remove, service, startFleet, until } from './harness.ts';

const SE = { group: 'networking.istio.io', version: 'v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true };
const EF = { group: 'networking.istio.io', version: 'v1alpha3', kind: 'EnvoyFilter', plural: 'envoyfilters', namespaced: true };
const LABELS = { 'app.kubernetes.io/managed-by': 'spillway', 'spillway.dev/cluster': 'cluster1', 'spillway.dev/failover-service': 'reviews', 'spillway.dev/failover-service-namespace': 'default' };

describe('prune ownership', { timeout: 60_000 }, () => {
  let f: Fleet;
  before(async () => {
    f = await startFleet(2);
  });
  after(async () => f.close());

  it('never deletes a look-alike labelled by someone else or a renamed copy; deletes its own', async () => {
    const ctl = await f.startController();
    for (const c of f.clients) await create(c, service('reviews'));
    await create(f.mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2']));
    await converged(f, 'reviews programmed');
    const c1 = f.clients[0]!;
    const ours = (await list(c1, SE, 'app.kubernetes.io/managed-by=spillway')).filter((o) => o.metadata.name === 'reviews-global')[0];
    assert.ok(ours, 'Spillway wrote reviews-global');
    assert.equal(ours.metadata.annotations?.[ANNOTATION_OWNER], ownerId('cluster1', 'ServiceEntry', 'default', 'reviews-global'));

    // A team's own ServiceEntry that someone labelled with Spillway's labels (field manager kubectl).
    const lookalike: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'payments-external', namespace: 'default', labels: LABELS }, spec: { hosts: ['payments.example.com'], resolution: 'DNS', ports: [{ name: 'https', number: 443, protocol: 'TLS' }] } };
    await applyAs(c1, lookalike, 'kubectl');
    // Even with an owner annotation computed for its name: not applied by Spillway's field manager.
    const forged: KubeObject = { ...lookalike, metadata: { ...lookalike.metadata, name: 'forged', annotations: { [ANNOTATION_OWNER]: ownerId('cluster1', 'ServiceEntry', 'default', 'forged') } } };
    await applyAs(c1, forged, 'kubectl');
    // A copy of Spillway's own object (its annotation and managedFields included) under another name.
    const { uid: _u, resourceVersion: _r, creationTimestamp: _c, generation: _g, ...meta } = ours.metadata as unknown as Record<string, unknown>;
    await create(c1, { ...ours, metadata: { ...(meta as unknown as KubeObject['metadata']), name: 'copied' } });

    // Reconciles run (resyncs, triggers): the three stay.
    for (let i = 0; i < 3; i++) {
      ctl.trigger();
      await ctl.idle();
    }
    for (const name of ['payments-external', 'forged', 'copied']) assert.ok(await get(c1, SE, 'default', name), `${name} still exists`);

    // Deleting the FailoverService prunes everything Spillway wrote, and nothing else.
    await remove(f.mc, failoverService('reviews', []));
    await until(async () => {
      const left = [...(await list(c1, SE, 'app.kubernetes.io/managed-by=spillway')), ...(await list(c1, EF, 'app.kubernetes.io/managed-by=spillway'))].map((o) => o.metadata.name).sort();
      return left.join(',') === 'copied,forged,payments-external' ? [] : [`left: ${left.join(',')}`];
    }, 'only Spillway\'s own objects pruned');
    assert.equal((await get(c1, SE, 'default', 'payments-external'))?.metadata.resourceVersion !== undefined, true);
  });
});
