/**
 * Controller benchmark against API doubles (a management cluster and three members), with N FailoverServices
 * (default 1,000) each spanning the three clusters. Prints:
 *   - write requests during idle resyncs (target 0);
 *   - write requests after one FailoverService change vs the objects that change in the render (target: equal);
 *   - convergence latency after a FailoverService change, p50/p99 over several changes, split into the
 *     controller's own reconcile phases (target p99 < 250 ms).
 * Usage: npm run bench:controller [-- --services 1000 --changes 50 --idle 5 --no-gc --profile FILE]
 * (`--profile` writes the V8 CPU profile of each timed window, from the change until the controller is idle again.)
 *
 * Everything (the four API doubles, the controller and this driver) shares one process. Before each timed change
 * the driver computes the expected objects with an uncached render and lists every input from the double, which
 * leaves hundreds of MB of garbage that would otherwise be collected inside the timed window. When run with
 * `--expose-gc` (the npm script does), that garbage is collected before the clock starts; the controller's own
 * garbage is not, since it is made after. Pass `--no-gc` to measure without it.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { isDeepStrictEqual } from 'node:util';
import { renderDetailed } from '../src/core/render.ts';
import type { KubeObject } from '../src/api/types.ts';
import { objectKey } from '../src/kube/resources.ts';
import { WRITE_VERBS } from '../test/double/index.ts';
import type { KubeDouble } from '../test/double/index.ts';
import { applyAs, create, failoverService, inputs, meshWorkload, startFleet, strip } from '../test/controller/harness.ts';

const { values } = parseArgs({ options: { services: { type: 'string', default: '1000' }, changes: { type: 'string', default: '50' }, idle: { type: 'string', default: '5' }, 'no-gc': { type: 'boolean', default: false }, profile: { type: 'string' } } });
const collect = values['no-gc'] ? undefined : (globalThis as { gc?: () => void }).gc;
const N = Number(values.services);
const CHANGES = Number(values.changes);
const IDLE = Number(values.idle);
const clusters = ['cluster1', 'cluster2', 'cluster3'];
const wl = (i: number, c: string) => `svc${i}-${c}`;

/** Write requests the controller (User-Agent spillway/...) made; the benchmark's own edits are not counted. */
function writes(d: KubeDouble): number {
  return d.requests.filter((r) => r.info && WRITE_VERBS.includes(r.info.verb) && r.userAgent.startsWith('spillway/')).length;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const log = (s: string) => process.stdout.write(`${s}\n`);

const f = await startFleet(3);
try {
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    for (const c of clusters) await create(f.mc, meshWorkload(wl(i, c), c, `svc${i}`));
    await create(f.mc, failoverService(`svc${i}`, clusters.map((c) => wl(i, c))));
  }
  log(`setup: ${N} FailoverServices, ${3 * N} MeshWorkloads in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const ctl = await f.startController({ discovery: false, timing: { watchTimeoutSeconds: 300, stallTimeoutMs: 60_000, backoffBaseMs: 50, backoffMaxMs: 1_000, listTimeoutMs: 60_000, pageSize: 500 }, scheduler: { debounceMs: 2, minIntervalMs: 5, resyncMs: 0, backoffBaseMs: 50, backoffMaxMs: 1_000 } });
  const expectedTotal = Object.values(renderDetailed(await inputs(f)).clusters).reduce((n, l) => n + l.length, 0);
  for (;;) {
    await ctl.idle();
    const r = ctl.lastReport;
    if (r && !r.skipped && r.applied === 0 && r.outcomes.every((o) => o.state === 'Synced')) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  const applied = ctl.metrics.applied.get({ cluster: 'cluster1' }) + ctl.metrics.applied.get({ cluster: 'cluster2' }) + ctl.metrics.applied.get({ cluster: 'cluster3' });
  log(`initial sync: ${applied} objects applied (render wants ${expectedTotal}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Idle resyncs.
  const all = [f.mgmt, ...f.members];
  for (const d of all) d.resetLog();
  const idleDur: number[] = [];
  for (let i = 0; i < IDLE; i++) {
    const r = await ctl.reconcileNow();
    idleDur.push(r.durationMs);
  }
  log(`idle resyncs: ${IDLE}, write requests: ${all.reduce((n, d) => n + writes(d), 0)} (target 0); reconcile p50 ${ms(pct(idleDur, 50))}`);

  // Expected objects of one service after a change.
  const before = renderDetailed(await inputs(f)).clusters;
  async function changeAndExpect(i: number, order: string[]): Promise<{ changed: Map<string, KubeObject[]>; removed: Map<string, string[]>; count: number }> {
    const docs = await inputs(f);
    const idx = docs.findIndex((d) => d.kind === 'FailoverService' && d.metadata.name === `svc${i}`);
    docs[idx] = { ...docs[idx]!, spec: { meshWorkloads: order.map((c) => wl(i, c)) } };
    const after = renderDetailed(docs).clusters;
    const changed = new Map<string, KubeObject[]>();
    const removed = new Map<string, string[]>();
    let count = 0;
    for (const c of clusters) {
      const old = new Map((before[c] ?? []).map((o) => [objectKey(o), o]));
      const now = (after[c] ?? []).filter((o) => o.metadata.labels?.['spillway.dev/failover-service'] === `svc${i}`);
      const ch = now.filter((o) => !isDeepStrictEqual(old.get(objectKey(o)), o));
      const keys = new Set(now.map(objectKey));
      const rm = [...old.values()].filter((o) => o.metadata.labels?.['spillway.dev/failover-service'] === `svc${i}` && !keys.has(objectKey(o))).map(objectKey);
      changed.set(c, ch);
      removed.set(c, rm);
      count += ch.length + rm.length;
    }
    for (const c of clusters) before[c] = after[c] ?? [];
    return { changed, removed, count };
  }

  function satisfied(exp: { changed: Map<string, KubeObject[]>; removed: Map<string, string[]> }): boolean {
    return clusters.every((c, ci) => {
      const d = f.members[ci]!;
      for (const o of exp.changed.get(c) ?? []) {
        const plural = { ServiceEntry: 'serviceentries', DestinationRule: 'destinationrules', EnvoyFilter: 'envoyfilters', Gateway: 'gateways', VirtualService: 'virtualservices' }[o.kind]!;
        const live = d.peek('networking.istio.io', plural, o.metadata.namespace ?? '', o.metadata.name) as KubeObject | undefined;
        if (!live) return false;
        const s = strip(live);
        if (!isDeepStrictEqual({ ...s, apiVersion: o.apiVersion }, o)) return false;
      }
      return true;
    });
  }

  // One change: count writes.
  {
    for (const d of all) d.resetLog();
    const exp = await changeAndExpect(0, ['cluster2', 'cluster1', 'cluster3']);
    await applyAs(f.mc, failoverService('svc0', ['cluster2', 'cluster1', 'cluster3'].map((c) => wl(0, c))));
    while (!satisfied(exp)) await new Promise((r) => setTimeout(r, 2));
    await ctl.idle();
    const memberWrites = f.members.reduce((n, d) => n + writes(d), 0);
    log(`one FailoverService change: ${memberWrites} object writes in member clusters; the render changed ${exp.count} objects (target: equal); +${writes(f.mgmt)} status write(s) in the management cluster (the FailoverService's, and MeshCluster lastSyncTime)`);
  }

  // Latency.
  const session = values.profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
  }
  const lat: number[] = [];
  const profiles: unknown[] = [];
  const recon: number[] = [];
  const phases = new Map<string, number[]>();
  for (let k = 0; k < CHANGES; k++) {
    const i = 1 + k;
    const order = k % 2 ? ['cluster3', 'cluster1', 'cluster2'] : ['cluster2', 'cluster3', 'cluster1'];
    const exp = await changeAndExpect(i, order);
    await ctl.idle();
    collect?.();
    const n0 = ctl.reconcileCount;
    if (session) await session.post('Profiler.start');
    const t0 = performance.now();
    await applyAs(f.mc, failoverService(`svc${i}`, order.map((c) => wl(i, c))));
    while (!satisfied(exp)) await new Promise((r) => setImmediate(r));
    lat.push(performance.now() - t0);
    await ctl.idle();
    if (session) profiles.push((await session.post('Profiler.stop')).profile);
    if (ctl.reconcileCount > n0 && ctl.lastReport) {
      recon.push(ctl.lastReport.durationMs);
      for (const [name, v] of Object.entries(ctl.lastReport.phases)) phases.set(name, [...(phases.get(name) ?? []), v]);
    }
  }
  if (session && values.profile) {
    writeFileSync(values.profile, JSON.stringify(profiles));
    log(`CPU profiles of the ${profiles.length} timed windows (change to convergence, then idle) written to ${values.profile}`);
  }
  log(`convergence latency over ${CHANGES} changes with ${N} FailoverServices, 3 clusters: p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))} (target p99 < 250 ms; driver garbage ${collect ? 'collected before each change' : 'not collected'})`);
  log(`  of which one full reconcile (read caches, renderDetailed, plan, writes, statuses): p50 ${ms(pct(recon, 50))}, p99 ${ms(pct(recon, 99))}`);
  log(`  reconcile phases, p50: ${[...phases].map(([name, v]) => `${name} ${ms(pct(v, 50))}`).join(', ')}`);
  const docs = await inputs(f);
  const r0 = performance.now();
  renderDetailed(docs);
  log(`  renderDetailed alone on these inputs: ${ms(performance.now() - r0)}`);
} finally {
  await f.close();
}
