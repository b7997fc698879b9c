/**
 * The controller never causes the outage it exists to prevent: a workload that disappears takes only its cluster
 * out of the tiers; an invalid edit changes nothing live; deregistering a cluster (reachable or dead) drops only that
 * tier. Each test checks the objects that must survive by uid (never deleted and re-created) and by the requests
 * the API doubles received.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeDouble } from '../double/index.ts';
import { WRITE_VERBS } from '../double/index.ts';
import { FAILOVER_SERVICES, MESH_WORKLOADS, OUTPUT_KINDS, objectKey } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { HttpKubeClient } from '../../src/kube/client.ts';
import { LABEL_MANAGED_BY } from '../../src/api/types.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { Fleet } from './harness.ts';
import { TEST_TIMEOUT, applyAs, converged, create, failoverService, get, list, meshWorkload, remove, service, startFleet, until } from './harness.ts';

const ALL = ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3'];
const ISTIO = 'networking.istio.io';

interface FsStatus {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
  clusters?: { name: string; failoverOrder: string[]; syncState: string; message?: string }[];
}

const cond = (s: FsStatus, type: string) => s.conditions?.find((c) => c.type === type);

/** Waits until the FailoverService's status reflects its current generation and `ok` holds; returns it. */
async function statusUntil(f: Fleet, name: string, ok: (s: FsStatus) => boolean, what: string): Promise<FsStatus> {
  let last: FsStatus = {};
  await until(async () => {
    const o = await get(f.mc, FAILOVER_SERVICES, 'default', name);
    last = (o?.status ?? {}) as FsStatus;
    return last.observedGeneration === o?.metadata.generation && ok(last) ? [] : [JSON.stringify(last)];
  }, what);
  return last;
}

function uidOf(d: KubeDouble, resource: string, namespace: string, name: string): string | undefined {
  return (d.peek(ISTIO, resource, namespace, name)?.metadata as { uid?: string } | undefined)?.uid;
}

/** Istio-object writes a member received since its log was reset. */
function istioWrites(d: KubeDouble, verb?: string): string[] {
  return d.requests.filter((r) => r.info?.group === ISTIO && WRITE_VERBS.includes(r.info.verb) && (!verb || r.info.verb === verb)).map((r) => `${r.method} ${r.path} ${r.code}`);
}

/** Every Spillway object in a member, `Kind/ns/name` -> resourceVersion. */
async function snapshot(c: HttpKubeClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const k of OUTPUT_KINDS) {
    const t: ResourceType = { group: ISTIO, version: k.versions[0]!, kind: k.kind, plural: k.plural, namespaced: true };
    for (const o of await list(c, t, `${LABEL_MANAGED_BY}=spillway`)) out.set(objectKey(o), o.metadata.resourceVersion ?? '');
  }
  return out;
}

async function reconciles(ctl: Controller, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) {
    const before = ctl.reconcileCount;
    ctl.trigger();
    await until(async () => (ctl.reconcileCount > before ? [] : ['waiting for a reconcile']), 'a reconcile');
  }
  await ctl.idle();
}

