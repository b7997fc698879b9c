/**
 * What a first sync's plan holds: N FailoverServices over C clusters rendered with the controller's render cache,
 * then planned (planReconcile, as a reconcile does) against members that hold nothing yet, so that every object is
 * to be probed and created, as onto empty members. Prints the heap the plans hold (after a forced collection), per
 * object, and, measured in the same run as the floor to compare with, the heap of the same objects translated and
 * held, which is what a plan that translated while planning kept alive until its last write.
 * Usage: node --expose-gc --import tsx bench/plan-memory.ts [--services 2000 --clusters 5]
 */
import { parseArgs } from 'node:util';
import { RenderCache, renderDetailed } from '../src/core/render.ts';
import type { KubeObject } from '../src/api/types.ts';
import { PlanCache, planReconcile } from '../src/controller/reconcile.ts';
import type { LiveCluster } from '../src/controller/reconcile.ts';
import { failoverService, meshCluster, meshWorkload } from '../test/controller/harness.ts';

const { values } = parseArgs({ options: { services: { type: 'string', default: '2000' }, clusters: { type: 'string', default: '5' } } });
const N = Number(values.services);
const C = Number(values.clusters);
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with node --expose-gc');
const heap = (): number => {
  collect();
  return process.memoryUsage().heapUsed;
};
const mib = (b: number): string => `${(b / 1048576).toFixed(0)} MiB`;
const clusters = Array.from({ length: C }, (_, i) => `cluster${i + 1}`);
let rv = 0;
const served = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, uid: `uid-${++rv}`, resourceVersion: String(rv), generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' } });
const docs: KubeObject[] = clusters.map((c, i) => served(meshCluster(c, i + 1)));
for (let i = 0; i < N; i++) {
  for (const c of clusters) docs.push(served(meshWorkload(`svc${i}-${c}`, c, `svc${i}`)));
  docs.push(served(failoverService(`svc${i}`, clusters.map((c) => `svc${i}-${c}`))));
}
const cache = new RenderCache();
renderDetailed(docs, cache);
const h0 = heap();
const empty = new Map<string, KubeObject>();
const live = new Map<string, LiveCluster>(clusters.map((c) => [c, { ready: true, labelled: empty }]));
const plan = planReconcile({ docs, clusters: live, memo: () => undefined, renderCache: cache, planCache: new PlanCache() });
const h1 = heap();
const n = plan.clusters.reduce((a, p) => a + p.probe.length + p.apply.length, 0);
// The floor: the same objects, translated and held (taken from the plan, as the executor takes them).
const held = plan.clusters.flatMap((p) => [...p.apply, ...p.probe].map((x) => x.object));
const h2 = heap();
process.stdout.write(
  `${N} FailoverServices x ${C} clusters onto empty members: the plans of ${n} objects hold ${mib(h1 - h0)} (${((h1 - h0) / n).toFixed(0)} bytes per object); ` +
    `the same objects translated and held: ${mib(h2 - h1)} more (${((h2 - h1) / n).toFixed(0)} bytes per object); heap ${mib(h2)}, RSS ${mib(process.memoryUsage().rss)} (${held.length} objects)\n`,
);
