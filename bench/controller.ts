/**
 * Controller benchmark: the real `spillway controller` (bin/spillway.mjs, default scheduling, the heap limit the
 * shipped Deployment sets) in its own process, as it runs in a pod, against API doubles served from this process: a
 * management cluster and C members (default 3), with N FailoverServices (default 1,000) each spanning every member.
 * Prints, against targets (exit status 1 when one is missed):
 *   - the start of a controller: objects applied vs the render, members checked object for object. Small fleets
 *     start empty (the controller writes everything); fleets of more than 50,000 objects are preloaded with the
 *     render, applied by field manager `spillway` through the double's own apply code, so the first start is a
 *     restart onto a populated fleet (`--initial-sync` forces the empty start, `--preload` the populated one);
 *   - write requests during idle resyncs (target 0), and after a restart of the controller (target 0), with the
 *     restart's time until in sync (target < 30 s);
 *   - write requests after one FailoverService change vs the objects that change in the render (target: equal);
 *   - convergence latency after a FailoverService change, from the apply that changes it until every changed
 *     object is live in every member as rendered, p50/p99 over several changes (target p99 < 100 ms), with the
 *     controller's own reconcile time and phases, read from its debug log;
 *   - peak resident memory of each controller process (target: within the Deployment's 1 GiB limit).
 * Usage: npm run bench:controller [-- --services 1000 --clusters 3 --changes 50 --idle 5 --profile DIR --log FILE]
 * (`--profile DIR` writes a V8 CPU profile of the controller process used for the latency runs into DIR;
 * `--log FILE` appends every controller process's debug log to FILE, each line prefixed with the process's run.)
 *
 * The benchmark keeps its own render of the inputs (with a render cache) to know what each change must produce;
 * with `--expose-gc` (the npm script passes it) its garbage is collected before the clock starts, so the observer
 * does not pause inside the window. The controller's process is never told to collect.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { RenderCache, renderDetailed } from '../src/core/render.ts';
import type { KubeObject } from '../src/api/types.ts';
import { LABEL_MANAGED_BY } from '../src/api/types.ts';
import { installManifests } from '../src/install/install.ts';
import { FAILOVER_SERVICES, ISTIO_GROUP, MESH_CLUSTERS, MESH_WORKLOADS, MESH_WORKLOAD_GRANTS, OUTPUT_KINDS, objectKey } from '../src/kube/resources.ts';
import { WRITE_VERBS } from '../test/double/index.ts';
import type { KubeDouble } from '../test/double/index.ts';
import type { JsonObject } from '../test/double/json.ts';
import { NS, applyAs, clientFor, failoverService, meshWorkload, startFleet, strip } from '../test/controller/harness.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    clusters: { type: 'string', default: '3' },
    changes: { type: 'string', default: '50' },
    idle: { type: 'string', default: '5' },
    profile: { type: 'string' },
    preload: { type: 'boolean' },
    'initial-sync': { type: 'boolean' },
    log: { type: 'string' },
  },
});
const collect = (globalThis as { gc?: () => void }).gc;
const N = Number(values.services);
const C = Number(values.clusters);
const CHANGES = Number(values.changes);
const IDLE = Number(values.idle);
if (!(N >= CHANGES + 1) || !(C >= 2) || !(CHANGES >= 1)) throw new Error('need --services > --changes >= 1 and --clusters >= 2');
const clusters = Array.from({ length: C }, (_, i) => `cluster${i + 1}`);
const wl = (i: number, c: string) => `svc${i}-${c}`;
const BIN = fileURLToPath(new URL('../bin/spillway.mjs', import.meta.url));
const PLURALS: Record<string, string> = Object.fromEntries(OUTPUT_KINDS.map((k) => [k.kind, k.plural]));
const TARGET_P99_MS = 100;
const TARGET_RESTART_S = 30;

/** The memory limit and NODE_OPTIONS of the Deployment `spillway install` ships. */
const deployment = (() => {
  const d = installManifests({}).find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[]; resources: { limits: { memory: string } } }[] } } } };
  const c = d.spec.template.spec.containers[0]!;
  const mem = c.resources.limits.memory;
  const mib = /^(\d+)Gi$/.test(mem) ? Number(mem.slice(0, -2)) * 1024 : /^(\d+)Mi$/.test(mem) ? Number(mem.slice(0, -2)) : NaN;
  const nodeOptions = c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  return { limit: mem, limitMiB: mib, nodeArgs: nodeOptions.split(/\s+/).filter(Boolean) };
})();

