/**
 * The degraded states against three real API servers (the controller as the installed identity): a workload that
 * disappears takes only its tier out; an invalid edit changes nothing live; a FailoverService over Services that
 * exist nowhere is not healthy; deregistering a cluster (reachable, then dead) drops only its tier. What must
 * survive is checked by uid (never deleted and re-created) and by the audit logs (no delete, no write at all while
 * held), so a controller that pruned everywhere and wrote it all back would still fail. One set of clusters serves
 * every test, in order; each test leaves the three tiers converged for the next.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.ts';
import { LABEL_MANAGED_BY } from '../../src/api/types.ts';
import type { HttpKubeClient } from '../../src/kube/client.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, OUTPUT_KINDS, ISTIO_GROUP, objectKey } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { renderDetailed } from '../../src/core/render.ts';
import type { AuditEvent } from '../support/real-cluster.ts';
import { applyAs, converged, create, failoverService, get, inputs, list, remove, service, until } from '../controller/harness.ts';
import type { ServingClient } from '../../src/controller/serving.ts';
import { cli, kubectl, ok } from './kube.ts';
import { startInstalledFleet } from './fleet.ts';
import type { RealFleet } from './fleet.ts';

const WAIT = 60_000;
const ALL = ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3'];
const SE: ResourceType = { group: ISTIO_GROUP, version: 'v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true };
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface FsStatus {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
  clusters?: { name: string; failoverOrder: string[]; syncState: string; message?: string }[];
}
const cond = (s: FsStatus, type: string) => s.conditions?.find((c) => c.type === type);

/** Every Spillway object in a member: objectKey -> uid and resourceVersion. */
async function snapshot(c: HttpKubeClient): Promise<Map<string, { uid: string; rv: string }>> {
  const out = new Map<string, { uid: string; rv: string }>();
  for (const k of OUTPUT_KINDS) {
    const t: ResourceType = { group: ISTIO_GROUP, version: k.versions[0]!, kind: k.kind, plural: k.plural, namespaced: true };
    for (const o of await list(c, t, `${LABEL_MANAGED_BY}=spillway`)) out.set(objectKey(o), { uid: String((o.metadata as { uid?: string }).uid), rv: o.metadata.resourceVersion ?? '' });
  }
  return out;
}

