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

/** A MeshWorkload without a pod selector: its local tier is the Service host itself. */
function serviceHostWorkload(name: string, cluster: string): KubeObject {
  const w = meshWorkload(name, cluster, 'reviews');
  const { selector: _s, ...spec } = w.spec as Record<string, unknown>;
  return { ...w, spec };
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
    // Without a selector the local tier is the Service host, where istiod sends not-ready pods marked unhealthy:
    // they lower the tier's health (with one, on the dedicated host, they are left out: see the next describe).
    await create(f.mc, serviceHostWorkload('reviews-cluster1', 'cluster1'));
    await create(f.mc, serviceHostWorkload('reviews-cluster2', 'cluster2'));
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

describe('controller: live tier shares of a client-only cluster', { timeout: 120_000 }, () => {
  let f: Fleet;
  const ALL = ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3'];
  before(async () => {
    f = await startFleet(3);
    await applyAs(f.clients[0]!, slice([true, false, false]));
    for (const c of f.clients.slice(1)) await applyAs(c, slice([true, true, true]));
    for (const [i, n] of f.names.entries()) await create(f.mc, meshWorkload(ALL[i]!, n, 'reviews'));
    await create(f.mc, failoverService('reviews', ALL));
  });
  after(async () => f?.close());

  const serving = async (): Promise<ServingClient[] | undefined> => ((await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { serving?: ServingClient[] } | undefined)?.serving;
  const row = (c: ServingClient): string => `${c.client}: ${c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`).join(' ')}`;

  it('cluster3 losing its workload: its entry becomes remote-only in list order, shares add up, an Event says so, the gauges follow', async () => {
    const ctl = await f.startController({ discovery: false, serving: { debounceMs: 20 } });
    const three = await until('three clients published', async () => {
      const s = await serving();
      return s?.length === 3 ? s : undefined;
    });
    // The workloads select their pods: each local tier is Spillway's dedicated host, where istiod sends ready pods
    // only, so cluster1's 2 not-ready pods are not in its tier (1/1).
    assert.equal(row(three[0]!), 'cluster1: cluster1:100:1/1 cluster2:0:3/3 cluster3:0:3/3');
    assert.equal(row(three[2]!), 'cluster3: cluster3:100:3/3 cluster1:0:1/1 cluster2:0:3/3');
    await f.mc.request({ method: 'DELETE', path: '/apis/spillway.dev/v1alpha1/namespaces/default/meshworkloads/reviews-cluster3' });
    const t0 = Date.now();
    const after3 = await until('cluster3 remote-only', async () => {
      const s = await serving();
      return s?.length === 3 && !s[2]!.tiers.some((t) => t.cluster === 'cluster3') ? s : undefined;
    }, 30_000);
    assert.deepEqual(after3.map(row), [
      'cluster1: cluster1:100:1/1 cluster2:0:3/3',
      'cluster2: cluster2:100:3/3 cluster1:0:1/1',
      // Its tiers are the remaining clusters', in list order, through their gateways: cluster1 has a healthy endpoint.
      'cluster3: cluster1:100:1/1 cluster2:0:3/3',
    ]);
    for (const c of after3) assert.equal(c.tiers.reduce((a, t) => a + t.percent, 0) + c.failingPercent, 100, c.client);
    const ev = await until('an Event for cluster3', async () => ((await f.mc.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: KubeObject[] }).items.find((e) => e['reportingInstance'] === 'cluster3'));
    assert.ok(Date.now() - t0 < 30_000);
    assert.deepEqual([ev['type'], ev['reason'], ev['message']], ['Warning', 'Spillover', 'cluster3 clients: no local workload (client-only cluster); 100% to cluster1 through the remote gateways']);
    const metrics = await ctl.metrics.registry.expose();
    assert.match(metrics, /spillway_tier_share_percent\{client="cluster3",failover_service="default\/reviews",tier="cluster1"\} 100/);
    assert.match(metrics, /spillway_spilled_percent\{client="cluster3",failover_service="default\/reviews"\} 100/);
    assert.doesNotMatch(metrics, /spillway_tier_share_percent\{client="cluster3",failover_service="default\/reviews",tier="cluster3"\}/);
    // cluster1's only healthy endpoint goes: cluster3's clients move to cluster2.
    await applyAs(f.clients[0]!, slice([false, false, false]));
    const moved = await until('cluster3 to cluster2', async () => {
      const s = await serving();
      return s?.[2]?.tiers[1]?.percent === 100 ? s : undefined;
    });
    assert.equal(row(moved[2]!), 'cluster3: cluster1:0:0/0 cluster2:100:3/3');
  });
});
