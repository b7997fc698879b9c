/** The pure reconcile contract: change detection, planning, statuses. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { renderDetailed } from '../../src/core/render.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { message } from '../../src/api/messages.ts';
import { applyIsNoop, isSubset, ownedFieldsMissing } from '../../src/controller/compare.ts';
import { desiredHash } from '../../src/core/content-hash.ts';
import { FIELD_MANAGER, clusterStatus, collisionReason, decide, planCluster, planClusterBlocks, planReconcile, sameStatus, serviceStatus } from '../../src/controller/reconcile.ts';
import type { RenderBlock } from '../../src/core/render.ts';
import type { ApplyMemo, ClusterOutcome, LiveCluster } from '../../src/controller/reconcile.ts';
import { objectKey } from '../../src/kube/resources.ts';
import { ANNOTATION_OWNER, ownerId } from '../../src/api/ownership.ts';

const seed = yaml.loadAll(readFileSync(new URL('../../examples/seed.yaml', import.meta.url), 'utf8')) as KubeObject[];
const noMemo: ApplyMemo = () => undefined;

/** What a server returns after our apply: the object plus server metadata and a managedFields entry for our fields. */
function asLive(o: KubeObject, rv = '7', extra: Record<string, unknown> = {}): KubeObject {
  const fields = (v: unknown): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [`f:${k}`, fields(x)]));
  };
  const { apiVersion: _a, kind: _k, metadata, ...rest } = o;
  const managed = { 'f:metadata': fields({ labels: metadata.labels, annotations: metadata.annotations }), ...fields(rest) };
  return {
    ...structuredClone(o),
    ...extra,
    metadata: { ...structuredClone(o.metadata), uid: 'u1', resourceVersion: rv, creationTimestamp: '2024-01-01T00:00:00Z', managedFields: [{ manager: FIELD_MANAGER, operation: 'Apply', apiVersion: o.apiVersion, fieldsV1: managed }] } as KubeObject['metadata'],
  };
}

const cluster1 = (): KubeObject[] => renderDetailed(seed).clusters.cluster1!;
const planned = (o: KubeObject) => ({ key: objectKey(o), object: o });

describe('change detection', () => {
  it('isSubset: extra live fields are fine, different or missing ones are not; lists compare whole', { timeout: 300_000 }, () => {
    assert.equal(isSubset({ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'x', d: 2 }, e: 3 }), true);
    assert.equal(isSubset({ a: 1 }, { a: 2 }), false);
    assert.equal(isSubset({ a: { b: 1 } }, { a: {} }), false);
    assert.equal(isSubset({ l: [1, 2] }, { l: [1, 2, 3] }), false);
    assert.equal(isSubset({ l: [{ n: 'a' }] }, { l: [{ n: 'a', defaulted: true }] }), true);
  });

  it('an apply of exactly what is live is a no-op; a changed value or a dropped field is not', { timeout: 300_000 }, () => {
    for (const o of cluster1()) {
      const live = asLive(o);
      assert.equal(applyIsNoop(o, live, FIELD_MANAGER), true, `${o.kind} ${o.metadata.name}`);
    }
    const se = cluster1().find((o) => o.kind === 'ServiceEntry')!;
    const live = asLive(se);
    const changed = structuredClone(se);
    (changed.spec as { resolution: string }).resolution = 'DNS';
    assert.equal(applyIsNoop(changed, live, FIELD_MANAGER), false);
    const dropped = structuredClone(se);
    delete (dropped.spec as { addresses?: unknown }).addresses;
    assert.deepEqual(ownedFieldsMissing(dropped, live, FIELD_MANAGER), ['spec.addresses']);
    assert.equal(applyIsNoop(dropped, live, FIELD_MANAGER), false);
    const noLabel = structuredClone(se);
    delete noLabel.metadata.annotations;
    assert.equal(applyIsNoop(noLabel, live, FIELD_MANAGER), false, 'an annotation we owned would be removed');
  });

  it('fields owned by other managers do not count as ours', { timeout: 300_000 }, () => {
    const se = cluster1()[0]!;
    const live = asLive(se);
    (live.metadata as unknown as { managedFields: { manager: string }[] }).managedFields[0]!.manager = 'kubectl';
    const dropped = structuredClone(se);
    delete (dropped.spec as { addresses?: unknown }).addresses;
    assert.deepEqual(ownedFieldsMissing(dropped, live, FIELD_MANAGER), []);
  });
});

