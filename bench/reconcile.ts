/**
 * The controller's own reconcile compute at scale, in one process and without any API server: what
 * `npm run bench:controller` cannot show at 10,000 FailoverServices over five clusters, where bulk-loading the API
 * doubles (which run in that benchmark's process) takes longer than the measurement itself.
 *
 * Builds N FailoverServices over C clusters (N x C MeshWorkloads, C MeshClusters, with server-set metadata), renders
 * them with the controller's render cache, and builds for every cluster the live Spillway objects as the controller's
 * informers cache them (src/controller/slim.ts: each rendered object applied by field manager `spillway`, with the
 * managedFields entry an API server records). Then, timing each step with the very functions a reconcile calls:
 *   - a restart's first render (uncached) and first plan (an empty apply memo: every live object is compared);
 *   - K one-service changes (a FailoverService's tiers reordered): render + plan of the whole snapshot with the
 *     caches, as a reconcile does, the plan's writes then applied to the live copies and the memo (as the executor
 *     does), p50/p99 (target: p99 under 100 ms, the part of issue 13's convergence target spent computing; the rest
 *     is the watch event, the writes and the statuses);
 *   - the heap and resident memory of this process holding what the controller holds (inputs, render cache, live
 *     copies, memo), against the Deployment's limits (it runs with the Deployment's NODE_OPTIONS).
 * Exits 1 when a target is missed. Not included: reading the caches, statuses, the writes themselves.
 * Usage: npm run bench:reconcile [-- --services 10000 --clusters 5 --changes 50] (the measurement runs in a child process
 * with the Deployment's NODE_OPTIONS; one that runs out of heap is reported as a missed target). `--heap-mib N` runs it
 * with a heap of N MiB instead, for the compute figures of a size whose memory does not fit the Deployment yet (the
 * memory target is then not checked). Each change's CPU time is printed next to its wall time: on a shared machine the
 * wall time includes waiting for a core.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RenderCache, renderDetailed } from '../src/core/render.ts';
import type { KubeObject } from '../src/api/types.ts';
import { PlanCache, planReconcile } from '../src/controller/reconcile.ts';
import type { LiveCluster, MemoEntry } from '../src/controller/reconcile.ts';
import { LabelledView, StringInterner, compactLive } from '../src/controller/slim.ts';
import type { LiveStore } from '../src/controller/slim.ts';
import { FIELD_MANAGER } from '../src/api/ownership.ts';
import { installManifests } from '../src/install/install.ts';
import { objectKey } from '../src/kube/resources.ts';
import { fieldsOf, toFieldsV1 } from '../test/double/fieldset.ts';
import type { JsonObject } from '../test/double/json.ts';
import { failoverService, meshCluster, meshWorkload } from '../test/controller/harness.ts';

/**
 * The measurement runs in a child process with the Deployment's NODE_OPTIONS, so that running out of that heap is a
 * result (reported as a missed target, with the phase it died in and its peak resident memory), not a crash.
 */
if (process.env.SPILLWAY_RECONCILE_BENCH_CHILD !== '1') {
  const d = installManifests({}).find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
  const deploymentOptions = (d.spec.template.spec.containers[0]!.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '').split(/\s+/).filter(Boolean);
  // --heap-mib N: the compute figures of a size whose memory does not fit the Deployment yet (the memory target is
  // then not measured, and the output says so).
  const heapArg = process.argv.indexOf('--heap-mib');
  const nodeOptions = heapArg >= 0 ? [...deploymentOptions.filter((o) => !o.startsWith('--max-old-space-size')), `--max-old-space-size=${process.argv[heapArg + 1]}`] : deploymentOptions;
  const child = spawn(process.execPath, ['--expose-gc', ...nodeOptions, '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', SPILLWAY_RECONCILE_BENCH_CHILD: '1' } });
  let peak = 0;
  const sample = setInterval(() => {
    try {
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
    } catch {
      // exited, or no /proc
    }
  }, 250);
  let last = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    process.stdout.write(b);
    last = b.toString().trimEnd().split('\n').pop() ?? last;
  });
  child.stderr.on('data', (b: Buffer) => void (stderr += b.toString()));
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  clearInterval(sample);
  if (code !== 0 && !/^all targets met|^ {2}- /.test(last)) {
    const oom = /heap out of memory/.test(stderr);
    process.stdout.write(`TARGETS MISSED (1):\n  - the measuring process died (${oom ? `out of heap with ${heapArg >= 0 ? '' : "the Deployment's NODE_OPTIONS "}${nodeOptions.join(' ')}` : `exit ${code ?? signal}`}) after: ${last || 'nothing'}; peak resident memory ${(peak / 1048576).toFixed(0)} MiB\n`);
    if (!oom) process.stderr.write(stderr.slice(-2000));
  }
  process.exit(code === 0 ? 0 : 1);
}

