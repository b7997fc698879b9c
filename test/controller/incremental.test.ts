/**
 * The per-reconcile consumers of a render that work by difference (statuses, the checks' render shape, discovery,
 * discovered-workload writes): after each edit of a small fleet, what the incremental consumer does equals what the
 * same consumer computed from scratch does, and an unchanged fleet costs it no recomputation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { RenderCache, renderDetailed } from '../../src/core/render.ts';
import type { DetailedRenderResult } from '../../src/core/render.ts';
import { RenderShape } from '../../src/controller/checks.ts';
import { DEFAULT_EXCLUDED_NAMESPACES, DiscoveryMemo, discoverWorkloads, discoverWorkloadsWith } from '../../src/controller/discovery.ts';
import { ControllerMetrics } from '../../src/controller/metrics.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { StatusWriter } from '../../src/controller/status-writer.ts';
import type { ConnectionState } from '../../src/controller/status-writer.ts';
import type { ClusterOutcome } from '../../src/controller/reconcile.ts';
import type { KubeClient, KubeRequest } from '../../src/kube/client.ts';
import type { Informer } from '../../src/kube/informer.ts';
import { failoverService, meshCluster, meshWorkload } from '../core/fixtures.ts';

const clusters = ['c1', 'c2', 'c3'];

function world(): Map<string, KubeObject> {
  const docs = new Map<string, KubeObject>();
  for (const c of clusters) docs.set(`mc/${c}`, meshCluster(c));
  for (let i = 0; i < 8; i++) {
    for (const c of clusters) docs.set(`mw/svc${i}-${c}`, meshWorkload(`svc${i}-${c}`, c, { service: `svc${i}` }));
    docs.set(`fs/svc${i}`, failoverService(`svc${i}`, clusters.map((c) => `svc${i}-${c}`), {}, { creationTimestamp: `2026-01-01T00:00:0${i}Z`, generation: 1 }));
  }
  return docs;
}

/** The edits the fleet goes through, each followed by a round of every consumer. */
const EDITS: [string, (docs: Map<string, KubeObject>) => void][] = [
  ['nothing', () => undefined],
  ['svc1 reordered', (d) => d.set('fs/svc1', { ...d.get('fs/svc1')!, metadata: { ...d.get('fs/svc1')!.metadata, generation: 2 }, spec: { meshWorkloads: ['svc1-c3', 'svc1-c1', 'svc1-c2'] } })],
  ['nothing again', () => undefined],
  ['svc2-c3 gone', (d) => d.delete('mw/svc2-c3')],
  ['svc3 invalid', (d) => d.set('fs/svc3', { ...d.get('fs/svc3')!, metadata: { ...d.get('fs/svc3')!.metadata, generation: 2 }, spec: { meshWorkloads: ['svc3-c1'], port: 'no-such-port' } })],
  ['svc4 gone', (d) => d.delete('fs/svc4')],
  ['svc8 new over svc0', (d) => d.set('fs/svc8', failoverService('svc8', ['svc0-c1', 'svc0-c2'], {}, { creationTimestamp: '2026-01-01T00:00:09Z', generation: 1 }))],
  ['c3 gone', (d) => d.delete('mc/c3')],
  ['c3 back', (d) => d.set('mc/c3', meshCluster('c3'))],
];

/** A management API answering status merge patches; the answer replaces the informer's copy in `docs`. */
function management(docs: Map<string, KubeObject> | undefined, patches: string[]): KubeClient {
  return {
    server: 'test',
    stats: { reads: 0, writes: 0, watches: 0, writesByKind: new Map(), throttled: 0 },
    request: async (req: KubeRequest) => {
      const parts = req.path.split('/');
      const name = decodeURIComponent(parts[parts.length - 2] ?? '');
      const kind = req.path.includes('/failoverservices/') ? 'fs' : 'mc';
      patches.push(`${kind}/${name} ${JSON.stringify(req.body)}`);
      const base = docs?.get(`${kind}/${name}`) ?? { apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name } };
      const status: Record<string, unknown> = { ...((base.status as Record<string, unknown> | undefined) ?? {}) };
      for (const [k, v] of Object.entries((req.body as { status: Record<string, unknown> }).status)) if (v === null) delete status[k]; else status[k] = v;
      return { ...base, status };
    },
    watch: async () => undefined,
    close: () => undefined,
  };
}

const informerOver = (docs: Map<string, KubeObject> | undefined, kind: string): Informer => ({ observe: (o: KubeObject) => docs?.set(`${kind}/${o.metadata.name}`, o) }) as unknown as Informer;