/** Istio-object writes (any identity) answered since `mark`, as `verb name`. */
function istioWrites(events: AuditEvent[], mark: number, verbs = WRITES): string[] {
  return events.slice(mark).filter((e) => e.stage === 'ResponseComplete' && e.objectRef?.apiGroup === ISTIO_GROUP && verbs.has(e.verb)).map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} ${e.responseStatus?.code}`);
}

/** `reviews`' EndpointSlice in a member, one endpoint per entry (ready or not). */
const slice = (ready: boolean[]): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'reviews-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'reviews' } },
  addressType: 'IPv4',
  endpoints: ready.map((r, i) => ({ addresses: [`10.1.0.${i + 1}`], conditions: { ready: r, serving: r, terminating: false }, targetRef: { kind: 'Pod', namespace: 'default', name: `reviews-${i}` } })),
  ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
});
const row = (c: ServingClient): string => `${c.client}: ${c.tiers.map((t) => `${t.cluster}:${t.percent}:${t.healthy}/${t.total}`).join(' ')}`;
/** SPILLWAY_KEEP_OUTPUT=<dir> keeps what the commands printed (docs/controller.md quotes it). */
const keep = (name: string, text: string): void => {
  const dir = process.env['SPILLWAY_KEEP_OUTPUT'];
  if (dir) writeFileSync(join(dir, name), text);
};

describe('degraded states against real API servers', { timeout: 900_000 }, () => {
  let f: RealFleet;
  let ctl: Controller;

  const statusUntil = async (name: string, okf: (s: FsStatus) => boolean, what: string): Promise<FsStatus> => {
    let last: FsStatus = {};
    await until(async () => {
      const o = await get(f.mc, FAILOVER_SERVICES, 'default', name);
      last = (o?.status ?? {}) as FsStatus;
      return last.observedGeneration === o?.metadata.generation && okf(last) ? [] : [JSON.stringify(last)];
    }, what, WAIT);
    return last;
  };
  /** Desired objects still wanted in `cluster` kept their uid from `before` (never deleted and re-created). */
  const survivors = async (i: number, before: Map<string, { uid: string }>): Promise<void> => {
    const want = renderDetailed(await inputs(f)).clusters[f.names[i]!] ?? [];
    const now = await snapshot(f.clients[i]!);
    const kept = want.map(objectKey).filter((k) => before.has(k));
    assert.ok(kept.some((k) => k.endsWith('/ServiceEntry/default/reviews-global')), `${f.names[i]}: the global host is still desired`);
    for (const k of kept) assert.equal(now.get(k)?.uid, before.get(k)!.uid, `${f.names[i]}: ${k} kept its uid`);
  };
  const threeTiers = async (what: string): Promise<void> => {
    await converged(f, what, { timeoutMs: WAIT });
    await statusUntil('reviews', (s) => cond(s, 'Programmed')?.reason === 'Programmed' && cond(s, 'Degraded')?.status === 'False' && s.clusters?.length === 3 && s.clusters.every((c) => c.syncState === 'Synced'), `${what}: three tiers, not degraded`);
    await ctl.idle();
  };

  /** Waits until status.serving reads `want` (one row per client); returns it. */
  const servingUntil = async (want: string[], what: string): Promise<ServingClient[]> => {
    let last: ServingClient[] = [];
    await until(async () => {
      last = ((await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { serving?: ServingClient[] } | undefined)?.serving ?? [];
      return JSON.stringify(last.map(row)) === JSON.stringify(want) ? [] : [JSON.stringify(last.map(row))];
    }, what, WAIT);
    return last;
  };
  const eventUntil = async (okf: (e: KubeObject) => boolean, what: string): Promise<KubeObject> => {
    let hit: KubeObject | undefined;
    await until(async () => {
      const evs = ((await f.mc.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: KubeObject[] }).items;
      hit = evs.find(okf);
      return hit ? [] : [JSON.stringify(evs.map((e) => `${String(e['reason'])}: ${String(e['message'])}`))];
    }, what, WAIT);
    return hit!;
  };

  before(async () => {
    f = await startInstalledFleet(WAIT);
    ctl = await f.startController();
    for (const c of f.clients) await create(c, service('reviews'));
    await until(async () => ((await list(f.mc, MESH_WORKLOADS)).length === 3 ? [] : ['discovering']), 'reviews discovered in three clusters', WAIT);
    await create(f.mc, failoverService('reviews', ALL));
    await threeTiers('initial');
  });

  after(async () => {
    await f?.close();
  });

  it('a Service deleted in cluster3: only its tier goes; every cluster keeps the global host, cluster3 for its clients only; status warns SPW161', { timeout: 180_000 }, async () => {
    // Live endpoints as the EndpointSlice controller would write them (a bare API server runs none): cluster1 has
    // 1 ready of 3, cluster2 and cluster3 all 3 ready. Discovered workloads have the Services' selectors, so each
    // local tier is Spillway's dedicated host, where istiod sends ready pods only: cluster1's tier is 1/1.
    await applyAs(f.clients[0]!, slice([true, false, false]));
    for (const c of f.clients.slice(1)) await applyAs(c, slice([true, true, true]));
    await servingUntil(['cluster1: cluster1:100:1/1 cluster2:0:3/3 cluster3:0:3/3', 'cluster2: cluster2:100:3/3 cluster1:0:1/1 cluster3:0:3/3', 'cluster3: cluster3:100:3/3 cluster1:0:1/1 cluster2:0:3/3'], 'shares of three clients');
    const before = await Promise.all(f.clients.map(snapshot));
    const marks = f.clusters.map((c) => c.audit().length);
    const listEvents = async (): Promise<KubeObject[]> => ((await f.mc.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: KubeObject[] }).items;
    const earlier = new Set((await listEvents()).map((e) => e.metadata.name));
    await remove(f.clients[2]!, service('reviews'));
    await remove(f.clients[2]!, slice([])); // the EndpointSlice controller deletes a deleted Service's slices
    const t0 = Date.now();
    await until(async () => ((await get(f.mc, MESH_WORKLOADS, 'default', 'reviews-cluster3')) ? ['still discovered'] : []), 'discovery drops reviews-cluster3', WAIT);
    await converged(f, 'cluster3 out of the tiers, a client-only cluster', { allow: ['SPW161 FailoverService/default/reviews'], timeoutMs: WAIT });
    for (const i of [0, 1, 2]) {
      await survivors(i, before[i]!);
      const deleted = istioWrites(f.clusters[i]!.audit(), marks[i]!, new Set(['delete']));
      // cluster1 and cluster2 lose their tier for cluster3; cluster3 its local tier and its receiving side.
      const allowed = i < 2 ? /remote-cluster3 / : /(reviews-local|reviews-global-gw|reviews-global\.default\.global-vs) /;
      assert.ok(deleted.every((d) => allowed.test(d)), `${f.names[i]}: only cluster3's tier was deleted: ${deleted.join(', ')}`);
    }
    const s = await statusUntil('reviews', (x) => cond(x, 'Degraded')?.status === 'True' && x.clusters?.[2]?.failoverOrder.length === 2, 'degraded');
    assert.deepEqual([cond(s, 'Accepted')?.reason, cond(s, 'Programmed')?.status, cond(s, 'Degraded')?.reason], ['AcceptedWithWarnings', 'True', 'SPW161']);
    assert.match(cond(s, 'Degraded')?.message ?? '', /^cluster3 serves no local tier \(clients only\); serving from cluster1, cluster2: SPW161: MeshWorkload default\/reviews-cluster3 not found/);
    assert.deepEqual(s.clusters?.map((c) => [c.name, c.failoverOrder.join('>'), c.syncState]), [
      ['cluster1', 'cluster1>cluster2', 'Synced'],
      ['cluster2', 'cluster2>cluster1', 'Synced'],
      ['cluster3', 'cluster1>cluster2', 'Synced'],
    ]);
    // Live tier shares: cluster3's clients are published like any other's, over cluster1 and cluster2's tiers (in
    // list order, through their gateways), and an Event says what changed for them.
    const only = await servingUntil(['cluster1: cluster1:100:1/1 cluster2:0:3/3', 'cluster2: cluster2:100:3/3 cluster1:0:1/1', 'cluster3: cluster1:100:1/1 cluster2:0:3/3'], 'cluster3 remote-only in status.serving');
    for (const c of only) assert.equal(c.tiers.reduce((a, t) => a + t.percent, 0) + c.failingPercent, 100, `${c.client}: shares add up`);
    // The slice's deletion can reach the share publisher before the reconcile that drops the discovered workload has
    // rendered: the publisher holds that service's shares until it has (a tier discovered from a Service that is
    // gone is on its way out; its pods still serve the dedicated local host meanwhile), so the one Event cluster3's
    // clients get is the client-only one, never a spill from an empty local tier first.
    const clientOnly = 'cluster3 clients: no local workload (client-only cluster); 100% to cluster1 through the remote gateways';
    const event = await eventUntil((e) => e['reportingInstance'] === 'cluster3' && e['reason'] === 'Spillover' && e['message'] === clientOnly, 'the client-only Event for cluster3\'s clients');
    const spills = (await listEvents()).filter((e) => !earlier.has(e.metadata.name) && e['reportingInstance'] === 'cluster3' && e['reason'] === 'Spillover');
    assert.deepEqual(spills.map((e) => e['message']), [clientOnly], 'cluster3 clients: the client-only Event alone');
    const took = Date.now() - t0;
    assert.equal(event['type'], 'Warning');
    const table = await cli(['status', '--kubeconfig', f.mgmt.kubeconfigPath]);
    assert.match(table, /^default +reviews +cluster3 +\(no local tier\) cluster1 100% 1\/1, cluster2 0% 3\/3 /m);
    keep('client-only-status.txt', table);
    const metrics = (await ctl.metrics.registry.expose()).split('\n').filter((l) => l.includes('client="cluster3"'));
    assert.ok(metrics.includes('spillway_tier_share_percent{client="cluster3",failover_service="default/reviews",tier="cluster1"} 100'), metrics.join('\n'));
    assert.ok(!metrics.some((l) => l.includes('tier="cluster3"')), 'no tier of its own');
    keep('client-only-metrics.txt', metrics.join('\n'));
    keep('client-only-serving.json', JSON.stringify({ took, serving: only.map(({ lastTransitionTime: _t, ...c }) => c), event: { type: event['type'], reason: event['reason'], message: event['message'] } }, null, 2));
    // cluster1 has no ready pod left: cluster3's clients move to the next tier in list order.
    await applyAs(f.clients[0]!, slice([false, false, false]));
    await servingUntil(['cluster1: cluster1:0:0/0 cluster2:100:3/3', 'cluster2: cluster2:100:3/3 cluster1:0:0/0', 'cluster3: cluster1:0:0/0 cluster2:100:3/3'], 'cluster3 served by cluster2');
    const next = await eventUntil((e) => e['reportingInstance'] === 'cluster3' && e['message'] === 'cluster3 clients: 100% spill to cluster2', 'an Event for cluster3 moving to cluster2');
    assert.equal(next['reason'], 'Spillover');
    keep('client-only-status-2.txt', await cli(['status', '--kubeconfig', f.mgmt.kubeconfigPath]));
    await applyAs(f.clients[0]!, slice([true, false, false]));
    await create(f.clients[2]!, service('reviews'));
    await applyAs(f.clients[2]!, slice([true, true, true]));
    await threeTiers('the Service is back');
    await servingUntil(['cluster1: cluster1:100:1/1 cluster2:0:3/3 cluster3:0:3/3', 'cluster2: cluster2:100:3/3 cluster1:0:1/1 cluster3:0:3/3', 'cluster3: cluster3:100:3/3 cluster1:0:1/1 cluster2:0:3/3'], 'cluster3 serves itself again');
  });

  it('an invalid edit (spec.port naming no port) writes nothing anywhere; Accepted=False SPW108, last good served; fixing converges', { timeout: 180_000 }, async () => {
    const before = await Promise.all(f.clients.map(snapshot));
    const marks = f.clusters.map((c) => c.audit().length);
    await applyAs(f.mc, { ...failoverService('reviews', ALL), spec: { meshWorkloads: ALL, port: 'no-such-port' } });
    const s = await statusUntil('reviews', (x) => cond(x, 'Accepted')?.status === 'False', 'rejected');
    assert.equal(cond(s, 'Accepted')?.reason, 'SPW108');
    assert.match(cond(s, 'Accepted')?.message ?? '', /SPW108: .*; the last good configuration is still served \(cluster1, cluster2, cluster3\)$/);
    assert.deepEqual([cond(s, 'Programmed')?.status, cond(s, 'Programmed')?.reason], ['True', 'LastGoodServed']);
    // Several reconciles of the held service, then: not one Istio write in any cluster, every object as it was.
    for (let i = 0; i < 3; i++) {
      const n = ctl.reconcileCount;
      ctl.trigger();
      await until(async () => (ctl.reconcileCount > n ? [] : ['waiting']), 'a reconcile', WAIT);
      await ctl.idle();
    }
    assert.deepEqual(f.clusters.map((c, i) => istioWrites(c.audit(), marks[i]!)), [[], [], []], 'no Istio object written or deleted anywhere');
    assert.deepEqual(await Promise.all(f.clients.map(snapshot)), before);
    await applyAs(f.mc, failoverService('reviews', ALL));
    await threeTiers('fixed');
  });

  it('a FailoverService over Services that exist in no cluster is not healthy: Accepted=False SPW129, nothing programmed', { timeout: 120_000 }, async () => {
    await create(f.mc, failoverService('ghost', ['ghost-cluster1', 'ghost-cluster2']));
    const s = await statusUntil('ghost', (x) => cond(x, 'Accepted') !== undefined, 'ghost status');
    assert.deepEqual([cond(s, 'Accepted')?.status, cond(s, 'Accepted')?.reason], ['False', 'SPW129']);
    assert.deepEqual([cond(s, 'Programmed')?.status, cond(s, 'Programmed')?.reason], ['False', 'NotAccepted']);
    assert.notEqual(cond(s, 'Degraded')?.status, 'False', 'not reported as serving every tier');
    await converged(f, 'reviews untouched beside ghost', { allow: ['SPW129 FailoverService/default/ghost', 'SPW127 FailoverService/default/ghost'], timeoutMs: WAIT });
    for (const c of f.clients) assert.equal((await list(c, SE, `${LABEL_MANAGED_BY}=spillway`)).filter((o) => o.metadata.name.startsWith('ghost')).length, 0);
    await remove(f.mc, failoverService('ghost', []));
  });

  it('deleting a reachable cluster\'s MeshCluster empties it and drops its tier elsewhere; registering it again restores three tiers', { timeout: 180_000 }, async () => {
    const before = await Promise.all(f.clients.map(snapshot));
    assert.ok(before[2]!.size > 0);
    const mcObj: KubeObject = { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'cluster3' } };
    await remove(f.mc, mcObj);
    await converged(f, 'cluster3 deregistered', { allow: ['SPW127 FailoverService/default/reviews'], timeoutMs: WAIT });
    await until(async () => ((await snapshot(f.clients[2]!)).size === 0 ? [] : [...(await snapshot(f.clients[2]!)).keys()]), 'cluster3 emptied of Spillway objects', WAIT);
    for (const i of [0, 1]) await survivors(i, before[i]!);
    const s = await statusUntil('reviews', (x) => cond(x, 'Degraded')?.status === 'True', 'degraded');
    assert.match(cond(s, 'Degraded')?.message ?? '', /serving from cluster1, cluster2/);
    ok(await kubectl(f.mgmt, ['apply', '-f', '-'], f.registration.get('cluster3')!), 'register cluster3 again');
    await threeTiers('cluster3 registered again');
  });

  it('deregistering a dead member drops only its tier; nothing of the survivors is deleted', { timeout: 240_000 }, async () => {
    const before = await Promise.all(f.clients.map(snapshot));
    const marks = f.clusters.map((c) => c.audit().length);
    await f.clusters[2]!.stop();
    await until(async () => ((await get(f.mc, MESH_CLUSTERS, undefined, 'cluster3'))?.status as { reachable?: boolean } | undefined)?.reachable === false ? [] : ['reachable'], 'cluster3 unreachable', WAIT);
    await remove(f.mc, { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'cluster3' } });
    await converged(f, 'two tiers', { only: ['cluster1', 'cluster2'], allow: ['SPW127 FailoverService/default/reviews'], timeoutMs: WAIT });
    for (const i of [0, 1]) {
      await survivors(i, before[i]!);
      const deleted = istioWrites(f.clusters[i]!.audit(), marks[i]!, new Set(['delete']));
      assert.ok(deleted.every((d) => /remote-cluster3 /.test(d)), `${f.names[i]}: only cluster3's tier was deleted: ${deleted.join(', ')}`);
    }
    await f.clusters[2]!.restart();
    const want = [...before[2]!.keys()].sort().join('\n');
    await until(async () => {
      const got = await snapshot(f.clients[2]!).then((m) => [...m.keys()].sort().join('\n'), (e: Error) => e.message);
      return got === want ? [] : [got];
    }, 'nothing could be removed from the dead cluster (left as it was)', WAIT);
  });
});
