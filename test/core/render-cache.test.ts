/**
 * The render cache is an optimisation only: across random sequences of edits, a render that reuses the cache is
 * byte-identical to a fresh one, and services whose inputs did not change keep their very output objects. The
 * cluster-by-cluster render of one-shot commands (renderByCluster) is byte-identical to both, conflicts included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RenderCache, renderByCluster, renderDetailed } from '../../src/core/render.ts';
import type { DetailedRenderResult } from '../../src/core/render.ts';
import { renderJson, renderYaml } from '../../src/cli/output.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { desiredHash } from '../../src/core/content-hash.ts';
import { objectKey } from '../../src/kube/resources.ts';
import { failoverService, meshCluster, meshWorkload } from './fixtures.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function world(): Map<string, KubeObject> {
  const docs = new Map<string, KubeObject>();
  const put = (o: KubeObject) => docs.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  for (const c of ['c1', 'c2', 'c3', 'c4']) put(meshCluster(c));
  for (let i = 0; i < 12; i++) {
    for (const c of ['c1', 'c2', 'c3', 'c4']) put(meshWorkload(`s${i}-${c}`, c, { service: `s${i}` }));
    put(failoverService(`s${i}`, ['c1', 'c2', 'c3'].map((c) => `s${i}-${c}`)));
  }
  // Namespace other lets default's FailoverServices use its Services (the clash edits below point at them).
  put({ apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkloadGrant', metadata: { name: 'default', namespace: 'other' }, spec: { from: [{ namespace: 'default' }] } });
  return docs;
}

const EDITS: ((docs: Map<string, KubeObject>, r: () => number) => void)[] = [
  // Reorder a service's workloads.
  (d, r) => {
    const fs = [...d.values()].filter((o) => o.kind === 'FailoverService' && Array.isArray((o.spec as { meshWorkloads?: unknown }).meshWorkloads));
    const f = fs[Math.floor(r() * fs.length)];
    if (!f) return;
    const list = [...(f.spec as { meshWorkloads: string[] }).meshWorkloads].reverse();
    d.set(`FailoverService/default/${f.metadata.name}`, { ...f, spec: { ...(f.spec as object), meshWorkloads: list } });
  },
  // Change a cluster's gateway or Istio version.
  (d, r) => {
    const c = `c${1 + Math.floor(r() * 4)}`;
    const mc = d.get(`MeshCluster//${c}`) ?? meshCluster(c);
    const v = ['1.6', '1.20', '1.30', undefined][Math.floor(r() * 4)];
    d.set(`MeshCluster//${c}`, { ...mc, spec: { gateway: { address: `198.51.100.${Math.floor(r() * 200)}`, port: 32000 }, ...(v ? { istio: { version: v } } : {}) } });
  },
  // Break or fix a workload (bad port number is a schema error).
  (d, r) => {
    const key = `MeshWorkload/default/s${Math.floor(r() * 12)}-c${1 + Math.floor(r() * 4)}`;
    const w = d.get(key);
    if (!w) return;
    const bad = r() < 0.5;
    d.set(key, { ...w, spec: { ...(w.spec as object), ports: [{ name: 'http', number: bad ? 99999 : 9080, protocol: 'HTTP' }] } });
  },
  // Pin an address that may collide with another service's.
  (d, r) => {
    const i = Math.floor(r() * 12);
    const f = d.get(`FailoverService/default/s${i}`);
    if (!f) return;
    d.set(`FailoverService/default/s${i}`, { ...f, spec: { ...(f.spec as object), address: `240.0.0.${1 + Math.floor(r() * 3)}` } });
  },
  // Add or remove a service, or point one at a missing workload.
  (d, r) => {
    const i = 12 + Math.floor(r() * 3);
    const key = `FailoverService/default/extra${i}`;
    if (d.has(key)) d.delete(key);
    else d.set(key, failoverService(`extra${i}`, [`s${i % 12}-c4`, r() < 0.3 ? 'ghost' : `s${i % 12}-c2`], { hostname: `extra${i}.default.global` }));
  },
  // Add or remove a service whose objects clash with another's (same names, from a same-named service in another
  // namespace): one of the two is rejected (SPW122), and which one depends on age.
  (d, r) => {
    const i = Math.floor(r() * 3);
    const key = `FailoverService/default/clash${i}`;
    if (d.has(key)) {
      d.delete(key);
      return;
    }
    const w = meshWorkload(`other-s${i}-c4`, 'c4', { service: `s${i}` });
    d.set(`MeshWorkload/default/other-s${i}-c4`, { ...w, spec: { ...(w.spec as object), service: { name: `s${i}`, namespace: 'other' } } });
    const ts = r() < 0.5 ? '2020-01-01T00:00:00Z' : '2030-01-01T00:00:00Z';
    d.set(key, failoverService(`clash${i}`, [`other-s${i}-c4`, `s${(i + 1) % 12}-c2`], {}, { creationTimestamp: ts }));
  },
  // Withdraw the grant of namespace other, or give it back: the clash services' tenancy (SPW140) follows it.
  (d) => {
    const key = 'MeshWorkloadGrant/other/default';
    if (d.has(key)) d.delete(key);
    else d.set(key, { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkloadGrant', metadata: { name: 'default', namespace: 'other' }, spec: { from: [{ namespace: 'default' }] } });
  },
  // Remove a cluster, or bring it back.
  (d, r) => {
    const c = `c${1 + Math.floor(r() * 4)}`;
    if (d.has(`MeshCluster//${c}`)) d.delete(`MeshCluster//${c}`);
    else d.set(`MeshCluster//${c}`, meshCluster(c));
  },
  // A workload disappears (its cluster may keep clients only, SPW161), or comes back.
  (d, r) => {
    const key = `MeshWorkload/default/s${Math.floor(r() * 12)}-c${1 + Math.floor(r() * 4)}`;
    if (d.has(key)) d.delete(key);
    else {
      const [, , name] = key.split('/') as [string, string, string];
      d.set(key, meshWorkload(name, name.slice(name.indexOf('-') + 1), { service: name.slice(0, name.indexOf('-')) }));
    }
  },
  // Claim another service's global host (SPW112), or give it back: which one keeps it depends on age.
  (d, r) => {
    const i = Math.floor(r() * 12);
    const f = d.get(`FailoverService/default/s${i}`);
    if (!f) return;
    const { hostname: _h, ...spec } = f.spec as { hostname?: string };
    d.set(`FailoverService/default/s${i}`, { ...f, spec: r() < 0.6 ? { ...spec, hostname: `s${Math.floor(r() * 12)}.default.global` } : spec });
  },
  // Re-create a service with another age (it moves in the oldest-first order), or break it (schema error), or fix it.
  (d, r) => {
    const i = Math.floor(r() * 12);
    const key = `FailoverService/default/s${i}`;
    const f = d.get(key);
    const roll = r();
    if (!f || roll < 0.2) d.set(key, failoverService(`s${i}`, ['c1', 'c2', 'c3'].map((c) => `s${i}-${c}`)));
    else if (roll < 0.6) d.set(key, { ...f, metadata: { ...f.metadata, creationTimestamp: `202${Math.floor(r() * 9)}-01-01T00:00:00Z` } });
    else if (roll < 0.8) d.set(key, { ...f, spec: { ...(f.spec as object), meshWorkloads: 'nope' } });
    else d.delete(key);
  },
  // A grant for one namespace only, or for every namespace; a second grant; none.
  (d, r) => {
    const roll = r();
    const key = 'MeshWorkloadGrant/other/second';
    if (roll < 0.3) d.delete(key);
    else d.set(key, { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkloadGrant', metadata: { name: 'second', namespace: 'other' }, spec: { from: [{ namespace: roll < 0.6 ? 'nobody' : 'default' }] } });
  },
  // A cluster's status written (the controller's lastSyncTime after a change there), its spec untouched.
  (d, r) => {
    const c = `c${1 + Math.floor(r() * 4)}`;
    const mc = d.get(`MeshCluster//${c}`);
    if (mc) d.set(`MeshCluster//${c}`, { ...mc, status: { reachable: r() < 0.8, lastSyncTime: `2026-12-02T01:00:${String(Math.floor(r() * 60)).padStart(2, '0')}Z` } });
  },
  // The same documents in another order (a re-list): nothing changes.
  (d) => {
    const entries = [...d.entries()].reverse();
    d.clear();
    for (const [k, v] of entries) d.set(k, v);
  },
];

let totalConflicts = 0;
let byClusterConflicts = 0;
let incremental = 0;
const seen = new Set<string>();
for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`seed ${seed}: 50 random edits, cached (incremental) renders equal fresh renders byte for byte`, { timeout: 120_000 }, () => {
    const r = rng(seed);
    const docs = world();
    const cache = new RenderCache();
    let conflicts = 0;
    let previous: DetailedRenderResult | undefined;
    for (let step = 0; step < 50; step++) {
      EDITS[Math.floor(r() * EDITS.length)]!(docs, r);
      const input = [...docs.values()];
      const cached = renderDetailed(input, cache);
      const fresh = renderDetailed(input);
      for (const m of fresh.messages) seen.add(m.code);
      if (cached.changes && cached !== previous) {
        // What a difference says is unchanged is the very same output as in the render it was made from.
        assert.equal(cached.changes.since, previous, `step ${step}: since`);
        // ...which no longer holds the render before it (renders made as differences do not keep each other alive).
        assert.equal(previous!.changes, undefined, `step ${step}: the previous render dropped its changes`);
        const before = new Map(previous!.services.map((o) => [o.ref, o]));
        for (const o of cached.services) if (!cached.changes.refs.has(o.ref)) assert.equal(o, before.get(o.ref), `step ${step}: ${o.ref} outcome`);
        for (const o of cached.services) {
          if (cached.changes.refs.has(o.ref)) continue;
          assert.deepEqual(cached.messages.filter((m) => m.object === o.ref), previous!.messages.filter((m) => m.object === o.ref), `step ${step}: ${o.ref} messages`);
        }
        for (const [cluster, blocks] of cached.blocks) {
          const old = new Map((previous!.blocks.get(cluster) ?? []).map((b) => [b.ref, b]));
          for (const b of blocks) if (!cached.changes.refs.has(b.ref)) assert.equal(b, old.get(b.ref), `step ${step}: ${b.ref} block in ${cluster}`);
          for (const b of old.values()) if (!cached.changes.refs.has(b.ref)) assert.ok(blocks.includes(b), `step ${step}: ${b.ref} block kept in ${cluster}`);
        }
        assert.deepEqual([...cached.notAccepted!].sort(), fresh.services.filter((o) => !o.accepted).map((o) => o.ref).sort(), `step ${step}: not accepted`);
      }
      previous = cached;
      // The very same documents again (a reconcile woken by something else): the same result, not a new render.
      if (r() < 0.5) assert.equal(renderDetailed([...input], cache), cached, `step ${step}: same documents`);
      assert.equal(renderJson(cached), renderJson(fresh), `step ${step}`);
      const byCluster = renderByCluster(input);
      assert.deepEqual(byCluster.clusterNames, Object.keys(fresh.clusters), `step ${step}`);
      assert.equal(renderJson({ clusters: byCluster, messages: byCluster.messages }), renderJson(fresh), `step ${step}: cluster by cluster`);
      assert.equal(renderYaml(byCluster), renderYaml(fresh.clusters), `step ${step}: cluster by cluster, YAML`);
      for (const c of byCluster.clusterNames) assert.equal(byCluster.count(c), fresh.clusters[c]?.length ?? 0, `step ${step}: count ${c}`);
      for (const c of byCluster.clusterNames) assert.equal(byCluster.hasObjects(c), (fresh.clusters[c]?.length ?? 0) > 0, `step ${step}: ${c}`);
      assert.deepEqual(cached.services, fresh.services, `step ${step}`);
      assert.deepEqual(cached.messages, fresh.messages, `step ${step}`);
      assertBlocksMatch(cached, `step ${step}`);
      if (cached.messages.some((m) => m.code === 'SPW122')) conflicts++;
      if (byCluster.messages.some((m) => m.code === 'SPW122')) byClusterConflicts++;
      assertBlocksMatch(fresh, `step ${step}`);
    }
    totalConflicts += conflicts;
    incremental += cache.incrementalRenders;
  });
}

test('the random edits exercised object conflicts (SPW122), so claims kept across renders were tested', () => {
  assert.ok(totalConflicts > 0);
  assert.ok(byClusterConflicts > 0, 'the cluster-by-cluster render met conflicts too');
});

test('the random edits were rendered as differences and met every mesh-wide outcome', () => {
  // Nearly every render after the first is a difference (the rest are the very same documents again).
  assert.ok(incremental >= 8 * 40, `${incremental} incremental renders`);
  for (const code of ['SPW100', 'SPW112', 'SPW113', 'SPW114', 'SPW122', 'SPW140', 'SPW161']) assert.ok(seen.has(code), `no edit led to ${code} (seen: ${[...seen].sort().join(' ')})`);
});

/** `blocks` hold exactly the objects of `clusters`, grouped by owning service, oldest accepted service first. */
function assertBlocksMatch(r: DetailedRenderResult, why: string): void {
  assert.deepEqual([...r.blocks.keys()], Object.keys(r.clusters), why);
  const order = r.services.filter((s) => s.accepted).map((s) => s.ref);
  for (const [cluster, blocks] of r.blocks) {
    const grouped = blocks.flatMap((b) => b.objects());
    const sorted = (xs: readonly KubeObject[]) => [...xs].sort((x, y) => (objectKey(x) < objectKey(y) ? -1 : objectKey(x) > objectKey(y) ? 1 : 0));
    assert.deepEqual(sorted(grouped), sorted(r.clusters[cluster]!), `${why}: ${cluster}`);
    assert.equal(grouped.length, r.clusters[cluster]!.length, `${why}: ${cluster}`);
    // What a block keeps instead of its objects: their keys and content hashes, in the same order.
    for (const b of blocks) {
      const objects = b.objects();
      assert.deepEqual(b.keys, objects.map(objectKey), `${why}: ${cluster} ${b.ref} keys`);
      assert.deepEqual([...b.hashes], objects.map((o) => desiredHash(o)), `${why}: ${cluster} ${b.ref} hashes`);
    }
    const refs = blocks.map((b) => b.ref);
    assert.deepEqual(refs, order.filter((ref) => refs.includes(ref)), `${why}: ${cluster} block order`);
    for (const b of blocks) {
      for (const o of b.objects()) {
        assert.equal(`FailoverService/${o.metadata.labels?.['spillway.dev/failover-service-namespace']}/${o.metadata.labels?.['spillway.dev/failover-service']}`, b.ref, why);
      }
    }
  }
}

