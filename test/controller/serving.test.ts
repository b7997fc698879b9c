/**
 * Live tier shares: the pure maths over EndpointSlices (not-ready endpoints lower a tier's health, terminating ones
 * leave it), the Event wording, and end to end on API doubles: a workload scaled down in a member cluster moves
 * the published FailoverService.status.serving share and raises an Event within seconds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { customResourceDefinitions } from '../../src/api/crds.ts';
import { EVENT_CODES, renderEvent } from '../../src/api/messages.ts';
import { RenderCache, renderDetailed } from '../../src/core/render.ts';
import { blocksByService, renderViews } from '../../src/check/view.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { noJitter, realClock } from '../../src/kube/clock.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { Registry } from '../../src/controller/metrics.ts';
import { ServingPublisher, computeServing, countSlices, nextServingStatus, servingDifference, servingEvents, servingPass } from '../../src/controller/serving.ts';
import type { ServingClient, ServingMemo, SliceCounts } from '../../src/controller/serving.ts';
import { KubeDouble } from '../double/index.ts';
import { gatewayService, inputs } from '../check/fixtures.ts';
import { failoverService, meshCluster, meshWorkload, scenario } from '../core/fixtures.ts';

function slice(ns: string, service: string, name: string, endpoints: { ip: string; ready?: boolean; terminating?: boolean; zone?: string }[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ...(e.ready !== undefined ? { ready: e.ready } : {}), serving: e.ready !== false, terminating: e.terminating ?? false },
      targetRef: { kind: 'Pod', namespace: ns, name: `pod-${e.ip}` },
      ...(e.zone ? { zone: e.zone } : {}),
    })),
  };
}

const counts = (ready: number, notReady = 0): SliceCounts => ({ ready, notReady, terminating: 0, zones: {} });

describe('live tier shares: the maths', { timeout: 10_000 }, () => {
  it('countSlices: nil ready is ready, not-ready counts, terminating leaves, each endpoint once across slices', () => {
    const a = slice('default', 'reviews', 'a', [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', ready: false }, { ip: '10.0.0.3', ready: true, terminating: true, zone: 'z1' }]);
    const b = slice('default', 'reviews', 'b', [{ ip: '10.0.0.1' }, { ip: '10.0.0.4', ready: true, zone: 'z2' }]);
    assert.deepEqual(countSlices([a, b]), { ready: 2, notReady: 1, terminating: 1, zones: { '': { ready: 1, total: 2 }, z2: { ready: 1, total: 1 } } });
  });

  it('computeServing: on the Service host (no selector) 1 of 3 ready locally sends 54% to the remote (Envoy: 46/54), as istiod sends not-ready pods marked unhealthy', () => {
    const render = renderDetailed(inputs());
    const all = computeServing({ render, endpoints: (c) => (c === 'cluster1' ? counts(1, 2) : counts(3)), gateway: () => undefined });
    const clients = all.get('FailoverService/default/reviews')!;
    assert.deepEqual(clients.map((c) => [c.client, c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`)]), [
      ['cluster1', ['cluster1:46:1/3', 'cluster2:54:3/3']],
      ['cluster2', ['cluster2:100:3/3', 'cluster1:0:1/3']],
    ]);
    // Were not-ready pods dropped from EDS (the dedicated local host; Istio before #60690) it would be 1/1 healthy: 100% local.
    const dropped = computeServing({ render, endpoints: (c) => (c === 'cluster1' ? counts(1) : counts(3)), gateway: () => undefined });
    assert.equal(dropped.get('FailoverService/default/reviews')![0]!.tiers[0]!.percent, 100);
  });

  it('computeServing: on the dedicated local host (a MeshWorkload with a selector) not-ready pods are not in the tier, as istiod sends ready pods only there', () => {
    const docs = scenario(2);
    const render = renderDetailed(docs.map((value, i) => ({ value, source: `#${i}` })));
    const clients = computeServing({ render, endpoints: (c) => (c === 'c1' ? counts(1, 2) : counts(3)), gateway: () => undefined }).get('FailoverService/default/reviews')!;
    assert.deepEqual(clients.map((c) => c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`)), [['c1:100:1/1', 'c2:0:3/3'], ['c2:100:3/3', 'c1:0:1/1']]);
    // No ready pod left: the tier is empty and everything moves.
    const none = computeServing({ render, endpoints: (c) => (c === 'c1' ? counts(0, 3) : counts(3)), gateway: () => undefined }).get('FailoverService/default/reviews')!;
    assert.deepEqual(none[0]!.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`), ['c1:0:0/0', 'c2:100:3/3']);
  });

  it('computeServing: no endpoint locally moves everything; a remote whose gateway has no ready endpoint is dead', () => {
    const render = renderDetailed(inputs());
    const gone = computeServing({ render, endpoints: (c) => (c === 'cluster1' ? counts(0) : counts(2)), gateway: () => undefined }).get('FailoverService/default/reviews')!;
    assert.deepEqual(gone[0]!.tiers.map((t) => t.percent), [0, 100]);
    const deadGw = computeServing({ render, endpoints: (c) => (c === 'cluster1' ? counts(0, 1) : counts(2)), gateway: (c) => (c === 'cluster2' ? { ready: 0, total: 1 } : { ready: 1, total: 1 }) }).get('FailoverService/default/reviews')!;
    assert.equal(deadGw[0]!.failingPercent, 100);
    assert.equal(deadGw[0]!.tiers[1]!.gatewayReady, 0);
  });

  it('computeServing: a client-only cluster (its workload gone, SPW161) gets an entry of remote tiers only, in list order, adding up', () => {
    const docs = scenario(3).filter((d) => !(d.kind === 'MeshWorkload' && d.metadata.name === 'reviews-c3'));
    const render = renderDetailed(docs.map((value, i) => ({ value, source: `#${i}` })));
    assert.deepEqual(render.messages.map((m) => m.code), ['SPW161']);
    const asked: string[] = [];
    const serve = (ready: Record<string, SliceCounts>) => computeServing({ render, endpoints: (c) => (asked.push(c), ready[c]), gateway: () => undefined }).get('FailoverService/default/reviews')!;
    const row = (cs: ServingClient[]) => cs.map((c) => `${c.client}: ${c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`).join(' ')} failing ${c.failingPercent}`);
    // (The MeshWorkloads have selectors: each local tier is Spillway's dedicated host, where istiod sends ready pods only.)
    assert.deepEqual(row(serve({ c1: counts(1, 2), c2: counts(3) })), [
      'c1: c1:100:1/1 c2:0:3/3 failing 0',
      'c2: c2:100:3/3 c1:0:1/1 failing 0',
      // c3's clients reach c1 through its gateway: a remote tier with a healthy endpoint takes everything.
      'c3: c1:100:1/1 c2:0:3/3 failing 0',
    ]);
    assert.ok(!asked.includes('c3'), `the lost workload's endpoints are never asked for: ${asked.join(',')}`);
    // c1 empty: c3's clients go to c2; the shares of every client add up to 100.
    const moved = serve({ c1: counts(0), c2: counts(2) });
    assert.deepEqual(row(moved), ['c1: c1:0:0/0 c2:100:2/2 failing 0', 'c2: c2:100:2/2 c1:0:0/0 failing 0', 'c3: c1:0:0/0 c2:100:2/2 failing 0']);
    for (const c of moved) assert.equal(c.tiers.reduce((a, t) => a + t.percent, 0) + c.failingPercent, 100, c.client);
    // Nothing known about c1 yet: nothing published, c3 included.
    assert.equal(computeServing({ render, endpoints: (c) => (c === 'c1' ? undefined : counts(1)), gateway: () => undefined }).size, 0);
  });

  it('computeServing publishes nothing for a service while one of its clusters is unknown', () => {
    const render = renderDetailed(inputs());
    assert.equal(computeServing({ render, endpoints: (c) => (c === 'cluster1' ? counts(1) : undefined), gateway: () => undefined }).size, 0);
  });

  it('servingEvents: spill-over, failback, no healthy upstream; nothing when unchanged or first seen local', () => {
    const c = (local: number, remote: number, failing = 0): ServingClient => ({ client: 'cluster1', tiers: [{ cluster: 'cluster1', percent: local, healthy: 1, total: 3 }, { cluster: 'cluster2', percent: remote, healthy: 3, total: 3 }], failingPercent: failing });
    assert.deepEqual(servingEvents(undefined, [c(100, 0)]), []);
    assert.deepEqual(servingEvents([c(100, 0)], [c(100, 0)]), []);
    assert.deepEqual(servingEvents([c(100, 0)], [c(70, 30)]).map((e) => [e.type, e.reason, e.message]), [['Warning', 'Spillover', 'cluster1 clients: 30% now spill to cluster2, 70% stay on cluster1']]);
    assert.deepEqual(servingEvents([c(70, 30)], [c(0, 100)]).map((e) => e.message), ['cluster1 clients: 100% now spill to cluster2']);
    assert.deepEqual(servingEvents([c(0, 100)], [c(100, 0)]).map((e) => [e.type, e.reason, e.message]), [['Normal', 'Failback', 'cluster1 clients: all traffic back on cluster1']]);
    assert.deepEqual(servingEvents([c(0, 100)], [c(0, 0, 100)]).map((e) => e.reason), ['NoHealthyTier']);
    // Every Event is a code of the table: reason = its name, message = its rendering of the params (also from JSON).
    const all = [...servingEvents([c(100, 0)], [c(70, 30)]), ...servingEvents([c(0, 100)], [c(100, 0)]), ...servingEvents([c(0, 100)], [c(0, 0, 100)]), ...servingEvents([c(100, 0)], [c(100, 0, 20)])];
    assert.deepEqual(all.map((e) => e.code), ['SPW300', 'SPW301', 'SPW302', 'SPW303']);
    for (const e of all) {
      assert.equal(e.reason, EVENT_CODES[e.code].name);
      assert.equal(e.message, renderEvent(e.code, JSON.parse(JSON.stringify(e.params)) as never));
    }
    assert.deepEqual(all[0]!.params, { client: 'cluster1', spilled: 30, to: [{ cluster: 'cluster2', percent: 30 }], local: 70, failing: 0, changed: true });
  });

  it('servingEvents: a cluster losing its workload says its clients are served through the remote gateways', () => {
    const local: ServingClient = { client: 'c3', tiers: [{ cluster: 'c3', percent: 100, healthy: 2, total: 2 }, { cluster: 'c1', percent: 0, healthy: 3, total: 3 }, { cluster: 'c2', percent: 0, healthy: 3, total: 3 }], failingPercent: 0 };
    const only = (p1: number, p2: number, failing = 0): ServingClient => ({ client: 'c3', tiers: [{ cluster: 'c1', percent: p1, healthy: 3, total: 3 }, { cluster: 'c2', percent: p2, healthy: 3, total: 3 }], failingPercent: failing });
    assert.deepEqual(servingEvents([local], [only(100, 0)]).map((e) => [e.type, e.reason, e.message]), [['Warning', 'Spillover', 'c3 clients: no local workload (client-only cluster); 100% to c1 through the remote gateways']]);
    assert.deepEqual(servingEvents(undefined, [only(100, 0)]).map((e) => e.message), ['c3 clients: no local workload (client-only cluster); 100% to c1 through the remote gateways']);
    assert.deepEqual(servingEvents([only(100, 0)], [only(100, 0)]), []);
    assert.deepEqual(servingEvents([only(100, 0)], [only(0, 100)]).map((e) => e.message), ['c3 clients: 100% spill to c2']);
    assert.deepEqual(servingEvents([only(0, 100)], [only(0, 0, 100)]).map((e) => e.reason), ['NoHealthyTier']);
    assert.deepEqual(servingEvents([only(100, 0)], [local]).map((e) => [e.type, e.reason, e.message]), [['Normal', 'Failback', 'c3 clients: all traffic back on c3']]);
  });

  it('servingEvents: a condition that holds is not recorded again when the failover order or other numbers change', () => {
    const t = (cluster: string, percent: number, healthy = 0): ServingClient['tiers'][number] => ({ cluster, percent, healthy, total: healthy });
    const client = (tiers: ServingClient['tiers'], failing = 0): ServingClient => ({ client: 'c1', tiers, failingPercent: failing });
    // Nothing healthy anywhere: the first sight says so once; a reordered list (every tier still at 0%) says nothing.
    assert.deepEqual(servingEvents(undefined, [client([t('c1', 0), t('c2', 0), t('c3', 0)], 100)]).map((e) => e.reason), ['NoHealthyTier']);
    assert.deepEqual(servingEvents([client([t('c1', 0), t('c2', 0), t('c3', 0)], 100)], [client([t('c1', 0), t('c3', 0), t('c2', 0)], 100)]), []);
    // Still every request failing, a tier now reported with (not ready) endpoints: nothing new to say.
    assert.deepEqual(servingEvents([client([t('c1', 0), t('c2', 0)], 100)], [client([t('c1', 0), { cluster: 'c2', percent: 0, healthy: 0, total: 2 }], 100)]), []);
    // The same share spilling to the same cluster, the remote tiers listed in another order: no Event.
    assert.deepEqual(servingEvents([client([t('c1', 70, 1), t('c2', 30, 3), t('c3', 0, 3)])], [client([t('c1', 70, 1), t('c3', 0, 3), t('c2', 30, 3)])]), []);
    // The same total spilling elsewhere is a transition (where the requests go changed).
    assert.deepEqual(servingEvents([client([t('c1', 70, 1), t('c2', 30, 3), t('c3', 0, 3)])], [client([t('c1', 70, 1), t('c3', 30, 3), t('c2', 0, 0)])]).map((e) => e.message), ['c1 clients: 30% spill to c3']);
    // The same spill, and now a share failing: that is what changed, and what the Event says.
    assert.deepEqual(servingEvents([client([t('c1', 70, 1), t('c2', 30, 3)])], [client([t('c1', 50, 1), t('c2', 30, 3)], 20)]).map((e) => [e.reason, e.message]), [['Failing', 'c1 clients: 20% of requests predicted to fail']]);
    // Out of "every request fails" to a partly failing local tier: not "all traffic back".
    assert.deepEqual(servingEvents([client([t('c1', 0), t('c2', 0)], 100)], [client([t('c1', 80, 2), t('c2', 0)], 20)]).map((e) => e.reason), ['Failing']);
    assert.deepEqual(servingEvents([client([t('c1', 80, 2), t('c2', 0)], 20)], [client([t('c1', 100, 3), t('c2', 0)])]).map((e) => e.reason), ['Failback']);
    // lastTransitionTime: a reorder that moves no traffic is not a change of the shares.
    const first = nextServingStatus(undefined, [client([t('c1', 0), t('c2', 0), t('c3', 0)], 100)], '2026-12-01T10:00:00Z');
    assert.equal(nextServingStatus(first, [client([t('c1', 0), t('c3', 0), t('c2', 0)], 100)], '2026-12-01T10:05:00Z')[0]!.lastTransitionTime, '2026-12-01T10:00:00Z');
  });

  it('nextServingStatus keeps lastTransitionTime while shares are unchanged', () => {
    const c: ServingClient = { client: 'cluster1', tiers: [{ cluster: 'cluster1', percent: 100, healthy: 3, total: 3 }], failingPercent: 0 };
    const first = nextServingStatus(undefined, [c], '2026-12-01T10:00:00Z');
    assert.equal(first[0]!.lastTransitionTime, '2026-12-01T10:00:00Z');
    assert.equal(nextServingStatus(first, [{ ...c, tiers: [{ ...c.tiers[0]!, healthy: 3 }] }], '2026-12-01T10:05:00Z')[0]!.lastTransitionTime, '2026-12-01T10:00:00Z');
    assert.equal(nextServingStatus(first, [{ ...c, tiers: [{ ...c.tiers[0]!, percent: 90 }] }], '2026-12-01T10:05:00Z')[0]!.lastTransitionTime, '2026-12-01T10:05:00Z');
  });
});

async function put(c: HttpKubeClient, path: string, o: KubeObject): Promise<void> {
  await c.request({ method: 'PATCH', path: `${path}/${o.metadata.name}`, query: { fieldManager: 'test', force: true }, contentType: 'application/apply-patch+yaml', body: o });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe('live tier shares: incremental, as the controller computes them', { timeout: 60_000 }, () => {
  const clusters = ['c1', 'c2', 'c3'];
  /** Six services over three clusters; discovered workloads (as service discovery makes them) when asked. */
  const world = (discovered = false): Map<string, KubeObject> => {
    const docs = new Map<string, KubeObject>();
    for (const c of clusters) docs.set(`mc/${c}`, meshCluster(c));
    for (let i = 0; i < 6; i++) {
      for (const c of clusters) {
        const w = meshWorkload(`svc${i}-${c}`, c, { service: `svc${i}` });
        if (discovered) w.metadata.labels = { 'app.kubernetes.io/managed-by': 'spillway', 'spillway.dev/discovered-from': c };
        docs.set(`mw/svc${i}-${c}`, w);
      }
      docs.set(`fs/svc${i}`, failoverService(`svc${i}`, clusters.map((c) => `svc${i}-${c}`), {}, { creationTimestamp: `2026-01-01T00:00:0${i}Z` }));
    }
    return docs;
  };
  const row = (cs: ServingClient[] | undefined) => (cs ?? []).map((c) => `${c.client}: ${c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`).join(' ')} failing ${c.failingPercent}`);

  it('renderViews, blocksByService and computeServing with a memo equal a fresh computation over a fresh render after each edit; unchanged services keep their view and clients', () => {
    const docs = world();
    const cache = new RenderCache();
    const memo: ServingMemo = new Map();
    const ready: Record<string, number> = { c1: 3, c2: 3, c3: 3 };
    let lastReady: Record<string, number> = {};
    const edits: [string, () => void][] = [
      ['nothing', () => undefined],
      ['svc1 reordered', () => docs.set('fs/svc1', failoverService('svc1', ['svc1-c3', 'svc1-c1', 'svc1-c2'], {}, { creationTimestamp: '2026-01-01T00:00:01Z' }))],
      ['c1 loses its endpoints', () => void (ready['c1'] = 0)],
      ['svc2-c3 gone (c3 client-only for svc2)', () => docs.delete('mw/svc2-c3')],
      ['svc4 gone', () => docs.delete('fs/svc4')],
      ['svc6 new', () => docs.set('fs/svc6', failoverService('svc6', ['svc0-c2'], { hostname: 'svc6.default.global' }, { creationTimestamp: '2026-01-01T00:00:09Z' }))],
      ['c1 back', () => void (ready['c1'] = 2)],
    ];
    let before: ReturnType<typeof computeServing> | undefined;
    let viewsBefore: ReturnType<typeof renderViews> | undefined;
    let kept = 0;
    for (const [what, edit] of edits) {
      edit();
      const input = [...docs.values()];
      const cached = renderDetailed(input, cache);
      const fresh = renderDetailed(input.map((value, i) => ({ value, source: `#${i}` })));
      const endpoints = (c: string): SliceCounts => counts(ready[c] ?? 0);
      // As the publisher says it: the endpoints of a cluster whose counts were edited in this step changed.
      const moved = new Set(Object.keys(ready).filter((c) => ready[c] !== lastReady[c]));
      lastReady = { ...ready };
      const got = computeServing({ render: cached, endpoints, gateway: () => undefined }, memo, { endpoints: (c) => !moved.has(c), gateway: () => true });
      const want = computeServing({ render: fresh, endpoints, gateway: () => undefined });
      assert.deepEqual([...got.keys()], [...want.keys()], what);
      for (const [ref, clients] of want) assert.deepEqual(row(got.get(ref)), row(clients), `${what}: ${ref}`);
      // The views: equal to those of a fresh render (objects included), the same object where nothing changed.
      const views = renderViews(cached);
      assert.equal(JSON.stringify(views), JSON.stringify(renderViews(fresh)), `${what}: views`);
      const index = blocksByService(cached);
      for (const [cluster, blocks] of cached.blocks) for (const b of blocks) assert.equal(index.get(b.ref)?.get(cluster), b, `${what}: ${b.ref} in ${cluster}`);
      assert.equal([...index.values()].reduce((n, m) => n + m.size, 0), [...cached.blocks.values()].reduce((n, bs) => n + bs.length, 0), `${what}: index size`);
      if (before && viewsBefore) {
        const old = new Map(viewsBefore.map((v) => [v.ref, v]));
        for (const v of views) {
          const unchanged = !cached.changes?.refs.has(v.ref) && what !== 'nothing';
          if (unchanged && cached.changes) {
            assert.equal(v, old.get(v.ref), `${what}: ${v.ref} keeps its view`);
            kept++;
          }
          if (unchanged && cached.changes && !what.startsWith('c1')) assert.equal(got.get(v.ref), before.get(v.ref), `${what}: ${v.ref} keeps its clients`);
        }
      }
      before = got;
      viewsBefore = views;
    }
    assert.ok(kept >= 15, `views kept by identity: ${kept}`);
  });

  it('computed as a difference (the render\'s changes, the Services whose endpoints changed) equals a full computation after every random edit, and looks only at what changed', () => {
    // A seeded sequence: FailoverServices reordered, removed and back, workloads gone and back, one Service's
    // endpoints moved, a Service gone before discovery drops it (held), a gateway's counts moved, nothing at all.
    let seed = 13;
    const rand = (n: number): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % 4294967296) % n;
    };
    const docs = world(true);
    const all = new Map(docs);
    const cache = new RenderCache();
    const memo: ServingMemo = new Map();
    const fullMemo: ServingMemo = new Map();
    const ready = new Map<string, number>();
    const gateways: Record<string, number> = { c1: 1, c2: 1, c3: 1 };
    const gone = new Set<string>();
    const endpoints = (c: string, _ns: string, name: string): SliceCounts => counts(ready.get(`${c}/${name}`) ?? 3, 1);
    const gateway = (c: string) => ({ ready: gateways[c] ?? 0, total: 1 });
    const serviceGone = (c: string, _ns: string, name: string): boolean => gone.has(`${c}/${name}`);
    let before: ReturnType<typeof computeServing> | undefined;
    let asDifference = 0;
    let looked = 0;
    for (let step = 0; step < 300; step++) {
      const dirty: [string, string, string][] = [];
      const movedGateways = new Set<string>();
      const i = rand(6);
      const c = clusters[rand(3)] as string;
      switch (rand(9)) {
        case 0: {
          const order = [...clusters].sort(() => rand(3) - 1);
          docs.set(`fs/svc${i}`, failoverService(`svc${i}`, order.map((x) => `svc${i}-${x}`), {}, { creationTimestamp: `2026-01-01T00:00:0${i}Z` }));
          break;
        }
        case 1:
          if (docs.has(`fs/svc${i}`)) docs.delete(`fs/svc${i}`);
          else docs.set(`fs/svc${i}`, all.get(`fs/svc${i}`)!);
          break;
        case 2:
          if (docs.has(`mw/svc${i}-${c}`)) docs.delete(`mw/svc${i}-${c}`);
          else docs.set(`mw/svc${i}-${c}`, all.get(`mw/svc${i}-${c}`)!);
          gone.delete(`${c}/svc${i}`);
          break;
        case 3:
        case 4:
          ready.set(`${c}/svc${i}`, rand(4));
          dirty.push([c, 'default', `svc${i}`]);
          break;
        case 5:
          // The Service deleted in the member (its slices with it) before discovery dropped the workload.
          if (docs.has(`mw/svc${i}-${c}`)) {
            gone.add(`${c}/svc${i}`);
            ready.set(`${c}/svc${i}`, 0);
            dirty.push([c, 'default', `svc${i}`]);
          }
          break;
        case 6:
          if (rand(3) === 0) {
            gateways[c] = 1 - (gateways[c] ?? 0);
            movedGateways.add(c);
          }
          break;
        case 7:
          // A Service that was gone is back (its slices unchanged since): what was held is computed again.
          if (gone.size > 0 && rand(2) === 0) {
            const back = [...gone][rand(gone.size)] as string;
            gone.delete(back);
          }
          break;
        default:
          break; // a resync: nothing changed
      }
      const input = [...docs.values()];
      const render = renderDetailed(input, cache);
      const unchanged = { endpoints: (x: string, ns: string, n: string) => !dirty.some((d) => d[0] === x && d[1] === ns && d[2] === n), gateway: (x: string) => !movedGateways.has(x), services: dirty };
      let visited = 0;
      const pass = servingPass({ render, endpoints, gateway, serviceGone }, memo, unchanged);
      let r = pass.next();
      for (; !r.done; r = pass.next()) visited++;
      const got = r.value;
      const want = computeServing({ render, endpoints, gateway, serviceGone }, fullMemo);
      assert.deepEqual([...got.keys()], [...want.keys()], `step ${step}: services`);
      for (const [ref, clients] of want) assert.deepEqual(row(got.get(ref)), row(clients), `step ${step}: ${ref}`);
      // Without history (a fresh render, no memo), the same, except services held from the last shares.
      const fresh = computeServing({ render: renderDetailed(input.map((value, n) => ({ value, source: `#${n}` }))), endpoints, gateway, serviceGone });
      for (const [ref, clients] of fresh) assert.deepEqual(row(got.get(ref)), row(clients), `step ${step}: ${ref} (fresh)`);
      // The blocks index (a patch over the last render's, folded now and then) holds exactly the render's blocks.
      const index = blocksByService(render);
      for (const [cluster, blocks] of render.blocks) for (const b of blocks) assert.equal(index.get(b.ref)?.get(cluster), b, `step ${step}: ${b.ref} in ${cluster}`);
      assert.equal([...index.values()].reduce((n, m) => n + m.size, 0), [...render.blocks.values()].reduce((n, bs) => n + bs.length, 0), `step ${step}: index size`);
      assert.equal(index.size, new Set([...render.blocks.values()].flatMap((bs) => bs.map((b) => b.ref))).size, `step ${step}: services indexed`);
      const diff = servingDifference(got);
      if (diff) {
        assert.equal(diff.since, before, `step ${step}: made from the result before it`);
        for (const [ref, clients] of got) if (!diff.refs.has(ref)) assert.equal(clients, before?.get(ref), `step ${step}: ${ref} unchanged keeps its clients`);
        for (const ref of before?.keys() ?? []) if (!got.has(ref)) assert.ok(diff.refs.has(ref), `step ${step}: ${ref} gone is a change`);
        asDifference++;
        looked += visited;
      }
      before = got;
    }
    // Most steps were computed as a difference, and those looked at a few services (of six) each, not all.
    assert.ok(asDifference >= 200, `computed as a difference: ${asDifference} of 300`);
    assert.ok(looked / asDifference < 3, `services looked at per difference: ${(looked / asDifference).toFixed(2)}`);
  });

  it('a tier discovered from a Service that is gone is not published from the render that still has it: the last shares stay until the render without it', () => {
    const docs = world(true);
    const cache = new RenderCache();
    const memo: ServingMemo = new Map();
    const render = renderDetailed([...docs.values()], cache);
    const endpoints = (c: string, _ns: string, name: string): SliceCounts => counts(c === 'c3' && name === 'svc2' ? 0 : 3);
    const first = computeServing({ render, endpoints: (c) => counts(c === 'c3' ? 3 : 3), gateway: () => undefined, serviceGone: () => false }, memo);
    assert.deepEqual(row(first.get('FailoverService/default/svc2')), ['c1: c1:100:3/3 c2:0:3/3 c3:0:3/3 failing 0', 'c2: c2:100:3/3 c1:0:3/3 c3:0:3/3 failing 0', 'c3: c3:100:3/3 c1:0:3/3 c2:0:3/3 failing 0']);
    // svc2's Service deleted in c3 (its slices with it) before discovery dropped the workload: no "spill from an
    // empty local tier" in between; the shares published before stay, the other services are computed as ever.
    const gone = (c: string, _ns: string, name: string): boolean => c === 'c3' && name === 'svc2';
    const held = computeServing({ render, endpoints, gateway: () => undefined, serviceGone: gone }, memo);
    assert.equal(held.get('FailoverService/default/svc2'), first.get('FailoverService/default/svc2'));
    assert.equal(computeServing({ render, endpoints, gateway: () => undefined, serviceGone: gone }).has('FailoverService/default/svc2'), false, 'without a memo: nothing');
    // Hand-written workloads are not discovery's to drop: their empty tier is published as it is.
    const hand = renderDetailed([...world(false).values()]);
    assert.deepEqual(row(computeServing({ render: hand, endpoints, gateway: () => undefined, serviceGone: gone }).get('FailoverService/default/svc2')).at(-1), 'c3: c3:0:0/0 c1:100:3/3 c2:0:3/3 failing 0');
    // The render without the tier (discovery dropped the workload): c3 is a client-only cluster, published at once.
    docs.delete('mw/svc2-c3');
    const next = renderDetailed([...docs.values()], cache);
    const only = computeServing({ render: next, endpoints, gateway: () => undefined, serviceGone: gone }, memo);
    assert.deepEqual(row(only.get('FailoverService/default/svc2')).at(-1), 'c3: c1:100:3/3 c2:0:3/3 failing 0');
    const events = servingEvents(first.get('FailoverService/default/svc2'), only.get('FailoverService/default/svc2')!);
    assert.deepEqual(events.map((e) => e.message), ['c3 clients: no local workload (client-only cluster); 100% to c1 through the remote gateways']);
  });
});

