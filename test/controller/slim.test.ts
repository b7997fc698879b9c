/**
 * The member informers keep compact copies of live objects (src/controller/slim.ts). Across random live states (drift,
 * other field managers, status, lost ownership, relabelled, memo hits and misses), every decision and every plan made
 * from the compact copies equals the one made from the whole objects, and every decision equals the one the
 * deep comparison (compare.ts applyIsNoop, with the ownership checks of src/api/ownership.ts) makes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderDetailed } from '../../src/core/render.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { FIELD_MANAGER, collisionReason, decide, planClusterBlocks } from '../../src/controller/reconcile.ts';
import type { ApplyMemo, ClusterPlan, Decision, MemoEntry } from '../../src/controller/reconcile.ts';
import { StringInterner, appliedBeforeOwnerAnnotation, compactLive, liveFacts } from '../../src/controller/slim.ts';
import { applyIsNoop } from '../../src/controller/compare.ts';
import { desiredHash } from '../../src/core/content-hash.ts';
import { objectKey } from '../../src/kube/resources.ts';

import { isSpillwayOwned, ownerId } from '../../src/api/ownership.ts';
import { failoverService, meshCluster, meshWorkload } from '../core/fixtures.ts';

const CLUSTERS = ['c1', 'c2', 'c3'];
const seed: KubeObject[] = [...CLUSTERS.map((c) => meshCluster(c))];
for (let i = 0; i < 12; i++) {
  for (const c of CLUSTERS) seed.push(meshWorkload(`s${i}-${c}`, c, { service: `s${i}` }));
  seed.push(failoverService(`s${i}`, CLUSTERS.map((c) => `s${i}-${c}`)));
}

function rng(s: number): () => number {
  let x = s >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const fields = (v: unknown): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [`f:${k}`, fields(x)]));
};

/** A server's copy after our apply, with what real servers add: other managers, status, timestamps. */
function served(o: KubeObject, rv: number, uid: string): KubeObject {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = o;
  return {
    ...structuredClone(o),
    status: { validationMessages: [{ type: { code: 'IST0102' } }], observedGeneration: '1' },
    metadata: {
      ...structuredClone(metadata),
      uid,
      resourceVersion: String(rv),
      generation: 1,
      creationTimestamp: '2024-01-01T00:00:00Z',
      managedFields: [
        { manager: FIELD_MANAGER, operation: 'Apply', apiVersion: o.apiVersion, time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': fields({ labels: metadata.labels, annotations: metadata.annotations }), ...fields(rest) } },
        { manager: 'pilot-discovery', operation: 'Update', apiVersion: o.apiVersion, time: '2024-01-01T00:00:01Z', fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:validationMessages': {} } } },
      ],
    } as KubeObject['metadata'],
  };
}

type Edit = (live: KubeObject, r: () => number) => void;
const spec = (o: KubeObject) => o.spec as Record<string, unknown>;
const mf = (o: KubeObject) => (o.metadata as unknown as { managedFields: Record<string, unknown>[] }).managedFields;
const EDITS: Edit[] = [
  (o) => void (spec(o).drift = 'x'), // a field someone added
  (o) => {
    const k = Object.keys(spec(o))[0];
    if (k) spec(o)[k] = 'changed';
  },
  (o) => void mf(o).push({ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:drift': {} } } }),
  (o) => void (mf(o)[0]!.manager = 'kubectl'),
  (o) => void (mf(o)[0]!.operation = 'Update'),
  (o) => void mf(o).splice(0, 1),
  (o) => void delete o.metadata.annotations?.['spillway.dev/owner'],
  (o) => void (o.metadata.labels!['spillway.dev/cluster'] = 'elsewhere'),
  (o) => void delete o.metadata.labels!['app.kubernetes.io/managed-by'],
  (o) => void (o.metadata.resourceVersion = '999'),
  (o) => void delete (mf(o)[0]!.fieldsV1 as Record<string, unknown>)['f:metadata'],
  (o) => void ((o.metadata as unknown as Record<string, unknown>).deletionTimestamp = '2024-01-02T00:00:00Z'),
];

/** The decision as made from whole objects by deep comparison (what the planner did before compact live state). */
function deepDecide(desired: KubeObject, key: string, live: KubeObject | undefined, cluster: string, memo: ApplyMemo): Decision {
  if (!live) return 'create';
  if (!isSpillwayOwned(live, cluster)) return appliedBeforeOwnerAnnotation(live, cluster) ? 'update' : 'collision';
  const m = memo(cluster, key);
  if (m && m.resourceVersion === live.metadata.resourceVersion && m.hash === desiredHash(desired)) return 'settled';
  return applyIsNoop(desired, live, FIELD_MANAGER) ? 'settled' : 'update';
}

function summary(p: ClusterPlan): unknown {
  const keys = (xs: { key: string }[]) => xs.map((x) => x.key);
  return {
    apply: keys(p.apply),
    probe: keys(p.probe),
    prune: p.prune.map((o) => [objectKey(o), o.metadata.uid, o.metadata.resourceVersion]),
    collisions: p.collisions.map((c) => [c.key, c.reason]),
    settled: p.settled,
    held: [...p.held],
  };
}

describe('slim live objects', () => {
  it('keep what ownership, comparison and deletion read, computed once; drop everything else', { timeout: 60_000 }, () => {
    const o = renderDetailed(seed).clusters.c1![0]!;
    const live = served(o, 7, 'u1');
    const c = compactLive(live, 'c1');
    // One record: the kept metadata and the facts are its own fields (`metadata` and `live` are the record itself).
    assert.deepEqual(Object.keys(c).sort(), ['apiVersion', 'cluster', 'deletionTimestamp', 'hash', 'kind', 'name', 'namespace', 'owner', 'reason', 'resourceVersion', 'uid', 'verdict']);
    assert.equal(c.live, c);
    assert.equal(c.metadata, c);
    assert.deepEqual({ name: c.metadata.name, namespace: c.metadata.namespace, uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion, labels: c.metadata.labels }, { name: live.metadata.name, namespace: live.metadata.namespace, uid: 'u1', resourceVersion: '7', labels: undefined });
    assert.deepEqual((JSON.parse(JSON.stringify(c)) as { metadata: unknown }).metadata, { name: live.metadata.name, namespace: live.metadata.namespace, uid: 'u1', resourceVersion: '7' });
    assert.equal(c.live.verdict, 'owned');
    assert.equal(c.live.cluster, 'c1');
    assert.equal(c.live.hash, desiredHash(o), 'in place: the hash of what we own equals the desired hash');
    assert.match(c.live.owner ?? '', /^FailoverService\/default\/s\d+$/);
    assert.ok(live.status, 'the input is not modified');
    // Read from another cluster, the same object is not ours.
    assert.equal(liveFacts(compactLive(live, 'c2'), 'c2').verdict, 'foreign');
    // Owner refs are shared between objects.
    const interner = new StringInterner();
    const a = compactLive(served(o, 8, 'u2'), 'c1', interner);
    const b = compactLive(served(o, 9, 'u3'), 'c1', interner);
    assert.equal(a.live.owner, b.live.owner);
    assert.ok(a.live.owner !== undefined);
  });

  for (const s of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${s}: decisions and plans from slim copies equal those from whole objects`, { timeout: 120_000 }, () => {
      const r = rng(s);
      const render = renderDetailed(seed);
      const seen = new Map<string, number>();
      for (const cluster of CLUSTERS) {
        const blocks = render.blocks.get(cluster) ?? [];
        const whole = new Map<string, KubeObject>();
        const memo = new Map<string, MemoEntry>();
        let rv = 10;
        for (const b of blocks) {
          for (const o of b.objects()) {
            if (r() < 0.1) continue; // missing: probed
            const live = served(o, rv++, `u${rv}`);
            if (r() < 0.5) for (const e of EDITS) if (r() < 0.06) e(live, r);
            whole.set(objectKey(o), live);
            const m = r();
            if (m < 0.4) memo.set(objectKey(o), { hash: desiredHash(o), resourceVersion: live.metadata.resourceVersion! });
            else if (m < 0.5) memo.set(objectKey(o), { hash: desiredHash(o), resourceVersion: 'old' });
          }
        }
        // Objects no longer desired (pruned, or held for a service that is not accepted), some not ours.
        for (let i = 0; i < 4; i++) {
          const src = blocks[Math.floor(r() * blocks.length)]?.objects()[0];
          if (!src) continue;
          const name = `${src.metadata.name}-old${i}`;
          const gone = served({ ...src, metadata: { ...src.metadata, name, annotations: { ...src.metadata.annotations, 'spillway.dev/owner': ownerId(cluster, src.kind, src.metadata.namespace, name) } } }, rv++, `g${i}`);
          if (r() < 0.5) for (const e of EDITS) if (r() < 0.2) e(gone, r);
          whole.set(objectKey(gone), gone);
        }
        const interner = new StringInterner();
        const slim = new Map([...whole].map(([k, o]) => [k, compactLive(o, cluster, interner)]));
        const memoFn = (_c: string, k: string) => memo.get(k);
        for (const b of blocks) {
          for (const o of b.objects()) {
            const k = objectKey(o);
            const w = whole.get(k);
            const sl = slim.get(k);
            const d = decide({ key: k, hash: desiredHash(o) }, sl, cluster, memoFn);
            assert.equal(d, decide({ key: k, object: o }, w, cluster, memoFn), `${cluster} ${k}`);
            assert.equal(d, deepDecide(o, k, w, cluster, memoFn), `${cluster} ${k}: as the deep comparison decides`);
            if (w && d === 'collision') assert.equal(liveFacts(sl!, cluster).reason, collisionReason(w, cluster));
          }
        }
        const held = r() < 0.5 ? new Set([blocks[0]?.ref ?? '']) : undefined;
        const p1 = planClusterBlocks(cluster, blocks, { ready: true, labelled: whole }, memoFn, undefined, held);
        const p2 = planClusterBlocks(cluster, blocks, { ready: true, labelled: slim }, memoFn, undefined, held);
        assert.deepEqual(summary(p2), summary(p1));
        for (const [k, n] of [['apply', p1.apply.length], ['collision', p1.collisions.length], ['probe', p1.probe.length], ['settled', p1.settled], ['prune', p1.prune.length]] as const) seen.set(k, (seen.get(k) ?? 0) + n);
      }
      for (const k of ['apply', 'collision', 'probe', 'settled', 'prune']) assert.ok((seen.get(k) ?? 0) > 0, `the random states exercise ${k}: ${JSON.stringify([...seen])}`);
    });
  }
});