test('unchanged services keep their blocks (keys, hashes); a changed service gets new ones; no objects are kept', () => {
  const docs = world();
  const cache = new RenderCache();
  const first = renderDetailed([...docs.values()], cache);
  const f = docs.get('FailoverService/default/s3')!;
  docs.set('FailoverService/default/s3', { ...f, spec: { ...(f.spec as object), outlierDetection: { consecutive5xxErrors: 3 } } });
  const second = renderDetailed([...docs.values()], cache);
  // Whole blocks keep their identity: that is what lets the controller skip unchanged services.
  const blocksBefore = new Map([...first.blocks.values()].flat().map((b) => [b.keys, b]));
  for (const b of [...second.blocks.values()].flat()) {
    const prior = blocksBefore.get(b.keys);
    assert.equal(prior !== undefined, b.ref !== 'FailoverService/default/s3', b.ref);
    if (prior) assert.equal(prior.hashes, b.hashes, b.ref);
    // The objects are not held: asked for, they are translated again, equal to what the render made.
    assert.notEqual(b.objects(), b.objects(), `${b.ref}: translated again on each request`);
    assert.deepEqual(b.objects(), b.objects(), b.ref);
  }
  const s3 = [...second.blocks.values()].flat().filter((b) => b.ref === 'FailoverService/default/s3');
  assert.ok(s3.length > 0 && s3.some((b) => b.objects().some((o) => o.kind === 'DestinationRule' && JSON.stringify(o.spec).includes('"consecutive5xxErrors":3'))), 'the changed service renders its change');
});

