/**
 * The controller publishes live tier shares: with two members whose EndpointSlices it watches, a workload scaled
 * down in cluster1 moves FailoverService.status.serving and raises an Event within seconds, while the
 * controller's own status writes (conditions, clusters) keep the serving list.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import type { ServingClient } from '../../src/controller/serving.ts';
import { FAILOVER_SERVICES } from '../../src/kube/resources.ts';
import { applyAs, create, failoverService, get, meshWorkload, startFleet } from './harness.ts';
import type { Fleet } from './harness.ts';

function slice(ready: boolean[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'reviews-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'reviews' } },
    addressType: 'IPv4',
    endpoints: ready.map((r, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: r }, targetRef: { kind: 'Pod', namespace: 'default', name: `reviews-${i}` } })),
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('controller: live tier shares', { timeout: 90_000 }, () => {
  let f: Fleet;
  before(async () => {
    f = await startFleet(2);
    for (const c of f.clients) {
      await applyAs(c, slice([true, true, true]));
    }
    await create(f.mc, meshWorkload('reviews-cluster1', 'cluster1', 'reviews'));
    await create(f.mc, meshWorkload('reviews-cluster2', 'cluster2', 'reviews'));
    await create(f.mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2']));
  });
  after(async () => f?.close());

  const serving = async (): Promise<{ serving?: ServingClient[]; conditions?: unknown[] } | undefined> => (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as never;

  it('publishes shares next to the controller\'s status, moves them on a scale-down and records an Event', async () => {
    const ctl = await f.startController({ discovery: false, serving: { debounceMs: 20 } });
    const first = await until('status.serving and conditions', async () => {
      const s = await serving();
      return s?.serving?.length === 2 && s.conditions?.length ? s : undefined;
    });
    assert.deepEqual(first.serving!.map((c) => c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`)), [['cluster1:100:3/3', 'cluster2:0:3/3'], ['cluster2:100:3/3', 'cluster1:0:3/3']]);
    const t0 = Date.now();
    await applyAs(f.clients[0]!, slice([true, false, false]));
    const moved = await until('the share to move', async () => {
      const s = await serving();
      return s?.serving?.[0]?.tiers[1]?.percent === 54 ? s : undefined;
    });
    const ev = await until('an Event', async () => ((await f.mc.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: KubeObject[] }).items.find((e) => e['reason'] === 'Spillover'));
    const took = Date.now() - t0;
    assert.ok(took < 5_000, `${took} ms`);
    assert.equal(ev['message'], 'cluster1 clients: 54% now spill to cluster2, 46% stay on cluster1');
    assert.ok(moved.conditions && moved.conditions.length >= 2, 'the controller\'s conditions are still there');
    // A reconcile (its status write) keeps the serving list.
    ctl.trigger();
    await ctl.idle();
    const after1 = await serving();
    assert.equal(after1?.serving?.[0]?.tiers[1]?.percent, 54, JSON.stringify(after1));
    assert.match(await ctl.metrics.registry.expose(), /spillway_tier_share_percent\{client="cluster1",failover_service="default\/reviews",tier="cluster2"\} 54/);
  });
});
