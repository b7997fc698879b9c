/**
 * The plan cache is an optimisation only: across random sequences of render changes, live drift, deletions, foreign
 * objects, relists and our own writes, planning with a PlanCache gives exactly the plan planning without one gives,
 * and so does planning only the difference a render made as a difference reports (RenderChanges), in the same order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RenderCache, renderDetailed } from '../../src/core/render.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { FIELD_MANAGER, PlanCache, planClusterBlocks } from '../../src/controller/reconcile.ts';
import type { BlockChanges, ClusterPlan, LiveCluster, MemoEntry } from '../../src/controller/reconcile.ts';
import { objectKey } from '../../src/kube/resources.ts';
import { desiredHash } from '../../src/core/content-hash.ts';
import { failoverService, meshCluster, meshWorkload } from '../core/fixtures.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A live cluster that logs every change to its labelled map, as ClusterConnection does. */
class FakeLive {
  labelled = new Map<string, KubeObject>();
  epoch = 0;
  logStart = 0;
  log: string[] = [];
  rv = 1;
  view(): LiveCluster {
    return {
      ready: true,
      labelled: this.labelled,
      epoch: this.epoch,
      changedSince: (e) => (e < this.logStart || e > this.epoch ? undefined : this.log.slice(e - this.logStart)),
    };
  }
  put(o: KubeObject): KubeObject {
    // What a server records for our apply: every field we sent is ours (leaves for lists and scalars).
    const fields = (v: unknown): Record<string, unknown> => (typeof v !== 'object' || v === null || Array.isArray(v) ? {} : Object.fromEntries(Object.entries(v).map(([k, x]) => [`f:${k}`, fields(x)])));
    const { apiVersion: _a, kind: _k, metadata, ...rest } = o;
    const fieldsV1 = { 'f:metadata': fields({ labels: metadata.labels, annotations: metadata.annotations }), ...fields(rest) };
    const live = { ...structuredClone(o), metadata: { ...structuredClone(o.metadata), resourceVersion: String(this.rv++), managedFields: [{ manager: FIELD_MANAGER, operation: 'Apply', fieldsV1 }] } } as KubeObject;
    this.labelled.set(objectKey(o), live);
    this.epoch++;
    this.log.push(objectKey(o));
    return live;
  }
  remove(key: string): void {
    this.labelled.delete(key);
    this.epoch++;
    this.log.push(key);
  }
  /** A relist: same content, nothing before it can be listed as changed. */
  rebuild(): void {
    this.labelled = new Map(this.labelled);
    this.epoch++;
    this.logStart = this.epoch;
    this.log = [];
  }
}

const CLUSTERS = ['c1', 'c2', 'c3'];

function world(): Map<string, KubeObject> {
  const docs = new Map<string, KubeObject>();
  const put = (o: KubeObject) => docs.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  for (const c of CLUSTERS) put(meshCluster(c));
  for (let i = 0; i < 10; i++) {
    for (const c of CLUSTERS) put(meshWorkload(`s${i}-${c}`, c, { service: `s${i}` }));
    put(failoverService(`s${i}`, CLUSTERS.map((c) => `s${i}-${c}`)));
  }
  return docs;
}