test('a MeshCluster whose status alone changed (the controller writes it after every change there) changes no service', () => {
  const docs = world();
  const cache = new RenderCache();
  const first = renderDetailed([...docs.values()], cache);
  const users = first.services.filter((o) => o.accepted && o.clusters.some((c) => c.name === 'c2')).map((o) => o.ref);
  assert.ok(users.length >= 12, `${users.length} services use c2`);
  const mc = docs.get('MeshCluster//c2')!;
  docs.set('MeshCluster//c2', { ...mc, metadata: { ...mc.metadata, resourceVersion: '7' }, status: { reachable: true, lastSyncTime: '2026-12-02T01:00:00Z' } });
  const second = renderDetailed([...docs.values()], cache);
  assert.ok(second.changes, 'made as a difference');
  assert.deepEqual([...second.changes.refs], [], 'no service changed');
  for (const o of second.services) assert.equal(o, first.services.find((x) => x.ref === o.ref), o.ref);
  assert.equal(renderJson(second), renderJson(renderDetailed([...docs.values()])));
  // Positive control, the same cluster: its spec changes (another gateway address), and so does every service using it.
  const cur = docs.get('MeshCluster//c2')!;
  docs.set('MeshCluster//c2', { ...cur, spec: { ...(cur.spec as object), gateway: { address: '198.51.100.7', port: 32000, servicePort: 443 } } });
  const third = renderDetailed([...docs.values()], cache);
  assert.deepEqual([...third.changes!.refs].filter((r) => users.includes(r)).sort(), [...users].sort());
  assert.equal(renderJson(third), renderJson(renderDetailed([...docs.values()])));
  assert.match(renderJson(third), /198\.51\.100\.7/);
});

