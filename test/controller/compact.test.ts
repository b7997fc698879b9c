/**
 * The compact live state (src/controller/slim.ts) decides "would server-side applying the desired object change
 * anything?" by comparing two hashes: the desired object's asserted part, and the live object's projection onto the
 * fields field manager `spillway` owns. Checked here on random objects against a server-side apply implementation
 * (the API double's, itself checked against kube-apiserver) and against compare.ts `applyIsNoop`, through states a
 * real server produces: our apply, server defaults, other managers applying and updating (taking fields over,
 * sharing them, removing them), status writes, and a changed desired object.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { FIELD_MANAGER } from '../../src/api/ownership.ts';
import { applyIsNoop } from '../../src/controller/compare.ts';
import { compactLive, liveFacts, ownedHash, ownedProjection } from '../../src/controller/slim.ts';
import { assertedPart, canonicalHash, desiredHash, fnv1a64Text } from '../../src/core/content-hash.ts';
import { apply, readManaged, recordUpdate } from '../double/ssa.ts';
import { fieldsOf } from '../double/fieldset.ts';
import type { Json, JsonObject } from '../double/json.ts';
import { clone, deepEqual, isObject } from '../double/json.ts';

function rng(s: number): () => number {
  let x = s >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const NOW = '2026-01-01T00:00:00Z';
const SCOPE = { skipStatus: true };

describe('content hash', () => {
  it('is FNV-1a 64 (low 53 bits) of the UTF-8 of canonical JSON', { timeout: 10_000 }, () => {
    // Published FNV-1a 64 test vectors.
    const low53 = (big: bigint): number => Number(big & ((1n << 53n) - 1n));
    assert.equal(fnv1a64Text(''), low53(0xcbf29ce484222325n));
    assert.equal(fnv1a64Text('a'), low53(0xaf63dc4c8601ec8cn));
    assert.equal(fnv1a64Text('foobar'), low53(0x85944171f73967e8n));
    // Canonical: key order does not matter, values do; the same as hashing the sorted JSON text.
    const sortedJson = (v: unknown): string => (Array.isArray(v) ? `[${v.map(sortedJson).join(',')}]` : isObject(v as Json) ? `{${Object.keys(v as object).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`).join(',')}}` : JSON.stringify(v));
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const v = randomValue(r, 3);
      assert.equal(canonicalHash(v), fnv1a64Text(sortedJson(v)), JSON.stringify(v));
    }
    assert.equal(canonicalHash({ a: 1, b: [1, 'x'] }), canonicalHash({ b: [1, 'x'], a: 1 }));
    assert.notEqual(canonicalHash({ a: 1 }), canonicalHash({ a: '1' }));
    assert.notEqual(canonicalHash({ a: [1, 2] }), canonicalHash({ a: [2, 1] }));
    assert.equal(canonicalHash({ a: 'é ✓ 😀 "q" \\ \n' }), fnv1a64Text(sortedJson({ a: 'é ✓ 😀 "q" \\ \n' })));
    // Key orders the insertion sort and the long-object sort see; strings on the ASCII fast path next to escaped ones.
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${(i * 17) % 40}`, i % 3 === 0 ? `v${i}\u0001` : i]));
    assert.equal(canonicalHash(many), fnv1a64Text(sortedJson(many)));
    // desiredHash hashes what assertedPart would build, without building it.
    for (let i = 0; i < 200; i++) {
      const v = randomValue(r, 3);
      const o = { ...(isObject(v) ? v : { spec: v }), apiVersion: 'v1', kind: 'K', status: { x: 1 }, metadata: i % 3 === 0 ? { name: 'n' } : { name: 'n', labels: { a: String(i) }, ...(i % 2 ? { annotations: { b: 'c' } } : {}) } } as unknown as Parameters<typeof desiredHash>[0];
      assert.equal(desiredHash(o), canonicalHash(assertedPart(o)), JSON.stringify(o));
    }
    const reversed = Object.fromEntries(['z', 'y', 'x', 'b', 'B', 'a', 'A', '\u00e9', '~'].map((k, i) => [k, { [k]: [k, i] }]));
    assert.equal(canonicalHash(reversed), fnv1a64Text(sortedJson(reversed)));
  });
});

const WORDS = ['a', 'b', 'c', 'host', 'port', 'tls', 'mode', 'name', 'x-y', 'é'];

function randomScalar(r: () => number): Json {
  const k = r();
  if (k < 0.4) return WORDS[Math.floor(r() * WORDS.length)]!;
  if (k < 0.7) return Math.floor(r() * 5);
  if (k < 0.85) return r() < 0.5;
  return null;
}

function randomValue(r: () => number, depth: number): Json {
  const k = r();
  if (depth <= 0 || k < 0.45) return randomScalar(r);
  if (k < 0.65) return Array.from({ length: Math.floor(r() * 3) }, () => (r() < 0.5 ? randomScalar(r) : randomValue(r, depth - 1)));
  // Never an empty map: the translator writes none (an empty map asserted over a live one with members compares
  // unequal, see slim.ts).
  const o: JsonObject = {};
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) o[WORDS[Math.floor(r() * WORDS.length)]!] = randomValue(r, depth - 1);
  return o;
}

function randomDesired(r: () => number): KubeObject {
  const spec: JsonObject = {};
  for (let i = 0; i < 1 + Math.floor(r() * 4); i++) spec[WORDS[Math.floor(r() * WORDS.length)]!] = randomValue(r, 3);
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'dr', namespace: 'ns', labels: { 'app.kubernetes.io/managed-by': 'spillway', t: WORDS[Math.floor(r() * 3)]! }, annotations: { 'spillway.dev/owner': 'x' } },
    spec,
  };
}

/** Paths to the maps inside `v` (granular: fields are owned one by one), with `v` itself. */
function maps(v: Json, path: string[] = [], out: string[][] = []): string[][] {
  if (!isObject(v)) return out;
  out.push(path);
  for (const [k, x] of Object.entries(v)) maps(x, [...path, k], out);
  return out;
}