const { values } = parseArgs({ options: { services: { type: 'string', default: '1000' }, clusters: { type: 'string', default: '5' }, changes: { type: 'string', default: '50' }, 'heap-mib': { type: 'string' } } });
const ownHeap = values['heap-mib'] !== undefined;
const N = Number(values.services);
const C = Number(values.clusters);
const K = Number(values.changes);
if (!(N > K && K >= 1 && C >= 2)) throw new Error('need --services > --changes >= 1 and --clusters >= 2');
const TARGET_P99_MS = 100;
const log = (s: string): void => void process.stdout.write(`${s}\n`);
const mib = (b: number): string => `${(b / 1048576).toFixed(0)} MiB`;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const gc = (globalThis as { gc?: () => void }).gc;
const heap = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

const deployment = (() => {
  const d = installManifests({}).find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { resources: { limits: { memory: string } } }[] } } } };
  const mem = d.spec.template.spec.containers[0]!.resources.limits.memory;
  return { limit: mem, bytes: /^(\d+)Gi$/.test(mem) ? Number(mem.slice(0, -2)) * 1024 ** 3 : Number(mem.slice(0, -2)) * 1024 ** 2 };
})();

const clusters = Array.from({ length: C }, (_, i) => `cluster${i + 1}`);
let rv = 0;
const served = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, uid: `uid-${++rv}`, resourceVersion: String(rv), generation: 1, creationTimestamp: new Date(Date.UTC(2026, 0, 1) + rv * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') } });
const docs: KubeObject[] = clusters.map((c, i) => served(meshCluster(c, i + 1)));
for (let i = 0; i < N; i++) for (const c of clusters) docs.push(served(meshWorkload(`svc${i}-${c}`, c, `svc${i}`)));
for (let i = 0; i < N; i++) docs.push(served(failoverService(`svc${i}`, clusters.map((c) => `svc${i}-${c}`))));
const h0 = heap();
log(`inputs: ${N} FailoverServices, ${N * C} MeshWorkloads, ${C} MeshClusters (${docs.length} documents, heap ${mib(h0)}); node ${process.execArgv.filter((a) => a.startsWith('--max')).join(' ')}${ownHeap ? ' (--heap-mib: NOT the Deployment\'s heap; the memory target is not measured)' : " (the Deployment's NODE_OPTIONS)"}`);

const cache = new RenderCache();
let t = performance.now();
let render = renderDetailed(docs, cache);
const firstRenderMs = performance.now() - t;
const total = clusters.reduce((n, c) => n + (render.blocks.get(c) ?? []).reduce((m, b) => m + b.keys.length, 0), 0);
const h1 = heap();
log(`first render (a restart): ${firstRenderMs.toFixed(0)} ms, ${total} objects (${(total / C).toFixed(0)} per cluster); heap ${mib(h1)} (+${mib(h1 - h0)} for the render cache)`);

/** One kind's cache, keyed as an Informer keys it (namespace/name). */
class Store implements LiveStore {
  readonly cache = new Map<string, KubeObject>();
  constructor(readonly type: { group: string; kind: string }) {}
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.cache.get([namespace ?? '', name].join('/'));
  }
  list(): KubeObject[] {
    return [...this.cache.values()];
  }
  get size(): number {
    return this.cache.size;
  }
}

/**
 * A member's live Spillway objects as a ClusterConnection keeps them: one informer cache per kind, the labelled
 * objects a view over them (slim.ts LabelledView), the strings shared between clusters (the registry's interner),
 * and the change log, started afresh after the first list.
 */
class Live {
  private readonly stores = new Map<string, Store>();
  readonly labelled = new LabelledView(() => this.stores.values());
  epoch = 0;
  private logStart = 0;
  private readonly changes: string[] = [];
  constructor(private readonly cluster: string, private readonly interner: StringInterner) {}
  put(o: KubeObject): void {
    const fields = toFieldsV1(fieldsOf(o as unknown as JsonObject, undefined));
    const live = { ...o, metadata: { ...o.metadata, uid: `uid-${++rv}`, resourceVersion: String(rv), generation: 1, managedFields: [{ manager: FIELD_MANAGER, operation: 'Apply', apiVersion: o.apiVersion, fieldsType: 'FieldsV1', fieldsV1: fields }] } } as KubeObject;
    const c = compactLive(live, this.cluster, this.interner);
    let store = this.stores.get(o.kind);
    if (!store) this.stores.set(o.kind, (store = new Store({ group: o.apiVersion.slice(0, Math.max(0, o.apiVersion.indexOf('/'))), kind: o.kind })));
    store.cache.set([c.metadata.namespace ?? '', c.metadata.name].join('/'), c);
    this.epoch++;
    this.changes.push(objectKey(o));
  }
  /** As after a connection's first list: nothing before it is listed as changed. */
  listed(): void {
    this.changes.length = 0;
    this.logStart = this.epoch;
  }
  view(): LiveCluster {
    return { ready: true, labelled: this.labelled, epoch: this.epoch, changedSince: (e) => (e < this.logStart ? undefined : this.changes.slice(e - this.logStart)) };
  }
}
const interner = new StringInterner(400_000);
const live = new Map(clusters.map((c) => [c, new Live(c, interner)]));
for (const c of clusters) for (const b of render.blocks.get(c) ?? []) for (const o of b.objects()) live.get(c)!.put(o);
for (const l of live.values()) l.listed();
const h2 = heap();
log(`live copies of every object, slim as the member informers keep them: heap ${mib(h2)} (+${mib(h2 - h1)})`);