describe('a workload that disappears takes only its cluster out of the tiers', () => {
  let f: Fleet;
  beforeEach(async () => {
    f = await startFleet(3);
    for (const c of f.clients) await create(c, service('reviews'));
  });
  afterEach(async () => f.close(), TEST_TIMEOUT);

  it('a Service deleted in cluster3: cluster1 and cluster2 keep serving local-first; cluster3 keeps the global host for its clients; status names cluster3 and why', TEST_TIMEOUT, async () => {
    await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'three tiers');
    await statusUntil(f, 'reviews', (s) => cond(s, 'Programmed')?.status === 'True' && s.clusters?.length === 3, 'programmed in three clusters');
    const uids = [0, 1, 2].map((i) => uidOf(f.members[i]!, 'serviceentries', 'default', 'reviews-global'));
    assert.ok(uids.every((u) => u !== undefined));
    for (const d of f.members) d.resetLog();

    await remove(f.clients[2]!, service('reviews'));
    await until(async () => ((await get(f.mc, MESH_WORKLOADS, 'default', 'reviews-cluster3')) ? ['still discovered'] : []), 'discovery drops reviews-cluster3');
    await converged(f, 'cluster3 out of the tiers, a client-only cluster', { allow: ['SPW161 FailoverService/default/reviews'] });
    for (const i of [0, 1, 2]) {
      assert.equal(uidOf(f.members[i]!, 'serviceentries', 'default', 'reviews-global'), uids[i], `cluster${i + 1}: the global host was never deleted`);
      // (cluster3's receiving Gateway and VirtualService, reviews-global-gw and -vs, do go.)
      assert.deepEqual(istioWrites(f.members[i]!, 'delete').filter((w) => /\/(serviceentries|envoyfilters)\/reviews-global[ .]/.test(w)), [], `cluster${i + 1}: no global object deleted`);
    }
    // cluster3's clients: the aggregate now has only the remaining tiers, in list order; it receives for nobody.
    const ef = f.members[2]!.peek(ISTIO, 'envoyfilters', 'istio-system', 'reviews-global.default.global') as { spec?: { configPatches?: { patch: { value?: { cluster_type?: { typed_config?: { clusters?: string[] } } } } }[] } } | undefined;
    assert.deepEqual(ef?.spec?.configPatches?.[1]?.patch.value?.cluster_type?.typed_config?.clusters, ['outbound|9080||reviews-remote-cluster1.default.global', 'outbound|9080||reviews-remote-cluster2.default.global']);
    assert.deepEqual([...(await snapshot(f.clients[2]!)).keys()].filter((k) => /Gateway|VirtualService|reviews-local/.test(k)), [], 'no receiving side and no local tier left in cluster3');
    const s = await statusUntil(f, 'reviews', (x) => cond(x, 'Degraded')?.status === 'True' && x.clusters?.find((c) => c.name === 'cluster3')?.failoverOrder.length === 2, 'degraded');
    assert.equal(cond(s, 'Accepted')?.reason, 'AcceptedWithWarnings');
    assert.equal(cond(s, 'Programmed')?.status, 'True');
    assert.equal(cond(s, 'Degraded')?.reason, 'SPW161');
    // The same message as data, through the API server's schema (status.messages).
    assert.deepEqual((s as { messages?: unknown }).messages, [{ code: 'SPW161', level: 'warning', path: 'spec.meshWorkloads[2]', params: { workload: 'default/reviews-cluster3', cluster: 'cluster3', remotes: ['cluster1', 'cluster2'] }, message: 'MeshWorkload default/reviews-cluster3 not found; cluster cluster3 serves no local tier: its clients keep the global host and spill to cluster1, cluster2 through their gateways' }]);
    assert.match(cond(s, 'Degraded')?.message ?? '', /^cluster3 serves no local tier \(clients only\); serving from cluster1, cluster2: SPW161: MeshWorkload default\/reviews-cluster3 not found; cluster cluster3 serves no local tier/);
    assert.deepEqual(s.clusters?.map((c) => [c.name, c.failoverOrder.join('>'), c.syncState]), [
      ['cluster1', 'cluster1>cluster2', 'Synced'],
      ['cluster2', 'cluster2>cluster1', 'Synced'],
      ['cluster3', 'cluster1>cluster2', 'Synced'],
    ]);
    assert.match(s.clusters?.[2]?.message ?? '', /^SPW161: .*its clients keep the global host and spill to cluster1, cluster2 through their gateways$/);

    // The Service comes back: three tiers again, not degraded.
    await create(f.clients[2]!, service('reviews'));
    await converged(f, 'cluster3 back');
    assert.equal(uidOf(f.members[2]!, 'serviceentries', 'default', 'reviews-global'), uids[2], 'cluster3: the global host was never deleted');
    await statusUntil(f, 'reviews', (x) => cond(x, 'Degraded')?.status === 'False' && x.clusters?.length === 3 && x.clusters.every((c) => c.syncState === 'Synced' && !c.message), 'not degraded');
  });

  it('down to one cluster: it still serves the global host locally and says so; the others keep their clients', TEST_TIMEOUT, async () => {
    await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'three tiers');
    const uid = uidOf(f.members[0]!, 'serviceentries', 'default', 'reviews-global');
    await remove(f.clients[1]!, service('reviews'));
    await remove(f.clients[2]!, service('reviews'));
    await converged(f, 'cluster1 alone', { allow: ['SPW161 FailoverService/default/reviews', 'SPW160 FailoverService/default/reviews'] });
    assert.equal(uidOf(f.members[0]!, 'serviceentries', 'default', 'reviews-global'), uid, 'the global host stayed in cluster1');
    const s = await statusUntil(f, 'reviews', (x) => /SPW160/.test(cond(x, 'Degraded')?.message ?? '') && x.clusters?.length === 3, 'local only');
    assert.match(cond(s, 'Degraded')?.message ?? '', /^cluster2, cluster3 serve no local tier \(clients only\); serving from cluster1 only \(locally, no failover\)/);
    assert.deepEqual(s.clusters?.map((c) => [c.name, c.failoverOrder.join('>')]), [['cluster1', 'cluster1'], ['cluster2', 'cluster1'], ['cluster3', 'cluster1']]);
  });

  it('a hand-written MeshWorkload removed (no discovery): only its tier goes', TEST_TIMEOUT, async () => {
    await f.startController({ discovery: false });
    for (const [i, c] of ['cluster1', 'cluster2', 'cluster3'].entries()) await create(f.mc, meshWorkload(`reviews-c${i + 1}`, c, 'reviews'));
    await create(f.mc, failoverService('reviews', ['reviews-c1', 'reviews-c2', 'reviews-c3']));
    await converged(f, 'three tiers');
    const uids = [0, 2].map((i) => uidOf(f.members[i]!, 'serviceentries', 'default', 'reviews-global'));
    await remove(f.mc, meshWorkload('reviews-c2', 'cluster2', 'reviews'));
    await converged(f, 'cluster2 out', { allow: ['SPW127 FailoverService/default/reviews'] });
    assert.deepEqual([0, 2].map((i) => uidOf(f.members[i]!, 'serviceentries', 'default', 'reviews-global')), uids);
  });

  it('a FailoverService over Services that exist in no cluster is not reported healthy', TEST_TIMEOUT, async () => {
    await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await create(f.mc, failoverService('ghost', ['ghost-cluster1', 'ghost-cluster2']));
    await converged(f, 'reviews converges beside ghost', { allow: ['SPW129 FailoverService/default/ghost', 'SPW127 FailoverService/default/ghost'] });
    const s = await statusUntil(f, 'ghost', (x) => cond(x, 'Accepted') !== undefined, 'ghost status');
    assert.deepEqual([cond(s, 'Accepted')?.status, cond(s, 'Accepted')?.reason], ['False', 'SPW129']);
    assert.deepEqual([cond(s, 'Programmed')?.status, cond(s, 'Programmed')?.reason], ['False', 'NotAccepted']);
  });
});