function summary(p: ClusterPlan): Record<string, unknown> {
  const keys = (xs: { key: string }[]) => xs.map((x) => x.key).sort();
  return { apply: keys(p.apply), probe: keys(p.probe), prune: p.prune.map(objectKey), collisions: keys(p.collisions), settled: p.settled, skipped: p.skipped };
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`seed ${seed}: 60 random steps, cached plans equal uncached plans`, { timeout: 300_000 }, () => {
    const r = rng(seed);
    const docs = world();
    const renderCache = new RenderCache();
    const planCache = new PlanCache();
    const diffCache = new PlanCache();
    const live = new Map(CLUSTERS.map((c) => [c, new FakeLive()]));
    const memo = new Map(CLUSTERS.map((c) => [c, new Map<string, MemoEntry>()]));
    let reused = 0;
    let differences = 0;
    for (let step = 0; step < 60; step++) {
      const render = renderDetailed([...docs.values()], renderCache);
      for (const c of CLUSTERS) {
        const l = live.get(c)!;
        const m = memo.get(c)!;
        const blocks = render.blocks.get(c) ?? [];
        const cached = planClusterBlocks(c, blocks, l.view(), (_c, k) => m.get(k), planCache);
        const fresh = planClusterBlocks(c, blocks, l.view(), (_c, k) => m.get(k));
        assert.deepEqual(summary(cached), summary(fresh), `step ${step} cluster ${c}`);
        const ch = render.changes;
        const diff: BlockChanges | null = ch ? { since: ch.since.blocks.get(c), refs: ch.refs, block: (ref) => ch.blocks.get(ref)?.get(c), position: (ref) => ch.position(ref) } : null;
        if (diff && diff.since !== undefined && diffCache.state(c)?.blocks === diff.since) differences++;
        const diffed = planClusterBlocks(c, blocks, l.view(), (_c, k) => m.get(k), diffCache, undefined, diff);
        assert.deepEqual(ordered(diffed), ordered(fresh), `step ${step} cluster ${c}: planned as a difference`);
        if (cached.settled > 0 && cached.apply.length + cached.probe.length < blocks.reduce((n, b) => n + b.keys.length, 0)) reused++;
        // Carry the plan out as the executor would (sometimes only partly, as when writes fail).
        const partly = r() < 0.2;
        for (const p of [...cached.apply, ...cached.probe]) {
          if (partly && r() < 0.5) continue;
          const res = l.put(p.object);
          m.set(p.key, { hash: desiredHash(p.object), resourceVersion: res.metadata.resourceVersion ?? '' });
        }
        for (const o of cached.prune) {
          l.remove(objectKey(o));
          m.delete(objectKey(o));
        }
      }
      // Then the world moves.
      const what = r();
      const c = CLUSTERS[Math.floor(r() * CLUSTERS.length)]!;
      const l = live.get(c)!;
      const keys = [...l.labelled.keys()];
      const key = keys[Math.floor(r() * keys.length)];
      if (what < 0.2) {
        // A service changes: reorder its workloads.
        const name = `s${Math.floor(r() * 9)}`; // s9 comes and goes below
        const f = docs.get(`FailoverService/default/${name}`)!;
        docs.set(`FailoverService/default/${name}`, { ...f, spec: { meshWorkloads: [...(f.spec as { meshWorkloads: string[] }).meshWorkloads].reverse() } });
      } else if (what < 0.35 && key) {
        // Someone edits one of our objects.
        const o = structuredClone(l.labelled.get(key)!);
        (o.spec as Record<string, unknown>).tampered = step;
        l.put(o);
      } else if (what < 0.5 && key) {
        l.remove(key); // someone deletes one
      } else if (what < 0.6) {
        // A labelled object nobody wants (left over, or for another cluster).
        const any = [...l.labelled.values()][0];
        if (any) l.put({ ...any, metadata: { ...any.metadata, name: `stray-${step}`, labels: { ...any.metadata.labels, 'spillway.dev/cluster': r() < 0.5 ? c : 'elsewhere' } } });
      } else if (what < 0.7) {
        l.rebuild();
      } else if (what < 0.75) {
        // A service comes or goes.
        const k = 'FailoverService/default/s9';
        if (docs.has(k)) docs.delete(k);
        else docs.set(k, failoverService('s9', CLUSTERS.map((x) => `s9-${x}`)));
      } else if (what < 0.8) {
        // A workload's port changes: that service's objects change in one cluster only.
        const k = `MeshWorkload/default/s${Math.floor(r() * 9)}-${c}`;
        const w = docs.get(k)!;
        docs.set(k, { ...w, spec: { ...(w.spec as object), ports: [{ name: 'http', number: 9000 + Math.floor(r() * 3), protocol: 'HTTP' }] } });
      } else if (what < 0.85) {
        // A service breaks (not accepted: its objects are no longer desired) or is fixed.
        const k = `FailoverService/default/s${Math.floor(r() * 9)}`;
        const f = docs.get(k)!;
        const broken = (f.spec as { port?: unknown }).port !== undefined;
        docs.set(k, { ...f, spec: { meshWorkloads: (f.spec as { meshWorkloads: string[] }).meshWorkloads, ...(broken ? {} : { port: 'nope' }) } });
      } else if (what < 0.88) {
        // A cluster leaves the mesh, or comes back.
        const k = 'MeshCluster//c3';
        if (docs.has(k)) docs.delete(k);
        else docs.set(k, meshCluster('c3'));
      }
      // else: nothing happens (an idle resync)
    }
    assert.ok(reused > 20, `the cache was used (${reused} plans skipped settled services)`);
    assert.ok(differences > 40, `plans were made as differences (${differences})`);
  });
}

/** The plan with its lists in the order planned (blocks in render order). */
function ordered(p: ClusterPlan): Record<string, unknown> {
  const keys = (xs: { key: string }[]) => xs.map((x) => x.key);
  return { apply: keys(p.apply), probe: keys(p.probe), prune: p.prune.map(objectKey), collisions: keys(p.collisions), settled: p.settled, skipped: p.skipped };
}