describe('decide and planCluster', () => {
  it('decide: absent -> create, unlabelled -> collision, same -> unchanged, drifted -> update; memo short-cuts', { timeout: 300_000 }, () => {
    const o = cluster1()[0]!;
    const p = planned(o);
    assert.equal(decide(p, undefined, 'cluster1', noMemo), 'create');
    const foreign = asLive(o);
    foreign.metadata.labels = { team: 'x' };
    assert.equal(decide(p, foreign, 'cluster1', noMemo), 'collision');
    assert.equal(decide(p, asLive(o), 'cluster2', noMemo), 'collision', 'labelled for another cluster');
    assert.equal(decide(p, asLive(o), 'cluster1', noMemo), 'settled');
    const drifted = asLive(o);
    (drifted.spec as { hosts: string[] }).hosts = ['tampered'];
    assert.equal(decide(p, drifted, 'cluster1', noMemo), 'update');
    // The server dropped a field we send (schema pruning): after one apply, the memo stops endless re-applies.
    const pruned = asLive(o, '9');
    delete (pruned.spec as { location?: string }).location;
    assert.equal(decide(p, pruned, 'cluster1', noMemo), 'update');
    assert.equal(decide(p, pruned, 'cluster1', () => ({ hash: desiredHash(o), resourceVersion: '9' })), 'settled');
    assert.equal(decide(p, pruned, 'cluster1', () => ({ hash: desiredHash(o), resourceVersion: '8' })), 'update', 'changed since our apply');
  });

  it('a plan translates a block when the executor takes its first object, and lets the objects go once each is taken', { timeout: 60_000 }, () => {
    const desired = cluster1();
    assert.ok(desired.length >= 4, 'enough objects to split');
    const half = Math.floor(desired.length / 2);
    const translations = [0, 0];
    const block = (n: number, objects: KubeObject[]): RenderBlock => ({ ref: `FailoverService/default/b${n}`, keys: objects.map(objectKey), hashes: Float64Array.from(objects, (o) => desiredHash(o)), objects: () => (translations[n]!++, structuredClone(objects)) });
    const blocks = [block(0, desired.slice(0, half)), block(1, desired.slice(half))];
    // An empty member: every object is probed (then created), as in a first sync.
    const plan = planClusterBlocks('cluster1', blocks, { ready: true, labelled: new Map() }, noMemo);
    assert.equal(plan.probe.length, desired.length);
    assert.deepEqual(translations, [0, 0], 'planning translates nothing');
    // The executor takes each planned object once, in plan order: each block is translated once, when first needed.
    const taken = plan.probe.map((p, i) => {
      const o = p.object;
      assert.deepEqual(translations, i < half ? [1, 0] : [1, 1], `after taking object ${i}`);
      return o;
    });
    assert.deepEqual(taken, desired, 'the objects are the render\'s');
    assert.deepEqual(plan.probe.map((p) => p.key), desired.map(objectKey));
    // Every object of both blocks was taken: neither block's objects are held any more (a read translates again).
    assert.deepEqual(plan.probe[0]!.object, desired[0]);
    assert.deepEqual(translations, [2, 1]);
  });

  it('plans applies, probes, prunes; never prunes objects of other clusters or unlabelled ones', { timeout: 300_000 }, () => {
    const desired = cluster1();
    const [first, second, ...others] = desired;
    const drifted = asLive(second!);
    (drifted.spec as Record<string, unknown>).extra = 1; // someone else's field: fine
    (drifted.spec as Record<string, unknown>).hosts = ['tampered.example']; // ours, changed: re-apply
    // An object Spillway wrote under a name it no longer renders: its own owner annotation, our managedFields.
    const stale = asLive({ ...first!, metadata: { ...first!.metadata, name: 'old-one', annotations: { ...first!.metadata.annotations, [ANNOTATION_OWNER]: ownerId('cluster1', first!.kind, first!.metadata.namespace, 'old-one') } } });
    const otherCluster = asLive({ ...first!, metadata: { ...first!.metadata, name: 'elsewhere', labels: { ...first!.metadata.labels, 'spillway.dev/cluster': 'cluster9' } } });
    const labelled = new Map<string, KubeObject>([first!, ...others.slice(0, 2)].map((o) => [objectKey(o), asLive(o)]));
    labelled.set(objectKey(drifted), drifted);
    labelled.set(objectKey(stale), stale);
    labelled.set(objectKey(otherCluster), otherCluster);
    const plan = planCluster('cluster1', desired, { ready: true, labelled }, noMemo);
    assert.deepEqual(plan.apply.map((p) => p.object.metadata.name), [second!.metadata.name]);
    assert.deepEqual(plan.probe.map((p) => p.key), others.slice(2).map(objectKey));
    assert.deepEqual(plan.prune.map((o) => o.metadata.name), ['old-one']);
    assert.equal(plan.settled, 3, 'found in place');
  });

  it('ownership is not a label: look-alikes and renamed copies are never pruned or updated; pre-annotation objects are adopted', { timeout: 300_000 }, () => {
    const desired = cluster1();
    const first = desired[0]!;
    const named = (name: string, annotations = first.metadata.annotations) => ({ ...first, metadata: { ...first.metadata, name, annotations } });
    // Someone else labelled an object of theirs with Spillway's labels (their field manager, no owner annotation).
    const lookalike = asLive(named('payments', {}));
    (lookalike.metadata as unknown as { managedFields: { manager: string }[] }).managedFields[0]!.manager = 'kubectl-label';
    // A copy of one of our objects (annotation and managedFields included) under another name.
    const copy = asLive(named('copy-of-ours'));
    // The right annotation for its name, but written by another field manager.
    const forged = asLive(named('forged', { [ANNOTATION_OWNER]: ownerId('cluster1', first.kind, first.metadata.namespace, 'forged') }));
    (forged.metadata as unknown as { managedFields: { manager: string }[] }).managedFields[0]!.manager = 'kubectl';
    const labelled = new Map<string, KubeObject>([lookalike, copy, forged].map((o) => [objectKey(o), o]));
    const plan = planCluster('cluster1', desired, { ready: true, labelled }, noMemo);
    assert.deepEqual(plan.prune, [], 'nothing that is not provably ours is pruned');
    // At a desired name: a look-alike is a collision (reported, untouched), never force-applied.
    const atDesired = asLive(named(first.metadata.name, {}));
    (atDesired.metadata as unknown as { managedFields: { manager: string }[] }).managedFields[0]!.manager = 'kubectl';
    assert.equal(decide(planned(first), atDesired, 'cluster1', noMemo), 'collision');
    assert.match(collisionReason(atDesired, 'cluster1'), /carries Spillway's labels but not its spillway\.dev\/owner annotation for this object; left untouched/);
    // Written by an older Spillway (our Apply owns the labels, no annotation yet): re-applied, which adds the annotation.
    const legacy = asLive(named(first.metadata.name, { 'spillway.dev/role': 'client' }));
    assert.equal(decide(planned(first), legacy, 'cluster1', noMemo), 'update');
    assert.equal(planCluster('cluster1', [], { ready: true, labelled: new Map([[objectKey(legacy), legacy]]) }, noMemo).prune.length, 0, 'but never pruned');
    assert.equal(decide(planned(first), asLive(first), 'cluster1', noMemo), 'settled', 'our own object, as rendered');
  });

  it('a cluster that is not ready gets no writes and no prunes', { timeout: 300_000 }, () => {
    const labelled = new Map([[objectKey(cluster1()[0]!), asLive({ ...cluster1()[0]!, metadata: { ...cluster1()[0]!.metadata, name: 'orphan' } })]]);
    const live: LiveCluster = { ready: false, notReadyReason: 'watch failing', labelled };
    const plan = planCluster('cluster1', cluster1(), live, noMemo);
    assert.equal(plan.skipped, 'watch failing');
    assert.equal(plan.apply.length + plan.probe.length + plan.prune.length, 0);
  });

  it('planReconcile renders through renderDetailed and plans every rendered cluster', { timeout: 300_000 }, () => {
    const plan = planReconcile({ docs: seed, clusters: new Map(), memo: noMemo });
    assert.deepEqual(plan.clusters.map((c) => c.cluster), Object.keys(renderDetailed(seed).clusters));
    assert.ok(plan.clusters.every((c) => c.skipped === 'not connected'));
  });
});

describe('statuses', () => {
  const render = renderDetailed(seed);
  const outcome = render.services[0]!;
  const synced = (cluster: string, extra: Partial<ClusterOutcome> = {}): ClusterOutcome => ({ cluster, state: 'Synced', objectErrors: new Map(), applied: 0, pruned: 0, ...extra });
  const keys = new Map(Object.entries(render.clusters).map(([c, objs]) => [c, objs.map(objectKey)]));

  it('FailoverService: Accepted/Programmed, per-cluster roles, order and sync state', { timeout: 300_000 }, () => {
    const s = serviceStatus({ generation: 3, outcome, messages: [], objects: keys, outcomes: new Map([['cluster1', synced('cluster1')], ['cluster2', synced('cluster2')]]), prev: undefined, now: 'T1' });
    assert.equal(s.observedGeneration, 3);
    const conds = s.conditions as { type: string; status: string; reason: string; lastTransitionTime: string }[];
    assert.deepEqual(conds.map((c) => [c.type, c.status, c.reason]), [['Accepted', 'True', 'Accepted'], ['Programmed', 'True', 'Programmed'], ['Degraded', 'False', 'AllTiersServing']]);
    assert.deepEqual(s.clusters, [
      { name: 'cluster1', roles: ['client', 'receiver'], failoverOrder: ['cluster1', 'cluster2'], syncState: 'Synced' },
      { name: 'cluster2', roles: ['client', 'receiver'], failoverOrder: ['cluster2', 'cluster1'], syncState: 'Synced' },
    ]);
    // Same inputs later: identical status (transition times kept), so nothing to write.
    const again = serviceStatus({ generation: 3, outcome, messages: [], objects: keys, outcomes: new Map([['cluster1', synced('cluster1')], ['cluster2', synced('cluster2')]]), prev: s, now: 'T2' });
    assert.equal(sameStatus(s, again), true);
  });

  it('an object error or an unreachable cluster makes Programmed False with the reason', { timeout: 300_000 }, () => {
    const key = keys.get('cluster1')![0]!;
    const s = serviceStatus({
      generation: 1,
      outcome,
      messages: [],
      objects: keys,
      outcomes: new Map([['cluster1', synced('cluster1', { objectErrors: new Map([[key, 'X is not managed by Spillway; left untouched']]) })], ['cluster2', { ...synced('cluster2'), state: 'Failed', message: 'connection refused' }]]),
      prev: undefined,
      now: 'T',
    });
    const prog = (s.conditions as { type: string; status: string; reason: string; message: string }[])[1]!;
    assert.equal(prog.status, 'False');
    assert.equal(prog.reason, 'SyncFailed');
    assert.match(prog.message, /cluster1: X is not managed by Spillway/);
    assert.match(prog.message, /cluster2: connection refused/);
  });

  it('a rejected FailoverService carries the analyzer codes', { timeout: 300_000 }, () => {
    const bad = renderDetailed([...seed.slice(0, 3), { ...seed[4]!, spec: { meshWorkloads: ['reviews-cluster1', 'reviews-cluster2'], port: 'nope' } }]);
    const ref = bad.services[0]!.ref;
    const s = serviceStatus({ generation: 1, outcome: bad.services[0]!, messages: bad.messages.filter((m) => m.object === ref), objects: undefined, outcomes: new Map(), prev: undefined, now: 'T' });
    const [acc, prog] = s.conditions as { status: string; reason: string; message: string }[];
    assert.equal(acc!.status, 'False');
    assert.equal(acc!.reason, 'SPW108');
    assert.match(acc!.message, /^SPW108: /);
    assert.equal(prog!.reason, 'NotAccepted');
    assert.deepEqual(s.clusters, []);
  });

  it('a rejected FailoverService whose last good objects are held says so and keeps its clusters', { timeout: 300_000 }, () => {
    const good = serviceStatus({ generation: 1, outcome, messages: [], objects: keys, outcomes: new Map([['cluster1', synced('cluster1')], ['cluster2', synced('cluster2')]]), prev: undefined, now: 'T1' });
    const bad = renderDetailed([...seed.slice(0, 3), { ...seed[4]!, spec: { meshWorkloads: ['reviews-cluster1', 'reviews-cluster2'], port: 'nope' } }]);
    const ref = bad.services[0]!.ref;
    const s = serviceStatus({ generation: 2, outcome: bad.services[0]!, messages: bad.messages.filter((m) => m.object === ref), objects: undefined, outcomes: new Map(), prev: good, now: 'T2', held: ['cluster1', 'cluster2'] });
    const conds = s.conditions as { type: string; status: string; reason: string; message: string }[];
    assert.deepEqual(conds.map((c) => [c.type, c.status, c.reason]), [['Accepted', 'False', 'SPW108'], ['Programmed', 'True', 'LastGoodServed'], ['Degraded', 'Unknown', 'NotAccepted']]);
    assert.match(conds[0]!.message, /the last good configuration is still served \(cluster1, cluster2\)/);
    assert.deepEqual(s.clusters, good.clusters);
  });

  it('a tier whose workload is gone is listed Unavailable and Degraded names it', { timeout: 300_000 }, () => {
    const three = serviceStatus({ generation: 1, outcome, messages: [], objects: keys, outcomes: new Map([['cluster1', synced('cluster1')], ['cluster2', synced('cluster2')]]), prev: { clusters: [{ name: 'cluster3', roles: ['client', 'receiver'], failoverOrder: ['cluster3'], syncState: 'Synced' }] }, now: 'T1' });
    // cluster3 was in the previous status, but with no warning about a missing workload it is simply gone.
    assert.deepEqual((three.clusters as { name: string }[]).map((c) => c.name), ['cluster1', 'cluster2']);
    const missing = message('SPW127', outcome.ref, { workload: 'default/reviews-cluster3' }, { path: 'spec.meshWorkloads[2]' });
    const s = serviceStatus({ generation: 1, outcome, messages: [missing], objects: keys, outcomes: new Map([['cluster1', synced('cluster1')], ['cluster2', synced('cluster2')]]), prev: { clusters: [{ name: 'cluster3', roles: ['client', 'receiver'], failoverOrder: ['cluster3'], syncState: 'Synced' }] }, now: 'T1' });
    const c3 = (s.clusters as { name: string; syncState: string; message?: string }[]).find((c) => c.name === 'cluster3');
    assert.equal(c3?.syncState, 'Unavailable');
    assert.match(c3?.message ?? '', /SPW127/);
    const degraded = (s.conditions as { type: string; status: string; reason: string; message: string }[]).find((c) => c.type === 'Degraded')!;
    assert.deepEqual([degraded.status, degraded.reason], ['True', 'SPW127']);
    assert.match(degraded.message, /^cluster3 left out of the tiers; serving from cluster1, cluster2: SPW127/);
    // The messages themselves, as data: code, level, field path, params and the text rendered from them.
    assert.deepEqual(s.messages, [{ code: 'SPW127', level: 'warning', path: 'spec.meshWorkloads[2]', params: { workload: 'default/reviews-cluster3' }, message: 'MeshWorkload default/reviews-cluster3 not found; left out of the tiers' }]);
    // Carried forward on the next round (prev = s), so the status keeps naming cluster3.
    const again = serviceStatus({ generation: 1, outcome, messages: [missing], objects: keys, outcomes: new Map([['cluster1', synced('cluster1')], ['cluster2', synced('cluster2')]]), prev: s, now: 'T2' });
    assert.equal(sameStatus(s, again), true);
  });

  it('MeshCluster: lastSyncTime moves only when something changed or the cluster recovered', { timeout: 300_000 }, () => {
    const first = clusterStatus({ generation: 1, reachable: true, outcome: synced('c'), prev: undefined, now: 'T1' });
    assert.deepEqual(first, { observedGeneration: 1, reachable: true, lastSyncTime: 'T1' });
    const idle = clusterStatus({ generation: 1, reachable: true, outcome: synced('c'), prev: first, now: 'T2' });
    assert.equal(sameStatus(first, idle), true);
    const wrote = clusterStatus({ generation: 1, reachable: true, outcome: synced('c', { applied: 2 }), prev: first, now: 'T3' });
    assert.equal(wrote.lastSyncTime, 'T3');
    const down = clusterStatus({ generation: 1, reachable: false, connectionError: 'connect ECONNREFUSED', outcome: { ...synced('c'), state: 'Failed' }, prev: wrote, now: 'T4' });
    assert.deepEqual(down, { observedGeneration: 1, reachable: false, lastSyncTime: 'T3', lastError: 'connect ECONNREFUSED' });
    const back = clusterStatus({ generation: 1, reachable: true, outcome: synced('c'), prev: down, now: 'T5' });
    assert.deepEqual(back, { observedGeneration: 1, reachable: true, lastSyncTime: 'T5' });
  });
});