/** Write requests the controller made (its User-Agent); the benchmark's own edits are not counted. */
function writes(d: KubeDouble): number {
  return d.requests.filter((r) => r.info && WRITE_VERBS.includes(r.info.verb) && r.userAgent.startsWith('spillway-controller/')).length;
}

/** The controller's write requests by verb and resource (`patch failoverservices/status: 500`), to say what a miss was. */
function writeKinds(ds: KubeDouble[]): string {
  const by = new Map<string, number>();
  for (const d of ds) {
    for (const r of d.requests) {
      if (!r.info || !WRITE_VERBS.includes(r.info.verb) || !r.userAgent.startsWith('spillway-controller/')) continue;
      const k = `${r.info.verb} ${r.info.resource}${r.info.subresource ? `/${r.info.subresource}` : ''}`;
      by.set(k, (by.get(k) ?? 0) + 1);
    }
  }
  return [...by].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const log = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

interface Reconcile {
  at: number;
  /** When the controller logged it (RFC 3339 with milliseconds, the wall clock this process shares). */
  ts: string;
  statusWrites: number;
  durationMs: number;
  applied: number;
  pruned: number;
  skipped?: string;
  clusters: Record<string, string>;
  phasesMs: Record<string, number>;
}

/** A `spillway controller` process; its debug log tells when and how each reconcile ran. */
class ControllerProcess {
  readonly reconciles: Reconcile[] = [];
  /** Every other log line's message, with the number of reconciles finished before it. */
  readonly messages: { msg: string; reconciles: number; at: number; entry: Record<string, unknown> }[] = [];
  /** Its tier-share publishes (`tier shares published`: statusWrites, events, durationMs), as they finished. */
  publishes(from = 0): { statusWrites: number; events: number; at: number }[] {
    return this.messages.slice(from).filter((m) => m.msg === 'tier shares published').map((m) => ({ statusWrites: Number(m.entry.statusWrites), events: Number(m.entry.events), at: m.at }));
  }

  /**
   * Waits (at most `timeoutMs`) for a publish of tier shares that wrote nothing, finished after `after` (a time of
   * performance.now()): publishes run one at a time, each from the latest render, so every service's shares are then
   * published. Returns whether one came.
   */
  async published(after: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.publishes().some((p) => p.at > after && p.statusWrites === 0 && p.events === 0)) return true;
      if (this.gone() || performance.now() > deadline) return false;
      await sleep(50);
    }
  }

  /** Waits (at most `timeoutMs`) for a log line with this message; returns the reconciles finished before it, or undefined. */
  async message(msg: string, timeoutMs: number): Promise<number | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = this.messages.find((x) => x.msg === msg);
      if (m) return m.reconciles;
      if (this.gone() || performance.now() > deadline) return undefined;
      await sleep(50);
    }
  }
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private errors: string[] = [];

  private static runs = 0;

  constructor(kubeconfig: string, resyncSeconds: number, nodeArgs: string[] = []) {
    const run = ++ControllerProcess.runs;
    this.child = spawn(process.execPath, [...nodeArgs, BIN, 'controller', '--kubeconfig', kubeconfig, '--namespace', NS, '--no-leader-elect', '--no-discovery', '--metrics-addr', '', '--resync-seconds', String(resyncSeconds), '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      if (values.log) appendFileSync(values.log, `${run} ${line}\n`);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.errors.push(line);
        return;
      }
      if (entry.msg === 'reconcile finished') this.reconciles.push({ ...(entry as unknown as Reconcile), at: performance.now() });
      else if (typeof entry.msg === 'string') this.messages.push({ msg: entry.msg, reconciles: this.reconciles.length, at: performance.now(), entry });
      else if (entry.level === 'error') this.errors.push(line);
    });
  }

  /**
   * The controller process has ended: with an exit code, or killed by a signal (out of heap, V8 aborts: SIGABRT, and
   * exitCode stays null), which must end the wait at once rather than after the timeout.
   */
  private gone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves with the first reconcile (from index `from` on) that satisfies `ok`. */
  async until(ok: (r: Reconcile) => boolean, from = 0, timeoutMs = 600_000): Promise<Reconcile> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const r = this.reconciles.slice(from).find(ok);
      if (r) return r;
      if (this.gone()) throw new Error(`controller exited (${this.child.exitCode ?? this.child.signalCode}): ${this.errors.find((l) => l.startsWith('FATAL ERROR')) ?? this.errors.slice(-3).join(' | ')}`);
      if (performance.now() > deadline) throw new Error(`timed out waiting for a reconcile; last errors: ${this.errors.slice(-3).join(' | ')}`);
      await sleep(5);
    }
  }

  /** Waits until no reconcile has finished for `quietMs`. */
  async quiet(quietMs = 250): Promise<void> {
    for (;;) {
      const n = this.reconciles.length;
      await sleep(quietMs);
      if (this.reconciles.length === n) return;
    }
  }

  /** Resident memory of the controller process now and at its peak (Linux /proc), in MiB. */
  memory(): string {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = (field: string) => Number(/\s(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(field)) ?? '')?.[1] ?? NaN);
      return `RSS ${(kb('VmRSS:') / 1024).toFixed(0)} MiB, peak ${(kb('VmHWM:') / 1024).toFixed(0)} MiB`;
    } catch {
      return 'memory unknown (no /proc)';
    }
  }

  /** CPU time the controller process has used so far (user + system, Linux /proc), in seconds. */
  cpuSeconds(): number {
    try {
      const f = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return NaN;
    }
  }

  /** Peak resident memory so far (VmHWM, sampled every 500 ms so that it is known after a crash too), in MiB. */
  peakMiB(): number {
    this.sample();
    return this.peak;
  }
  private peak = NaN;
  private readonly sampler = setInterval(() => this.sample(), 500);
  private sample(): void {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
      if (!(kb / 1024 <= this.peak)) this.peak = kb / 1024;
    } catch {
      // exited, or no /proc
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    if (!this.gone()) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** What the management cluster holds that a controller at rest must leave alone: statuses (as JSON) and Events by name. */
interface AtRest {
  statuses: Map<string, string>;
  events: Set<string>;
}

function atRest(d: KubeDouble): AtRest {
  const statuses = new Map<string, string>();
  for (const t of [FAILOVER_SERVICES, MESH_CLUSTERS]) for (const o of d.peekAll(t.group, t.plural) as unknown as KubeObject[]) statuses.set(`${t.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, JSON.stringify(o.status ?? null));
  return { statuses, events: new Set((d.peekAll('', 'events') as unknown as KubeObject[]).map((e) => `${e.metadata.namespace ?? ''}/${e.metadata.name}`)) };
}

/** Paths (`serving[0].lastTransitionTime`) where two JSON values differ. */
function changedPaths(a: unknown, b: unknown, at = '', out: string[] = []): string[] {
  if (isDeepStrictEqual(a, b)) return out;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) a.forEach((x, i) => changedPaths(x, b[i], `${at}[${i}]`, out));
  else if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) changedPaths(x[k], y[k], at ? `${at}.${k}` : k, out);
  } else out.push(at || '(whole)');
  return out;
}

/**
 * What a controller changed between two snapshots of the management cluster: status fields by path (indices folded:
 * `serving[].lastTransitionTime: 105`) and new Events by reason with one message each, to say what a miss was.
 */
function restDiff(d: KubeDouble, before: AtRest, eventsOnly = false): string {
  const now = atRest(d);
  const fields = new Map<string, number>();
  for (const [k, v] of now.statuses) {
    const old = before.statuses.get(k);
    if (old === undefined || old === v) continue;
    for (const p of new Set(changedPaths(JSON.parse(old), JSON.parse(v)).map((x) => `${k.split('/')[0]} ${x.replace(/\[\d+\]/g, '[]')}`))) fields.set(p, (fields.get(p) ?? 0) + 1);
  }
  const reasons = new Map<string, { n: number; message: string }>();
  for (const e of d.peekAll('', 'events') as unknown as (KubeObject & { reason?: string; message?: string; involvedObject?: { kind?: string } })[]) {
    if (before.events.has(`${e.metadata.namespace ?? ''}/${e.metadata.name}`)) continue;
    const k = `${e.involvedObject?.kind ?? '?'} ${e.reason ?? '?'}`;
    const r = reasons.get(k) ?? { n: 0, message: e.message ?? '' };
    r.n++;
    reasons.set(k, r);
  }
  const f = [...fields].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
  const ev = [...reasons].map(([k, r]) => `${k}: ${r.n} (e.g. "${r.message}")`).join(', ') || 'none';
  return eventsOnly ? `new Events: ${ev}` : `status fields changed: ${f}; new Events: ${ev}`;
}

const synced = (r: Reconcile) => !r.skipped && r.applied === 0 && clusters.every((c) => r.clusters[c] === 'Synced');

/** Differences between the render and the members' Spillway-labelled objects (checked in process, object for object). */
function memberDiff(f: { members: KubeDouble[] }, want: Record<string, KubeObject[]>): string[] {
  const problems: string[] = [];
  clusters.forEach((c, ci) => {
    const d = f.members[ci]!;
    const expected = want[c] ?? [];
    const keys = new Set(expected.map(objectKey));
    for (const o of expected) {
      const live = d.peek(ISTIO_GROUP, PLURALS[o.kind]!, o.metadata.namespace ?? '', o.metadata.name) as KubeObject | undefined;
      if (!live) problems.push(`${c}: ${objectKey(o)} missing`);
      else if (!isDeepStrictEqual({ ...strip(live), apiVersion: o.apiVersion }, o)) problems.push(`${c}: ${objectKey(o)} differs`);
    }
    for (const k of OUTPUT_KINDS) {
      for (const o of d.peekAll(ISTIO_GROUP, k.plural) as unknown as KubeObject[]) {
        if (o.metadata.labels?.[LABEL_MANAGED_BY] === 'spillway' && !keys.has(objectKey({ ...o, kind: k.kind }))) problems.push(`${c}: ${k.kind} ${o.metadata.namespace}/${o.metadata.name} is not in the render`);
      }
    }
  });
  return problems;
}

const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-'));
const f = await startFleet(C);
let ctl: ControllerProcess | undefined;
let mc: ReturnType<typeof clientFor> | undefined;
/** Targets this run missed (each printed at the end; any makes the exit status 1). */
const missed: string[] = [];
const peaks: number[] = [];
const secs = (t: number) => `${((performance.now() - t) / 1000).toFixed(1)} s`;
try {
  let t = performance.now();
  const load: KubeObject[] = [];
  for (let i = 0; i < N; i++) {
    for (const c of clusters) load.push(meshWorkload(wl(i, c), c, `svc${i}`));
    load.push(failoverService(`svc${i}`, clusters.map((c) => wl(i, c))));
  }
  f.mgmt.load(load as unknown as JsonObject[]);
  load.length = 0;
  // The inputs as the controller reads them (server-set metadata included), straight from the store; changes
  // below edit this copy too.
  const docs = [MESH_CLUSTERS, MESH_WORKLOADS, FAILOVER_SERVICES, MESH_WORKLOAD_GRANTS].flatMap((t) => f.mgmt.peekAll(t.group, t.plural).map((o) => ({ ...structuredClone(o), kind: t.kind }) as unknown as KubeObject));
  const cache = new RenderCache();
  let expected = renderDetailed(docs, cache);
  const expectedTotal = clusters.reduce((n, c) => n + (expected.clusters[c]?.length ?? 0), 0);
  const preload = values['initial-sync'] ? false : (values.preload ?? expectedTotal > 50_000);
  log(`fleet: ${N} FailoverServices, ${C * N} MeshWorkloads, ${C} member clusters; the render holds ${expectedTotal} objects (${(expectedTotal / C).toFixed(0)} per cluster); loaded in ${secs(t)}`);
  if (preload) {
    t = performance.now();
    clusters.forEach((c, ci) => f.members[ci]!.load((expected.clusters[c] ?? []) as unknown as JsonObject[], { fieldManager: 'spillway' }));
    log(`preload: every member holds its render, applied by field manager spillway (as a previous controller left it), in ${secs(t)}`);
  }
  // A new client: the loads above held the event loop long enough for the server to close idle kept-alive sockets.
  mc = clientFor(f.mgmt);
  const kubeconfig = join(dir, 'management.kubeconfig');
  writeFileSync(kubeconfig, f.mgmt.kubeconfig());
  const all = [f.mgmt, ...f.members];
  log(`controller process: node ${deployment.nodeArgs.join(' ')} (the Deployment's NODE_OPTIONS), memory limit ${deployment.limit}`);

  // First start (onto empty members, or onto the preloaded ones), then idle resyncs, with a controller that resyncs every second.
  for (const d of all) d.resetLog();
  const beforeStart = atRest(f.mgmt);
  t = performance.now();
  ctl = new ControllerProcess(kubeconfig, 1, deployment.nodeArgs);
  await ctl.until((r) => synced(r) && r.at > t);
  const firstS = (performance.now() - t) / 1000;
  // Onto a preloaded fleet the first controller still writes every status once (none was ever written), and again with
  // the first check run's Checked condition: let it.
  const checkedAt = await ctl.message('checks changed', 300_000);
  const settled = await ctl.until((r) => synced(r) && r.statusWrites === 0, checkedAt ?? 0);
  // At rest also means its live tier shares (status.serving, and an Event per client whose tiers are worth one) are
  // published for every service: the first publish after the last status write finished without writing.
  const servingDone = await ctl.published(settled.at, 300_000);
  const servingS = (performance.now() - t) / 1000;
  const firstPublished = ctl.publishes().reduce((a, p) => ({ statusWrites: a.statusWrites + p.statusWrites, events: a.events + p.events }), { statusWrites: 0, events: 0 });
  if (!servingDone) missed.push('first start: tier shares not published within 300 s of the last status write');
  // Counted at the members: writes of a slow cluster finish in the background, outside any reconcile's report.
  const applied = f.members.reduce((n, d) => n + writes(d), 0);
  const wantApplied = preload ? 0 : expectedTotal;
  let diff = memberDiff(f, expected.clusters);
  if (diff.length > 0 || applied !== wantApplied) missed.push(`first start: ${applied} applied (want ${wantApplied}); ${diff.length} differences from the render`);
  log(`first start (${preload ? 'members preloaded' : 'members empty'}): in sync after ${firstS.toFixed(1)} s, ${applied} object writes (want ${wantApplied}); members ${diff.length === 0 ? 'hold exactly the render' : `differ from the render in ${diff.length} objects, e.g. ${diff[0]}`}`);
  log(`  tier shares ${servingDone ? 'published' : 'NOT published'} after ${servingS.toFixed(1)} s: ${firstPublished.statusWrites} status.serving writes and ${firstPublished.events} Events (${restDiff(f.mgmt, beforeStart, true)})`);
  // A slow first sync must neither fill the heap nor rewrite every status on each reconcile while writes are in flight.
  log(`  during the first start: management cluster writes ${writeKinds([f.mgmt])}; ${ctl.reconciles.length} reconciles; controller process ${ctl.memory()}`);
  for (const d of all) d.resetLog();
  const idleBefore = atRest(f.mgmt);
  const idleFrom = ctl.reconciles.length;
  await ctl.until(() => ctl!.reconciles.length - idleFrom >= IDLE, idleFrom);
  const idle = ctl.reconciles.slice(idleFrom, idleFrom + IDLE);
  const phasesP50 = (rs: Reconcile[]) => Object.keys(rs[0]?.phasesMs ?? {}).map((name) => `${name} ${ms(pct(rs.map((r) => r.phasesMs[name] ?? 0), 50))}`).join(', ');
  const idleWrites = all.reduce((n, d) => n + writes(d), 0);
  if (idleWrites !== 0) missed.push(`idle resyncs: ${idleWrites} write requests (target 0: ${writeKinds(all)})`);
  log(`idle resyncs: ${idle.length}, write requests: ${idleWrites} (target 0); reconcile p50 ${ms(pct(idle.map((r) => r.durationMs), 50))} (${phasesP50(idle)})`);
  if (idleWrites !== 0) log(`  what they changed: ${restDiff(f.mgmt, idleBefore)}`);
  log(`  controller process: ${ctl.memory()}`);
  peaks.push(ctl.peakMiB());
  await ctl.stop();

  // A restarted controller (no memory of what it applied) finds everything in place, then serves the changes.
  for (const d of all) d.resetLog();
  const restartBefore = atRest(f.mgmt);
  t = performance.now();
  ctl = new ControllerProcess(kubeconfig, 300, [...deployment.nodeArgs, ...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [])]);
  await ctl.until(synced);
  const restartS = (performance.now() - t) / 1000;
  const restartCpu = ctl.cpuSeconds();
  if (restartS >= TARGET_RESTART_S) missed.push(`restart: in sync after ${restartS.toFixed(1)} s (target < ${TARGET_RESTART_S} s)`);
  log(`restart: in sync after ${restartS.toFixed(1)} s (target < ${TARGET_RESTART_S} s), the controller process using ${restartCpu.toFixed(1)} s of CPU meanwhile (the rest is waiting: for the API doubles, which run in this benchmark's process, and for the CPU)`);
  // Writes after the restart: until it is in sync, its first check run has published (a restarted controller's first
  // run always does, as "checks changed") and the controller has been quiet for a while after that.
  const checkedS = (await ctl.message('checks changed', 300_000)) !== undefined ? (performance.now() - t) / 1000 : NaN;
  await ctl.quiet(3_000);
  const restartWrites = all.reduce((n, d) => n + writes(d), 0);
  if (restartWrites !== 0) missed.push(`restart: ${restartWrites} write requests (target 0: ${writeKinds(all)})`);
  log(`  restart writes: ${f.members.reduce((n, d) => n + writes(d), 0)} object writes in members and ${writes(f.mgmt)} status writes, until ${Number.isFinite(checkedS) ? `its first check run (${checkedS.toFixed(1)} s after the start)` : 'no check run within 300 s'} and 3 s without a reconcile after it (target 0 and 0${restartWrites ? `: ${writeKinds(all)}` : ''})`);
  if (restartWrites !== 0) log(`  what they changed: ${restDiff(f.mgmt, restartBefore)}`);

  /** Edits svc`i` to list its workloads in `order`; returns the objects its render changes per cluster. */
  function changeAndExpect(i: number, order: string[]): { changed: Map<string, KubeObject[]>; count: number } {
    const ref = `FailoverService/default/svc${i}`;
    const idx = docs.findIndex((d) => d.kind === 'FailoverService' && d.metadata.name === `svc${i}`);
    docs[idx] = { ...docs[idx]!, spec: { meshWorkloads: order.map((c) => wl(i, c)) } };
    const next = renderDetailed(docs, cache);
    const changed = new Map<string, KubeObject[]>();
    let count = 0;
    for (const c of clusters) {
      const before = expected.blocks.get(c)?.find((b) => b.ref === ref)?.objects() ?? [];
      const now = next.blocks.get(c)?.find((b) => b.ref === ref)?.objects() ?? [];
      const old = new Map(before.map((o) => [objectKey(o), o]));
      const ch = now.filter((o) => !isDeepStrictEqual(old.get(objectKey(o)), o));
      const keys = new Set(now.map(objectKey));
      changed.set(c, ch);
      count += ch.length + before.filter((o) => !keys.has(objectKey(o))).length;
    }
    expected = next;
    return { changed, count };
  }

  function satisfied(exp: { changed: Map<string, KubeObject[]> }): boolean {
    return clusters.every((c, ci) => {
      const d = f.members[ci]!;
      for (const o of exp.changed.get(c) ?? []) {
        const live = d.peek(ISTIO_GROUP, PLURALS[o.kind]!, o.metadata.namespace ?? '', o.metadata.name) as KubeObject | undefined;
        if (!live || !isDeepStrictEqual({ ...strip(live), apiVersion: o.apiVersion }, o)) return false;
      }
      return true;
    });
  }

  /**
   * Resolves once the members hold what `exp` expects: checked after each change their stores make (no polling: a
   * loop spinning in this process would take CPU from the controller on a small machine, and slow what it measures).
   */
  function live(exp: { changed: Map<string, KubeObject[]> }): Promise<void> {
    if (satisfied(exp)) return Promise.resolve();
    return new Promise((resolve) => {
      const offs = f.members.map((d) =>
        d.onChange(() => {
          if (!satisfied(exp)) return;
          for (const off of offs) off();
          resolve();
        }),
      );
    });
  }

  /**
   * Applies the change, waits until it is live everywhere; returns the latency, the reconcile that wrote it, and
   * where the time went (wall clock, which the controller's log shares): until the management server had stored the
   * change, until the controller's reconcile started, until the first member write arrived, the members' handling of
   * the writes, and until this process saw the last one stored.
   */
  async function timedChange(i: number, order: string[]): Promise<{ latency: number; reconcile: Reconcile; count: number; split: Record<string, number> }> {
    const exp = changeAndExpect(i, order);
    collect?.();
    const from = ctl!.reconciles.length;
    const marks = f.members.map((d) => d.requests.length);
    const mgmtMark = f.mgmt.requests.length;
    const t0 = performance.now();
    const w0 = Date.now();
    await applyAs(mc!, failoverService(`svc${i}`, order.map((c) => wl(i, c))));
    await live(exp);
    const latency = performance.now() - t0;
    const w1 = Date.now();
    const done = performance.now();
    // The reconcile that wrote it (its report counts the writes unless they outlasted the controller's wait for a
    // cluster and finished in the background: then the first reconcile to finish after they were live).
    const reconcile = await ctl!.until((r) => r.applied > 0 || r.at >= done, from);
    await ctl!.quiet();
    const stored = f.mgmt.requests.slice(mgmtMark).find((r) => r.info?.resource === 'failoverservices' && r.info.verb === 'patch' && !r.userAgent.startsWith('spillway-controller/'));
    const ours = f.members.flatMap((d, j) => d.requests.slice(marks[j]).filter((r) => r.info && WRITE_VERBS.includes(r.info.verb) && r.userAgent.startsWith('spillway-controller/') && r.at <= w1));
    const started = Date.parse(reconcile.ts) - reconcile.durationMs;
    const first = Math.min(...ours.map((r) => r.at));
    const last = Math.max(...ours.map((r) => r.doneAt ?? r.at));
    const storedAt = stored?.doneAt ?? w0;
    const split: Record<string, number> = ours.length === 0 || !Number.isFinite(started)
      ? {}
      : { 'apply stored': storedAt - w0, 'until the reconcile': started - storedAt, 'until the first member write': first - started, 'member writes': last - first, 'until seen': w1 - last };
    return { latency, reconcile, count: exp.count, split };
  }
  const rotate = (k: number) => clusters.map((_, j) => clusters[(j + k) % C]!);

  // One change: count writes. A new client again: the server closes sockets idle for 90 s (a slow restart).
  mc.close();
  mc = clientFor(f.mgmt);
  {
    for (const d of all) d.resetLog();
    const { count } = await timedChange(0, rotate(1));
    const memberWrites = f.members.reduce((n, d) => n + writes(d), 0);
    if (memberWrites !== count) missed.push(`one change: ${memberWrites} object writes, the render changed ${count} (target: equal)`);
    log(`one FailoverService change: ${memberWrites} object writes in member clusters; the render changed ${count} objects (target: equal); +${writes(f.mgmt)} status write(s) in the management cluster (the FailoverService's, and MeshCluster lastSyncTime)`);
  }

  // Latency.
  const lat: number[] = [];
  const recon: number[] = [];
  const phases = new Map<string, number[]>();
  const splits = new Map<string, number[]>();
  let slowest: { latency: number; split: Record<string, number>; reconcile: Reconcile } | undefined;
  for (let k = 0; k < CHANGES; k++) {
    const { latency, reconcile, split } = await timedChange(1 + k, rotate(1 + (k % (C - 1))));
    lat.push(latency);
    recon.push(reconcile.durationMs);
    for (const [name, v] of Object.entries(reconcile.phasesMs)) phases.set(name, [...(phases.get(name) ?? []), v]);
    for (const [name, v] of Object.entries(split)) splits.set(name, [...(splits.get(name) ?? []), v]);
    if (!slowest || latency > slowest.latency) slowest = { latency, split, reconcile };
  }
  if (pct(lat, 99) >= TARGET_P99_MS) missed.push(`convergence latency p99 ${ms(pct(lat, 99))} (target < ${TARGET_P99_MS} ms)`);
  log(`convergence latency over ${CHANGES} changes with ${N} FailoverServices, ${C} clusters: p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))} (target p99 < ${TARGET_P99_MS} ms)`);
  log(`  of which the reconcile that wrote the change (read caches, render, plan, writes, statuses): p50 ${ms(pct(recon, 50))}, p99 ${ms(pct(recon, 99))}`);
  log(`  reconcile phases, p50: ${[...phases].map(([name, v]) => `${name} ${ms(pct(v, 50))}`).join(', ')}`);
  const fmt = (xs: Record<string, number>) => Object.entries(xs).map(([name, v]) => `${name} ${v.toFixed(0)} ms`).join(', ');
  log(`  where the time went (wall clock, ms resolution), p50: ${[...splits].map(([name, v]) => `${name} ${pct(v, 50).toFixed(0)} ms`).join(', ')}; p99: ${[...splits].map(([name, v]) => `${name} ${pct(v, 99).toFixed(0)} ms`).join(', ')}`);
  if (slowest) log(`  the slowest change (${ms(slowest.latency)}): ${fmt(slowest.split)}; its reconcile's phases: ${fmt(slowest.reconcile.phasesMs)}`);
  const echoes = ctl.reconciles.filter((r) => r.applied === 0 && !r.skipped).slice(-CHANGES);
  log(`  reconciles that wrote nothing in the same run (the watch echoes of our writes): p50 ${ms(pct(echoes.map((r) => r.durationMs), 50))} (${phasesP50(echoes)})`);
  log(`  controller process: ${ctl.memory()}`);
  peaks.push(ctl.peakMiB());
  diff = memberDiff(f, expected.clusters);
  if (diff.length > 0) missed.push(`after the changes: ${diff.length} differences from the render, e.g. ${diff[0]}`);
  log(`after the changes: members ${diff.length === 0 ? 'hold exactly the render' : `differ from the render in ${diff.length} objects, e.g. ${diff[0]}`}`);
  const peak = Math.max(...peaks);
  if (!(peak < deployment.limitMiB)) missed.push(`peak resident memory ${peak.toFixed(0)} MiB (target: within the Deployment's ${deployment.limit})`);
  log(`peak resident memory of the controller processes: ${peaks.map((p) => `${p.toFixed(0)} MiB`).join(', ')} (target: within the Deployment's ${deployment.limit})`);
  const r0 = performance.now();
  renderDetailed(docs);
  log(`for scale: one uncached renderDetailed of these inputs takes ${ms(performance.now() - r0)} in this process`);
} catch (e) {
  // A controller that dies (say, out of heap at the Deployment's limit) is a result too: report it and what it used.
  const peak = ctl?.peakMiB() ?? NaN;
  missed.push(`run aborted: ${e instanceof Error ? e.message : String(e)}${Number.isFinite(peak) ? ` (controller peak resident memory ${peak.toFixed(0)} MiB)` : ''}`);
} finally {
  await ctl?.stop();
  mc?.close();
  await f.close();
  rmSync(dir, { recursive: true, force: true });
}
if (missed.length > 0) {
  // A benchmark that misses its own target says so, and fails.
  log(`TARGETS MISSED (${missed.length}):`);
  for (const m of missed) log(`  - ${m}`);
  process.exitCode = 1;
} else log('all targets met');
if (values.profile) log(`CPU profile of the latency runs' controller process written to ${values.profile}`);