describe('an invalid edit changes nothing live; deleting the FailoverService removes everything', () => {
  let f: Fleet;
  beforeEach(async () => {
    f = await startFleet(3);
    for (const c of f.clients) await create(c, service('reviews'));
  });
  afterEach(async () => f.close(), TEST_TIMEOUT);

  it('spec.port naming no port: last good objects stay (also across a restart), status says so; fixing converges', TEST_TIMEOUT, async () => {
    let ctl = await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'valid');
    await statusUntil(f, 'reviews', (s) => cond(s, 'Programmed')?.reason === 'Programmed', 'programmed');
    await ctl.idle();
    const before = await Promise.all(f.clients.map(snapshot));
    assert.ok(before.every((m) => m.size >= 3), JSON.stringify(before.map((m) => [...m.keys()])));
    for (const d of f.members) d.resetLog();

    await applyAs(f.mc, { ...failoverService('reviews', ALL), spec: { meshWorkloads: ALL, port: 'no-such-port' } });
    const s = await statusUntil(f, 'reviews', (x) => cond(x, 'Accepted')?.status === 'False', 'rejected');
    assert.equal(cond(s, 'Accepted')?.reason, 'SPW108');
    assert.match(cond(s, 'Accepted')?.message ?? '', /SPW108: .*; the last good configuration is still served \(cluster1, cluster2, cluster3\)$/);
    assert.deepEqual([cond(s, 'Programmed')?.status, cond(s, 'Programmed')?.reason], ['True', 'LastGoodServed']);
    assert.equal(s.clusters?.length, 3, 'the clusters still served are listed');
    await reconciles(ctl);
    // A restarted controller has no memory of the last good render: it holds the objects all the same.
    await ctl.stop();
    ctl = await f.startController();
    await reconciles(ctl);
    assert.deepEqual(f.members.map((d) => istioWrites(d)), [[], [], []], 'no Istio object written or deleted anywhere');
    assert.deepEqual(await Promise.all(f.clients.map(snapshot)), before);

    await applyAs(f.mc, failoverService('reviews', [ALL[1]!, ALL[0]!, ALL[2]!]));
    await converged(f, 'fixed');
    await statusUntil(f, 'reviews', (x) => cond(x, 'Accepted')?.status === 'True' && cond(x, 'Programmed')?.reason === 'Programmed', 'accepted again');

    await remove(f.mc, failoverService('reviews', []));
    await converged(f, 'deleted: everything it owned is gone', { allowEmpty: true });
    assert.deepEqual((await Promise.all(f.clients.map(snapshot))).map((m) => m.size), [0, 0, 0]);
  });
});