describe('live tier shares on API doubles', { timeout: 60_000 }, () => {
  let mgmt: KubeDouble;
  const members: Record<string, KubeDouble> = {};
  let m: HttpKubeClient;
  const mc: Record<string, HttpKubeClient> = {};
  let publisher: ServingPublisher;
  const registry = new Registry();
  const fsPath = '/apis/spillway.dev/v1alpha1/namespaces/default/failoverservices/reviews';
  const slicePath = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

  before(async () => {
    mgmt = await KubeDouble.start({ name: 'mgmt' });
    m = new HttpKubeClient(kubeConfigFromText(mgmt.kubeconfig()), { timeoutMs: 5_000 });
    for (const crd of customResourceDefinitions()) await m.request({ method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: crd });
    for (const d of inputs()) {
      const o = d.value as KubeObject;
      const plural = { MeshCluster: 'meshclusters', MeshWorkload: 'meshworkloads', FailoverService: 'failoverservices' }[o.kind]!;
      await m.request({ method: 'POST', path: o.kind === 'MeshCluster' ? `/apis/spillway.dev/v1alpha1/${plural}` : `/apis/spillway.dev/v1alpha1/namespaces/default/${plural}`, body: o });
    }
    for (const c of ['cluster1', 'cluster2']) {
      members[c] = await KubeDouble.start({ name: c });
      const k = new HttpKubeClient(kubeConfigFromText(members[c]!.kubeconfig()), { timeoutMs: 5_000 });
      mc[c] = k;
      await k.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } } });
      // The gateway Service (found by the MeshCluster's selector) has a ready endpoint: remote tiers work.
      await put(k, '/apis/discovery.k8s.io/v1/namespaces/istio-system/endpointslices', slice('istio-system', 'istio-ingressgateway', 'istio-ingressgateway-x', [{ ip: '10.9.0.1', ready: true }]));
      await put(k, slicePath, slice('default', 'reviews', 'reviews-abc', [{ ip: '10.1.0.1', ready: true }, { ip: '10.1.0.2', ready: true }, { ip: '10.1.0.3', ready: true }]));
    }
    publisher = new ServingPublisher({
      management: m,
      clock: realClock,
      jitter: noJitter,
      timing: { backoffBaseMs: 50, backoffMaxMs: 200 },
      isLeader: () => true,
      // Read the FailoverService as the controller's informer would hold it.
      failoverService: () => cachedFs,
      services: () => [gatewayService()],
      log: silentLogger,
      registry,
      debounceMs: 50,
    });
    cachedFs = (await m.request({ method: 'GET', path: fsPath })) as KubeObject;
    for (const c of ['cluster1', 'cluster2']) publisher.attach(c, mc[c]!);
    publisher.setRender(renderDetailed(inputs()));
    await publisher.waitSynced();
  });
  let cachedFs: KubeObject | undefined;

  after(async () => {
    await publisher?.stop();
    m?.close();
    for (const k of Object.values(mc)) k.close();
    await Promise.all([mgmt?.close(), ...Object.values(members).map((d) => d.close())]);
  });

  const serving = async (): Promise<ServingClient[] | undefined> => {
    const fs = (await m.request({ method: 'GET', path: fsPath })) as KubeObject;
    cachedFs = fs;
    return (fs.status as { serving?: ServingClient[] } | undefined)?.serving;
  };
  const events = async (): Promise<KubeObject[]> => ((await m.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: KubeObject[] }).items;

  it('publishes 100% local for healthy clusters, with endpoint counts, and no Event', async () => {
    const s = await until('status.serving', async () => (await serving())?.length === 2 ? (await serving()) : undefined);
    assert.deepEqual(s.map((c) => [c.client, c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`)]), [
      ['cluster1', ['cluster1:100:3/3', 'cluster2:0:3/3']],
      ['cluster2', ['cluster2:100:3/3', 'cluster1:0:3/3']],
    ]);
    assert.ok(s.every((c) => typeof c.lastTransitionTime === 'string'));
    assert.equal((await events()).length, 0);
    assert.match(await registry.expose(), /spillway_tier_share_percent\{client="cluster1",failover_service="default\/reviews",tier="cluster1"\} 100/);
  });

  it('scaling cluster1 down to 1 ready of 3 moves 54% to cluster2 and raises an Event within seconds', async () => {
    const t0 = Date.now();
    await put(mc['cluster1']!, slicePath, slice('default', 'reviews', 'reviews-abc', [{ ip: '10.1.0.1', ready: true }, { ip: '10.1.0.2', ready: false }, { ip: '10.1.0.3', ready: false }]));
    const s = await until('the share to move', async () => {
      const v = await serving();
      return v?.[0]?.tiers[1]?.percent === 54 ? v : undefined;
    });
    const ev = await until('the Event', async () => (await events()).find((e) => e['reason'] === 'Spillover'));
    const took = Date.now() - t0;
    assert.ok(took < 5_000, `published and recorded in ${took} ms`);
    assert.deepEqual(s[0]!.tiers.map((t) => [t.cluster, t.percent, t.healthy, t.total]), [['cluster1', 46, 1, 3], ['cluster2', 54, 3, 3]]);
    assert.equal(ev['message'], 'cluster1 clients: 54% now spill to cluster2, 46% stay on cluster1');
    // The code and its params ride along as annotations; the message renders back from them.
    const ann = (ev['metadata'] as KubeObject['metadata']).annotations ?? {};
    assert.equal(ann['spillway.dev/code'], 'SPW300');
    assert.equal(renderEvent('SPW300', JSON.parse(ann['spillway.dev/params'] ?? '{}') as never), ev['message']);
    assert.equal(ev['type'], 'Warning');
    assert.deepEqual((ev['involvedObject'] as Record<string, unknown>)['kind'], 'FailoverService');
    assert.equal((ev['involvedObject'] as Record<string, unknown>)['name'], 'reviews');
    assert.match(await registry.expose(), /spillway_tier_share_percent\{client="cluster1",failover_service="default\/reviews",tier="cluster2"\} 54/);
    assert.match(await registry.expose(), /spillway_spilled_percent\{client="cluster1",failover_service="default\/reviews"\} 54/);
    assert.match(await registry.expose(), /spillway_failing_percent\{client="cluster1",failover_service="default\/reviews"\} 0/);
  });

  it('every pod gone moves all of it; back to 3 ready fails back with a Normal Event', async () => {
    await put(mc['cluster1']!, slicePath, slice('default', 'reviews', 'reviews-abc', [{ ip: '10.1.0.1', ready: true, terminating: true }]));
    await until('100% to cluster2', async () => ((await serving())?.[0]?.tiers[1]?.percent === 100 ? true : undefined));
    await put(mc['cluster1']!, slicePath, slice('default', 'reviews', 'reviews-abc', [{ ip: '10.1.0.1', ready: true }, { ip: '10.1.0.2', ready: true }, { ip: '10.1.0.3', ready: true }]));
    const back = await until('the Failback Event', async () => (await events()).find((e) => e['reason'] === 'Failback'));
    assert.equal(back['message'], 'cluster1 clients: all traffic back on cluster1');
    assert.equal(back['type'], 'Normal');
    const msgs = (await events()).map((e) => e['message']).sort();
    assert.deepEqual(msgs, ['cluster1 clients: 100% now spill to cluster2', 'cluster1 clients: 54% now spill to cluster2, 46% stay on cluster1', 'cluster1 clients: all traffic back on cluster1']);
    const s = await serving();
    assert.equal(s?.[0]?.tiers[0]?.percent, 100);
  });

  it('a follower computes but never writes', async () => {
    const follower = new ServingPublisher({ management: m, clock: realClock, jitter: noJitter, isLeader: () => false, failoverService: () => cachedFs, log: silentLogger, debounceMs: 10 });
    follower.attach('cluster1', mc['cluster1']!);
    follower.attach('cluster2', mc['cluster2']!);
    follower.setRender(renderDetailed(inputs()));
    await follower.waitSynced();
    const writes = mgmt.writeCount();
    const r = await follower.publishNow();
    assert.equal(r.statusWrites, 0);
    assert.equal(mgmt.writeCount(), writes);
    await follower.stop();
  });
});