const memo = new Map<string, MemoEntry>();
const memoOf = (c: string, k: string): MemoEntry | undefined => memo.get(`${c}\u0000${k}`);
const planCache = new PlanCache();
const views = (): Map<string, LiveCluster> => new Map([...live].map(([c, l]) => [c, l.view()]));
t = performance.now();
let plan = planReconcile({ docs, clusters: views(), memo: memoOf, renderCache: cache, planCache });
const firstPlanMs = performance.now() - t;
let found = 0;
for (const p of plan.clusters) {
  found += p.apply.length + p.probe.length + p.prune.length;
}
const h3 = heap();
log(`first plan (a restart: empty memo, every live object's hash compared): ${firstPlanMs.toFixed(0)} ms, ${found} writes planned (want 0); heap ${mib(h3)} (+${mib(h3 - h2)} for the plan cache)`);
// Objects found in place need no memo entry (their hashes say so): the second plan starts from the plan cache.
plan = planReconcile({ docs: [...docs], clusters: views(), memo: memoOf, renderCache: cache, planCache });

const renderMs: number[] = [];
const planMs: number[] = [];
/** CPU time of this process for render + plan: what the wall times above cost on a machine shared with other work. */
const cpuMs: number[] = [];
let writes = 0;
for (let k = 0; k < K; k++) {
  const idx = docs.findIndex((d) => d.kind === 'FailoverService' && d.metadata.name === `svc${k}`);
  const order = [...clusters.slice(1 + (k % (C - 1))), ...clusters.slice(0, 1 + (k % (C - 1)))];
  docs[idx] = { ...docs[idx]!, metadata: { ...docs[idx]!.metadata, generation: 2, resourceVersion: String(++rv) }, spec: { meshWorkloads: order.map((c) => `svc${k}-${c}`) } };
  // As a reconcile builds it: a new array of the informers' objects.
  const input = [...docs];
  gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  render = renderDetailed(input, cache);
  const t1 = performance.now();
  plan = planReconcile({ docs: input, clusters: views(), memo: memoOf, renderCache: cache, planCache });
  const t2 = performance.now();
  const c1 = process.cpuUsage(c0);
  renderMs.push(t1 - t0);
  planMs.push(t2 - t1);
  cpuMs.push((c1.user + c1.system) / 1000);
  for (const p of plan.clusters) {
    for (const a of [...p.apply, ...p.probe]) {
      // As the executor does: the server's copy now hashes as desired, so nothing goes into the memo.
      live.get(p.cluster)!.put(a.object);
      writes++;
    }
  }
}
const both = renderMs.map((r, i) => r + planMs[i]!);
const missed: string[] = [];
if (pct(both, 99) >= TARGET_P99_MS) missed.push(`one-change render + plan p99 ${pct(both, 99).toFixed(1)} ms (target < ${TARGET_P99_MS} ms)`);
log(`one FailoverService changed, ${K} times: render p50 ${pct(renderMs, 50).toFixed(1)} ms, plan p50 ${pct(planMs, 50).toFixed(1)} ms; render + plan p50 ${pct(both, 50).toFixed(1)} ms, p99 ${pct(both, 99).toFixed(1)} ms (target p99 < ${TARGET_P99_MS} ms); CPU p50 ${pct(cpuMs, 50).toFixed(1)} ms, p99 ${pct(cpuMs, 99).toFixed(1)} ms; ${(writes / K).toFixed(1)} writes planned per change; load average ${loadavg()[0]!.toFixed(1)}`);
const rss = process.memoryUsage().rss;
const h4 = heap();
if (!ownHeap && !(rss < deployment.bytes)) missed.push(`resident memory ${mib(rss)} (target: within the Deployment's ${deployment.limit})`);
log(`memory of this process (inputs, render cache, live copies, memo, as the controller holds them): heap ${mib(h4)}, RSS ${mib(rss)} (target: within the Deployment's ${deployment.limit})`);
if (missed.length > 0) {
  log(`TARGETS MISSED (${missed.length}):`);
  for (const m of missed) log(`  - ${m}`);
  process.exitCode = 1;
} else log('all targets met');