describe('deregistering a cluster drops only that tier', () => {
  let f: Fleet;
  beforeEach(async () => {
    f = await startFleet(3);
    for (const c of f.clients) await create(c, service('reviews'));
  });
  afterEach(async () => f.close(), TEST_TIMEOUT);

  it('a reachable cluster: it leaves every service, and its own objects are removed there', TEST_TIMEOUT, async () => {
    await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await create(f.mc, failoverService('ratings', ['ratings-cluster3', 'ratings-cluster1']));
    for (const c of [f.clients[0]!, f.clients[2]!]) await create(c, service('ratings'));
    await converged(f, 'initial');
    const uid = uidOf(f.members[0]!, 'serviceentries', 'default', 'reviews-global');
    await remove(f.mc, { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'cluster3' } });
    // The render no longer has cluster3, so nothing Spillway wrote may be left there.
    await converged(f, 'cluster3 deregistered and emptied', { allow: ['SPW127 FailoverService/default/reviews', 'SPW127 FailoverService/default/ratings', 'SPW160 FailoverService/default/ratings'] });
    assert.equal((await snapshot(f.clients[2]!)).size, 0);
    assert.equal(uidOf(f.members[0]!, 'serviceentries', 'default', 'reviews-global'), uid);
  });

  it('a dead cluster: the surviving members only lose that tier; its objects are left where they are', TEST_TIMEOUT, async () => {
    await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'initial');
    const uids = [0, 1].map((i) => uidOf(f.members[i]!, 'serviceentries', 'default', 'reviews-global'));
    await f.members[2]!.down();
    for (const d of f.members.slice(0, 2)) d.resetLog();
    await remove(f.mc, { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'cluster3' } });
    await converged(f, 'two tiers', { only: ['cluster1', 'cluster2'], allow: ['SPW127 FailoverService/default/reviews'] });
    for (const i of [0, 1]) {
      assert.equal(uidOf(f.members[i]!, 'serviceentries', 'default', 'reviews-global'), uids[i]);
      assert.deepEqual(istioWrites(f.members[i]!, 'delete').filter((w) => w.includes('reviews-global')), []);
    }
    assert.ok(f.members[2]!.peek(ISTIO, 'serviceentries', 'default', 'reviews-global'), 'nothing could be removed from the dead cluster');
    await f.members[2]!.up();
  });
});