function writer(docs: Map<string, KubeObject> | undefined, patches: string[]): StatusWriter {
  return new StatusWriter({ management: management(docs, patches), failoverServices: informerOver(docs, 'fs'), meshClusters: informerOver(docs, 'mc'), gate: { guard: () => undefined, concurrency: 4 }, wallTime: () => new Date(Date.UTC(2026, 0, 2)), log: silentLogger, metrics: new ControllerMetrics() });
}

describe('incremental consumers equal their full recomputation', { timeout: 60_000 }, () => {
  it('StatusWriter: after each edit the same status patches as a writer computing every status afresh; an unchanged fleet computes none', async () => {
    const docs = world();
    const kept: string[] = [];
    const incremental = writer(docs, kept);
    const outcomes = (render: DetailedRenderResult): ClusterOutcome[] => [...render.blocks.keys()].map((cluster) => ({ cluster, state: 'Synced', objectErrors: new Map(), applied: 0, pruned: 0 }));
    const connections = new Map<string, ConnectionState>(clusters.map((c) => [c, { reachable: true, error: undefined, firstSync: false }]));
    let wrote = 0;
    // Last, a workload gone in a render made afresh (a new cache: not a difference of the last round's render): the
    // status of the service reading it changes although its own document did not.
    let cache = new RenderCache();
    let afresh = false;
    for (const [what, edit] of [...EDITS, ...EDITS.slice(0, 3), ['svc5-c3 gone, rendered afresh', (d: Map<string, KubeObject>) => void (d.delete('mw/svc5-c3'), (afresh = true))] as const]) {
      edit(docs);
      // Three rounds per edit: the second sees the statuses the first wrote (the informer's new copies, looked at
      // once), the third an unchanged fleet.
      let echoed = 0;
      for (const round of [1, 2, 3]) {
        const input = [...docs.values()];
        if (afresh) {
          cache = new RenderCache();
          afresh = false;
        }
        const render = renderDetailed(input, cache);
        const services = input.filter((o) => o.kind === 'FailoverService');
        const meshClusters = input.filter((o) => o.kind === 'MeshCluster');
        const r = { render, services, meshClusters, outcomes: outcomes(render), connections, held: new Map<string, string[]>(), now: '2026-01-02T00:00:00Z' };
        const fresh: string[] = [];
        await writer(undefined, fresh).write(r);
        kept.length = 0;
        await incremental.write(r);
        assert.deepEqual([...kept].sort(), [...fresh].sort(), `${what}, round ${round}`);
        wrote += kept.length;
        if (round > 1) assert.deepEqual(kept, [], `${what}: round ${round} writes nothing`);
        if (round === 2) assert.equal(incremental.lastComputed, echoed, `${what}: round 2 looks at the echoed statuses only`);
        if (round === 3) assert.equal(incremental.lastComputed, 0, `${what}: round 3 computes no status`);
        // Only the render changed since the round before: the services it changed are looked at, no others.
        if (round === 2) assert.equal(incremental.lastLooked, echoed, `${what}: round 2 looks at the echoed services alone`);
        if (round === 3) assert.equal(incremental.lastLooked, 0, `${what}: round 3 looks at no service`);
        echoed = kept.filter((p) => p.startsWith('fs/')).length;
      }
    }
    assert.ok(wrote >= 12, `statuses written along the way: ${wrote}`);
  });

  it('StatusWriter: a status written whose new copy never came back (the watch lost it) is looked at again, even when the render did not change', async () => {
    const docs = world();
    const cache = new RenderCache();
    const patches: string[] = [];
    // The management API answers, the informer keeps its old copies: every status is still to write next round.
    const deaf = new StatusWriter({ management: management(undefined, patches), failoverServices: informerOver(undefined, 'fs'), meshClusters: informerOver(undefined, 'mc'), gate: { guard: () => undefined, concurrency: 4 }, wallTime: () => new Date(Date.UTC(2026, 0, 2)), log: silentLogger, metrics: new ControllerMetrics() });
    const connections = new Map<string, ConnectionState>(clusters.map((c) => [c, { reachable: true, error: undefined, firstSync: false }]));
    for (const round of [1, 2, 3]) {
      // Round 2's render is a difference (svc7 reordered), round 3's the same render again.
      if (round === 2) docs.set('fs/svc7', { ...docs.get('fs/svc7')!, metadata: { ...docs.get('fs/svc7')!.metadata, generation: 2 }, spec: { meshWorkloads: ['svc7-c2', 'svc7-c1', 'svc7-c3'] } });
      const input = [...docs.values()];
      const render = renderDetailed(input, cache);
      if (round > 1) assert.ok(render.changes, `round ${round}: the render is made as a difference`);
      patches.length = 0;
      await deaf.write({ render, services: input.filter((o) => o.kind === 'FailoverService'), meshClusters: input.filter((o) => o.kind === 'MeshCluster'), outcomes: [...render.blocks.keys()].map((cluster) => ({ cluster, state: 'Synced', objectErrors: new Map(), applied: 0, pruned: 0 })), connections, held: new Map(), now: '2026-01-02T00:00:00Z' });
      assert.equal(patches.filter((p) => p.startsWith('fs/')).length, 8, `round ${round}: every FailoverService's status written`);
    }
  });

  it('StatusWriter: a status someone else overwrote (the document replaced, its spec the same: the render unchanged) is written back', async () => {
    const docs = world();
    const cache = new RenderCache();
    const patches: string[] = [];
    const w = writer(docs, patches);
    const connections = new Map<string, ConnectionState>(clusters.map((c) => [c, { reachable: true, error: undefined, firstSync: false }]));
    const round = async (): Promise<DetailedRenderResult> => {
      const input = [...docs.values()];
      const render = renderDetailed(input, cache);
      patches.length = 0;
      await w.write({ render, services: input.filter((o) => o.kind === 'FailoverService'), meshClusters: input.filter((o) => o.kind === 'MeshCluster'), outcomes: [...render.blocks.keys()].map((cluster) => ({ cluster, state: 'Synced', objectErrors: new Map(), applied: 0, pruned: 0 })), connections, held: new Map(), now: '2026-01-02T00:00:00Z' });
      return render;
    };
    await round();
    assert.equal(patches.filter((p) => p.startsWith('fs/')).length, 8, 'first round: every status written');
    const echoed = await round();
    assert.deepEqual([...patches], [], 'the echoes need no write');
    assert.ok(echoed.changes, 'rendered as a difference');
    assert.deepEqual([...echoed.changes.refs], [], 'a status echo changes no service of the render');
    // Someone else's write: svc3's status emptied, its spec as it was.
    docs.set('fs/svc3', { ...docs.get('fs/svc3')!, status: {} });
    const clobbered = await round();
    assert.deepEqual([...(clobbered.changes?.refs ?? ['?'])], [], 'the render did not change');
    assert.deepEqual(patches.map((p) => p.split(' ')[0]), ['fs/svc3'], 'svc3\'s status written back, nothing else');
  });

  it('RenderShape: after each edit the shape read by difference equals the shape read whole, and says when it changed', () => {
    const docs = world();
    const cache = new RenderCache();
    const shape = new RenderShape();
    let before = '';
    let changes = 0;
    for (const [what, edit] of EDITS) {
      edit(docs);
      const render = renderDetailed([...docs.values()], cache);
      const changed = shape.update(render);
      const whole = new RenderShape();
      whole.update(render);
      assert.equal(shape.text(), whole.text(), what);
      assert.equal(changed, shape.text() !== before, `${what}: changed`);
      if (changed) changes++;
      before = shape.text();
    }
    assert.ok(changes >= 5, `shape changes: ${changes}`);
  });

  it('discovery: the very same inputs give the very same result; any changed Service or MeshWorkload a result equal to a fresh discovery', () => {
    const svc = (ns: string, name: string, port = 9080): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port }], selector: { app: name } } });
    const lists = new Map<string, KubeObject[] | undefined>([['c1', [svc('default', 'a'), svc('default', 'b')]], ['c2', [svc('default', 'a')]]]);
    const memo = new DiscoveryMemo();
    const exclude = new Set(DEFAULT_EXCLUDED_NAMESPACES);
    const input = (existing: KubeObject[]) => ({ services: new Map([...lists].map(([c, l]) => [c, l ? [...l] : undefined])), existing: [...existing], excludeNamespaces: new Set(exclude) });
    let existing: KubeObject[] = [];
    const steps: [string, () => void][] = [
      ['first', () => undefined],
      ['same objects, new lists', () => undefined],
      ['workloads written', () => void (existing = discoverWorkloads(input(existing)).desired)],
      ['a Service changed', () => void (lists.get('c2')![0] = svc('default', 'a', 9090))],
      ['a Service gone', () => void lists.get('c1')!.pop()],
      ['c2 unknown', () => void lists.set('c2', undefined)],
      ['a hand-written workload takes a name', () => void (existing = [...existing, meshWorkload('a-c1', 'c1', { service: 'x' })])],
    ];
    let last: ReturnType<typeof discoverWorkloads> | undefined;
    for (const [what, step] of steps) {
      step();
      const before = memo.computed;
      const got = discoverWorkloadsWith(memo, input(existing));
      assert.deepEqual(got, discoverWorkloads(input(existing)), what);
      if (what === 'same objects, new lists') {
        assert.equal(got, last, `${what}: the last result again`);
        assert.equal(memo.computed, before, `${what}: not computed`);
      } else assert.equal(memo.computed, before + 1, `${what}: computed`);
      last = got;
    }
  });
});