function at(o: JsonObject, path: string[]): JsonObject {
  let cur: JsonObject = o;
  for (const p of path) cur = cur[p] as JsonObject;
  return cur;
}

/** A list item (an object in an atomic list) somewhere in `v`, if any. */
function listItem(v: Json): JsonObject | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      if (isObject(x)) return x;
      const d = listItem(x);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(v)) for (const x of Object.values(v)) {
    const d = listItem(x);
    if (d) return d;
  }
  return undefined;
}

interface World {
  live: JsonObject;
  /** The server changed something inside a leaf we own (a default inside a list item). */
  leafDefault: boolean;
}

/** Server defaults: a field nobody sent, somewhere no manager owns it; sometimes inside a list item. */
function defaults(w: World, r: () => number, leaf: boolean): void {
  const spec = w.live.spec as JsonObject;
  if (leaf) {
    const item = listItem(spec);
    if (item && !('defaulted' in item)) {
      item.defaulted = true;
      w.leafDefault = true;
    }
    return;
  }
  const where = maps(spec);
  const m = at(spec, where[Math.floor(r() * where.length)]!);
  if (!('defaulted' in m) && Object.keys(m).length > 0) m.defaulted = 'yes';
}

function managerApply(w: World, manager: string, applied: JsonObject, force: boolean): boolean {
  const res = apply({ live: w.live, applied, schema: undefined, manager, force, apiVersion: 'networking.istio.io/v1', scope: SCOPE, now: NOW });
  if (res.conflicts.length > 0) return false;
  w.live = res.object;
  return true;
}

function managerUpdate(w: World, manager: string, edit: (o: JsonObject) => void): void {
  const next = clone(w.live);
  edit(next);
  recordUpdate({ old: w.live, next, entries: readManaged(w.live), schema: undefined, manager, apiVersion: 'networking.istio.io/v1', scope: SCOPE, now: NOW });
  w.live = next;
}

/** A random leaf path of `v` (a path whose value is not a non-empty map). */
function leafPath(v: Json, r: () => number, path: string[] = []): string[] | undefined {
  if (!isObject(v) || Object.keys(v).length === 0) return path.length ? path : undefined;
  const ks = Object.keys(v);
  const k = ks[Math.floor(r() * ks.length)]!;
  return leafPath(v[k]!, r, [...path, k]);
}

