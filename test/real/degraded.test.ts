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
import type { KubeObject } from '../../src/api/types.ts';
import { LABEL_MANAGED_BY } from '../../src/api/types.ts';
import type { HttpKubeClient } from '../../src/kube/client.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, OUTPUT_KINDS, ISTIO_GROUP, objectKey } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { renderDetailed } from '../../src/core/render.ts';
import type { AuditEvent } from '../support/real-cluster.ts';
import { applyAs, converged, create, failoverService, get, inputs, list, remove, service, until } from '../controller/harness.ts';
import { kubectl, ok } from './kube.ts';
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
    const before = await Promise.all(f.clients.map(snapshot));
    const marks = f.clusters.map((c) => c.audit().length);
    await remove(f.clients[2]!, service('reviews'));
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
    await create(f.clients[2]!, service('reviews'));
    await threeTiers('the Service is back');
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
