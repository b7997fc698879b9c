/**
 * The member informers keep slim copies of live objects (src/controller/slim.ts). Across random live states (drift,
 * other field managers, status, lost ownership, relabelled, memo hits and misses), every decision and every plan made
 * from the slim copies equals the one made from the whole objects.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderDetailed } from '../../src/core/render.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { FIELD_MANAGER, collisionReason, decide, planClusterBlocks } from '../../src/controller/reconcile.ts';
import type { ClusterPlan, MemoEntry } from '../../src/controller/reconcile.ts';
import { FieldSetInterner, slimOwnedObject } from '../../src/controller/slim.ts';
import { objectKey } from '../../src/kube/resources.ts';

import { ownerId } from '../../src/api/ownership.ts';
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

function summary(p: ClusterPlan): unknown {
  const keys = (xs: { key: string }[]) => xs.map((x) => x.key);
  return {
    apply: keys(p.apply),
    probe: keys(p.probe),
    prune: p.prune.map((o) => [objectKey(o), o.metadata.uid, o.metadata.resourceVersion]),
    collisions: p.collisions.map((c) => [c.key, c.reason]),
    unchanged: p.unchanged.map((u) => [u.key, u.resourceVersion]),
    settled: p.settled,
    held: [...p.held],
  };
}

describe('slim live objects', () => {
  it('keep what ownership, comparison and deletion read; drop status, timestamps and other managers', { timeout: 60_000 }, () => {
    const o = renderDetailed(seed).clusters.c1![0]!;
    const live = served(o, 7, 'u1');
    const slim = slimOwnedObject(live);
    assert.equal(slim.status, undefined);
    assert.equal((slim.metadata as unknown as Record<string, unknown>).creationTimestamp, undefined);
    assert.deepEqual(mf(slim).map((e) => e.manager), [FIELD_MANAGER]);
    assert.equal(mf(slim)[0]!.time, undefined);
    assert.deepEqual(slim.spec, live.spec);
    assert.deepEqual(slim.metadata.labels, live.metadata.labels);
    assert.equal(slim.metadata.uid, 'u1');
    assert.equal(slim.metadata.resourceVersion, '7');
    assert.ok(live.status, 'the input is not modified');
    // Equal field sets are shared between objects.
    const interner = new FieldSetInterner();
    const a = slimOwnedObject(served(o, 8, 'u2'), interner);
    const b = slimOwnedObject(served(o, 9, 'u3'), interner);
    assert.equal(mf(a)[0]!.fieldsV1, mf(b)[0]!.fieldsV1);
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
          for (const o of b.objects) {
            if (r() < 0.1) continue; // missing: probed
            const live = served(o, rv++, `u${rv}`);
            if (r() < 0.5) for (const e of EDITS) if (r() < 0.06) e(live, r);
            whole.set(objectKey(o), live);
            const m = r();
            if (m < 0.4) memo.set(objectKey(o), { object: o, resourceVersion: live.metadata.resourceVersion! });
            else if (m < 0.5) memo.set(objectKey(o), { object: o, resourceVersion: 'old' });
          }
        }
        // Objects no longer desired (pruned, or held for a service that is not accepted), some not ours.
        for (let i = 0; i < 4; i++) {
          const src = blocks[Math.floor(r() * blocks.length)]?.objects[0];
          if (!src) continue;
          const name = `${src.metadata.name}-old${i}`;
          const gone = served({ ...src, metadata: { ...src.metadata, name, annotations: { ...src.metadata.annotations, 'spillway.dev/owner': ownerId(cluster, src.kind, src.metadata.namespace, name) } } }, rv++, `g${i}`);
          if (r() < 0.5) for (const e of EDITS) if (r() < 0.2) e(gone, r);
          whole.set(objectKey(gone), gone);
        }
        const interner = new FieldSetInterner();
        const slim = new Map([...whole].map(([k, o]) => [k, slimOwnedObject(o, interner)]));
        const memoFn = (_c: string, k: string) => memo.get(k);
        for (const b of blocks) {
          for (const o of b.objects) {
            const k = objectKey(o);
            const w = whole.get(k);
            const sl = slim.get(k);
            assert.equal(decide({ key: k, object: o }, sl, cluster, memoFn), decide({ key: k, object: o }, w, cluster, memoFn), `${cluster} ${k}`);
            if (w) assert.equal(collisionReason(sl!, cluster), collisionReason(w, cluster));
          }
        }
        const held = r() < 0.5 ? new Set([blocks[0]?.ref ?? '']) : undefined;
        const p1 = planClusterBlocks(cluster, blocks, { ready: true, labelled: whole }, memoFn, undefined, held);
        const p2 = planClusterBlocks(cluster, blocks, { ready: true, labelled: slim }, memoFn, undefined, held);
        assert.deepEqual(summary(p2), summary(p1));
        for (const [k, n] of [['apply', p1.apply.length], ['collision', p1.collisions.length], ['probe', p1.probe.length], ['unchanged', p1.unchanged.length], ['settled', p1.settled], ['prune', p1.prune.length]] as const) seen.set(k, (seen.get(k) ?? 0) + n);
      }
      for (const k of ['apply', 'collision', 'probe', 'unchanged', 'settled', 'prune']) assert.ok((seen.get(k) ?? 0) > 0, `the random states exercise ${k}: ${JSON.stringify([...seen])}`);
    });
  }
});