test('every FailoverService with a new status (a restart writes them all) and every MeshWorkload updated changes no service; a spec still does', () => {
  const docs = world();
  const cache = new RenderCache();
  const first = renderDetailed([...docs.values()], cache);
  const echoed = [...docs.entries()].filter(([, o]) => o.kind === 'FailoverService' || o.kind === 'MeshWorkload');
  assert.ok(echoed.length >= 60, `${echoed.length} documents`);
  // FailoverServices get a status; MeshWorkloads (no status) only a new resourceVersion, as any server-side update.
  for (const [k, o] of echoed) {
    const metadata = { ...o.metadata, resourceVersion: '9' };
    docs.set(k, o.kind === 'FailoverService' ? { ...o, metadata, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', lastTransitionTime: '2026-12-02T02:00:00Z' }] } } : { ...o, metadata });
  }
  const second = renderDetailed([...docs.values()], cache);
  assert.ok(second.changes, 'made as a difference');
  assert.deepEqual([...second.changes.refs], [], 'no service changed');
  for (const o of second.services) assert.equal(o, first.services.find((x) => x.ref === o.ref), o.ref);
  assert.equal(renderJson(second), renderJson(renderDetailed([...docs.values()])));
  // Positive control: one service's spec changes with its status (its workloads reversed): that service alone.
  const fs = docs.get('FailoverService/default/s3')!;
  docs.set('FailoverService/default/s3', { ...fs, status: {}, spec: { ...(fs.spec as object), meshWorkloads: [...(fs.spec as { meshWorkloads: string[] }).meshWorkloads].reverse() } });
  const third = renderDetailed([...docs.values()], cache);
  assert.deepEqual([...third.changes!.refs], ['FailoverService/default/s3']);
  assert.equal(renderJson(third), renderJson(renderDetailed([...docs.values()])));
  assert.notEqual(renderJson(third), renderJson(second));
});

test('a render of the very same documents is the last result; any other document, order or policy renders again', () => {
  const docs = [...world().values()];
  const cache = new RenderCache();
  const first = renderDetailed(docs, cache);
  assert.equal(renderDetailed([...docs], cache), first);
  // An equal but new object is another document: rendered again, to an equal result.
  const i = docs.findIndex((d) => d.kind === 'FailoverService');
  const copy = [...docs];
  copy[i] = structuredClone(docs[i]!);
  const again = renderDetailed(copy, cache);
  assert.notEqual(again, first);
  assert.equal(renderJson(again), renderJson(first));
  // Another order, fewer documents, another policy: rendered again, each equal to a fresh render.
  for (const [input, policy] of [[[...copy].reverse(), undefined], [copy.slice(1), undefined], [copy, { hostSuffixes: ['global', 'mesh'] }]] as const) {
    const cached = renderDetailed(input, cache, policy);
    assert.notEqual(cached, again);
    assert.equal(renderJson(cached), renderJson(renderDetailed(input, undefined, policy)));
    assert.deepEqual(cached.messages, renderDetailed(input, undefined, policy).messages);
  }
  // A policy holding a Map is compared by its entries.
  const a = renderDetailed(copy, cache, { foreignHosts: new Map([['s1.default.global', 'c1: ServiceEntry istio-system/x']]) });
  assert.equal(renderDetailed(copy, cache, { foreignHosts: new Map([['s1.default.global', 'c1: ServiceEntry istio-system/x']]) }), a);
  const b = renderDetailed(copy, cache, { foreignHosts: new Map([['s2.default.global', 'c1: ServiceEntry istio-system/x']]) });
  assert.notEqual(b, a);
  assert.deepEqual(b.messages, renderDetailed(copy, undefined, { foreignHosts: new Map([['s2.default.global', 'c1: ServiceEntry istio-system/x']]) }).messages);
});