/** The DestinationRule `dr` holding only `value` at `path` of its spec: what another manager applies to one field. */
function drWithLeaf(path: readonly string[], value: Json): JsonObject {
  const spec: JsonObject = {};
  let cur = spec;
  for (const k of path.slice(0, -1)) cur = (cur[k] = {}) as JsonObject;
  cur[path.at(-1)!] = value;
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr', namespace: 'ns' }, spec };
}

type Step = (w: World, d: KubeObject, r: () => number) => void;
const STEPS: Step[] = [
  (w, _d, r) => defaults(w, r, false),
  (w, _d, r) => defaults(w, r, true),
  // Another manager applies a field of its own (no conflict).
  (w) => void managerApply(w, 'kubectl', { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr', namespace: 'ns' }, spec: { theirs: 'v' } }, false),
  // Another manager applies one of our fields with the same value: shared ownership.
  (w, d, r) => {
    const p = leafPath(d.spec as Json, r);
    if (!p) return;
    let src = d.spec as JsonObject;
    for (const k of p.slice(0, -1)) src = src[k] as JsonObject;
    managerApply(w, 'helm', drWithLeaf(p, clone(src[p.at(-1)!] as Json)), false);
  },
  // Another manager force-applies a different value onto one of our fields: it takes the field over.
  (w, d, r) => {
    const p = leafPath(d.spec as Json, r);
    if (!p) return;
    managerApply(w, 'argo', drWithLeaf(p, 'forced'), true);
  },
  // By hand (an update): change one of our values, remove one, add a field, edit a label.
  (w, _d, r) => managerUpdate(w, 'kubectl-edit', (o) => {
    const p = leafPath(o.spec as Json, r);
    if (p) at(o.spec as JsonObject, p.slice(0, -1))[p.at(-1)!] = 'edited';
  }),
  (w, _d, r) => managerUpdate(w, 'kubectl-edit', (o) => {
    const p = leafPath(o.spec as Json, r);
    if (p && p.length > 0) delete at(o.spec as JsonObject, p.slice(0, -1))[p.at(-1)!];
  }),
  (w) => managerUpdate(w, 'kubectl-edit', (o) => void ((o.spec as JsonObject).byHand = 1)),
  (w) => managerUpdate(w, 'kubectl-label', (o) => void (((o.metadata as JsonObject).labels as JsonObject).t = 'relabelled')),
  // A status write (istiod's validation messages).
  (w) => void (w.live.status = { validationMessages: [{ code: 'IST0102' }] }),
];

/** A changed desired object: a value changed, a field removed or added, or a field added with the live value. */
function changeDesired(d: KubeObject, live: JsonObject, r: () => number): KubeObject {
  const c = structuredClone(d);
  const spec = c.spec as JsonObject;
  const k = r();
  if (k < 0.25) {
    const p = leafPath(spec, r);
    if (p) at(spec, p.slice(0, -1))[p.at(-1)!] = 'new';
  } else if (k < 0.5) {
    const p = leafPath(spec, r);
    if (p) {
      const parent = at(spec, p.slice(0, -1));
      // Removing a map's only member removes the map (the translator writes no empty maps).
      if (Object.keys(parent).length > 1) delete parent[p.at(-1)!];
      else if (p.length > 1 && Object.keys(spec).length > 1) delete spec[p[0]!];
    }
  } else if (k < 0.75) spec.added = randomValue(r, 2);
  else {
    // Asserts a field the live object already has with that value (another manager's, or a default).
    const ls = live.spec as JsonObject;
    const extra = Object.keys(ls).find((x) => !(x in spec));
    if (extra) spec[extra] = clone(ls[extra]!);
  }
  return c;
}

const stripTimes = (o: JsonObject): JsonObject => {
  const c = clone(o);
  const mf = (c.metadata as JsonObject).managedFields;
  if (Array.isArray(mf)) for (const e of mf) if (isObject(e)) delete e.time;
  return c;
};

describe('the hash of the owned projection decides "apply would be a no-op"', () => {
  const counts = new Map<string, number>();
  const count = (k: string): void => void counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: 400 random objects and histories: equal hashes exactly when the apply changes nothing`, { timeout: 120_000 }, () => {
      const r = rng(seed * 7919);
      for (let i = 0; i < 400; i++) {
        const d0 = randomDesired(r);
        const w: World = { live: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr', namespace: 'ns', uid: 'u', resourceVersion: '1' } }, leafDefault: false };
        assert.ok(managerApply(w, FIELD_MANAGER, d0 as unknown as JsonObject, true));
        // Right after our apply the object is in place, whatever the server does to fields we do not own.
        assert.equal(ownedHash(w.live as unknown as KubeObject), desiredHash(d0), 'in place after our apply');
        const n = Math.floor(r() * 4);
        for (let s = 0; s < n; s++) STEPS[Math.floor(r() * STEPS.length)]!(w, d0, r);
        const d1 = r() < 0.5 ? d0 : changeDesired(d0, w.live, r);
        const live = w.live as unknown as KubeObject;
        const hashSaysNoop = ownedHash(live) === desiredHash(d1);
        // The truth: apply it (then the server's defaults again) and see whether anything changed.
        const after: World = { live: clone(w.live), leafDefault: false };
        assert.ok(managerApply(after, FIELD_MANAGER, d1 as unknown as JsonObject, true));
        if (w.leafDefault) defaults(after, r, true);
        const noop = deepEqual(stripTimes(after.live), stripTimes(w.live));
        const reference = applyIsNoop(d1, live, FIELD_MANAGER);
        const why = `seed ${seed} #${i}\ndesired ${JSON.stringify(d1.spec)}\nlive ${JSON.stringify(w.live)}\nprojection ${JSON.stringify(ownedProjection(live))}`;
        // Where our entry owns every field we assert (what our last apply recorded, unless someone removed one of them
        // and someone set it again), the hash and applyIsNoop agree.
        const mine = readManaged(w.live).find((e) => e.manager === FIELD_MANAGER && e.operation === 'Apply');
        const ownsAll = [...fieldsOf(d1 as unknown as JsonObject, undefined, SCOPE)].every((f) => mine?.fields.has(f));
        if (ownsAll && !w.leafDefault) assert.equal(hashSaysNoop, reference, `our entry owns what we assert: the hash and applyIsNoop agree: ${why}`);
        if (ownsAll) count('owns all');
        // Sound: equal hashes always mean nothing would change (and applyIsNoop agrees).
        if (hashSaysNoop) {
          assert.ok(noop, `equal hashes but the apply changes something: ${why}`);
          assert.ok(reference, `equal hashes but applyIsNoop says no: ${why}`);
        }
        // Exact: unequal hashes mean the apply changes something, but for a default inside a list item we own.
        if (!hashSaysNoop && noop) {
          assert.ok(w.leafDefault, `unequal hashes for an apply that changes nothing: ${why}`);
          count('leaf default: one apply, then the memo');
        }
        // Where applyIsNoop says no-op but the apply takes ownership of a field already live with that value.
        if (reference && !noop) {
          assert.ok(!ownsAll, `applyIsNoop says no-op, the apply changes something, and it is not an ownership change: ${why}`);
          count('applyIsNoop no-op, apply takes ownership');
        }
        // After the apply the hashes are equal again (no endless re-applies), but for defaults inside our lists.
        if (!w.leafDefault) assert.equal(ownedHash(after.live as unknown as KubeObject), desiredHash(d1), `in place after applying: ${why}`);
        count(hashSaysNoop ? 'no-op' : 'apply');
        if (d1 !== d0) count('desired changed');
        // The compact copy carries this very hash, and the ownership verdict of the whole object.
        assert.equal(liveFacts(compactLive(live, 'c1'), 'c1').hash, ownedHash(live));
      }
    });
  }
  it('the random histories exercised every case', { timeout: 10_000 }, () => {
    for (const k of ['owns all', 'no-op', 'apply', 'desired changed', 'leaf default: one apply, then the memo', 'applyIsNoop no-op, apply takes ownership']) assert.ok((counts.get(k) ?? 0) > 0, `${k}: ${JSON.stringify([...counts])}`);
  });
});
