/**
 * `spillway check`, continuously: the leader gathers a check snapshot from every connected member (the same
 * read-only gatherer and pure checks as the CLI, src/check/) at a modest period, and turns the report into one
 * `Checked` condition per MeshCluster and FailoverService (src/check/conditions.ts). The status writer puts
 * them into the statuses it writes anyway; a run whose conditions equal the last run's asks for nothing, so an
 * idle mesh costs reads every period and no write.
 *
 * When: `firstDelayMs` after the first render, then every `periodMs`; sooner (but not within `minIntervalMs` of the
 * last run) when the set of FailoverServices or clusters changed, so a new FailoverService is checked promptly.
 * The member identity may not read Secrets, so SPC164 (Istio's remote secrets) is skipped here.
 *
 * The first run waits until every member has been listed once (`setRender(render, settling)`), so that a restarted
 * controller does not compete with its own informers' first lists; and a run whose reads failed transiently is
 * confirmed by further runs before it changes any condition (`confirmRuns`), so that a restart onto a busy fleet
 * finds the conditions the last controller left and writes nothing.
 */
import type { DetailedRenderResult, ServiceOutcome } from '../core/render.ts';
import { checkConditions } from '../check/conditions.ts';
import type { CheckConditions, CheckCondition } from '../check/conditions.ts';
import { runChecksPausing } from '../check/run.ts';
import { buildCheckSnapshot } from '../check/snapshot.ts';
import type { CheckReport, CheckSnapshot, Listing } from '../check/types.ts';
import { serviceViews } from '../check/view.ts';
import type { Clock, TimerHandle } from '../kube/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import { jsonEqual } from './compare.ts';
import type { Logger } from './log.ts';
import type { Gauge, Registry } from './metrics.ts';

export interface CheckRunnerTiming {
  /** @default 120_000 */
  periodMs?: number;
  /** @default 5_000 */
  firstDelayMs?: number;
  /** @default 15_000 */
  minIntervalMs?: number;
  /**
   * A run that could not read something for a reason that may pass on its own (a timeout, a reset, a 5xx: see
   * Listing.transient) changes no condition until this many runs after it, `minIntervalMs` apart, read the same way:
   * a loaded API server must not flip every status to "unverified" and back. @default 2
   */
  confirmRuns?: number;
}

export interface CheckRunnerOptions extends CheckRunnerTiming {
  clock: Clock;
  isLeader: () => boolean;
  /** Member clients now (name -> client, or why there is none). */
  members: () => ReadonlyMap<string, { client?: KubeClient; error?: string }>;
  /** The conditions changed: write them (the controller triggers a reconcile). */
  onChange: () => void;
  log: Logger;
  registry?: Registry;
  /**
   * Resolves once the controller's own work in progress (a reconcile) is done: between two checks a run waits for it,
   * so that the reconcile of a change is not slowed by the checks running alongside. Absent: nothing to wait for.
   */
  foreground?: () => Promise<void>;
}

const part = (s: ServiceOutcome): string => `${s.accepted}:${s.clusters.map((c) => c.name).join(',')}`;

/**
 * What a check run is about: the clusters, and each FailoverService with whether it is accepted and in which clusters.
 * Kept from render to render: a render made as a difference of the last one (`changes`) updates only the services
 * it changed, any other is read whole.
 */
export class RenderShape {
  private readonly parts = new Map<string, string>();
  private clusters = '';
  private render: DetailedRenderResult | undefined;

  /** Takes the next render; true when its shape differs from the previous render's. */
  update(r: DetailedRenderResult): boolean {
    if (r === this.render) return false;
    const clusters = [...r.snapshot.clusters.keys()].sort().join(',');
    let changed = clusters !== this.clusters;
    this.clusters = clusters;
    const ch = r.changes;
    const patched = ch !== undefined && this.render !== undefined && ch.since === this.render && this.patch(r, ch.refs, ch.position);
    this.render = r;
    if (patched === 'changed') return true;
    if (patched === 'same') return changed;
    // Whole: every service.
    const seen = new Set<string>();
    for (const s of r.services) {
      seen.add(s.ref);
      const p = part(s);
      if (this.parts.get(s.ref) !== p) {
        this.parts.set(s.ref, p);
        changed = true;
      }
    }
    for (const ref of [...this.parts.keys()]) {
      if (seen.has(ref)) continue;
      this.parts.delete(ref);
      changed = true;
    }
    return changed;
  }

  /** The services `refs` of `r` (found by their position): 'changed', 'same', or false when one is not where said. */
  private patch(r: DetailedRenderResult, refs: ReadonlySet<string>, position: (ref: string) => number): 'changed' | 'same' | false {
    const next = new Map<string, string | undefined>();
    for (const ref of refs) {
      const i = position(ref);
      const s = i >= 0 ? r.services[i] : undefined;
      if (i >= 0 && s?.ref !== ref) return false;
      next.set(ref, s ? part(s) : undefined);
    }
    let changed = false;
    for (const [ref, p] of next) {
      if (this.parts.get(ref) === p) continue;
      changed = true;
      if (p === undefined) this.parts.delete(ref);
      else this.parts.set(ref, p);
    }
    return changed ? 'changed' : 'same';
  }

  /** The shape as text (tests: compare with a shape read whole). */
  text(): string {
    return this.clusters + '|' + [...this.parts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([ref, p]) => `${ref}:${p}`).join(';');
  }
}

export class CheckRunner {
  private render: DetailedRenderResult | undefined;
  private readonly shape = new RenderShape();
  /** The shape changed since the last run began (its services or clusters). */
  private reshaped = false;
  private timer: TimerHandle | undefined;
  private dueAt = Infinity;
  /** Why the armed run is due: its first run, a change of services or clusters, or the period. */
  private dueFor: 'first' | 'change' | 'period' = 'period';
  private lastRunAt = -Infinity;
  private running: Promise<void> | undefined;
  private stopped = false;
  private current: CheckConditions | undefined;
  /** Runs in a row whose reads failed transiently (their conditions not published yet). */
  private unconfirmed = 0;
  private firstRenderAt: number | undefined;
  private readonly results: Gauge | undefined;
  private readonly failing: Gauge | undefined;
  lastReport: CheckReport | undefined;
  runs = 0;

  constructor(private readonly o: CheckRunnerOptions) {
    this.results = o.registry?.gauge('spillway_check_results', 'Findings of the last continuous check run, by level (pass, warn, fail, skip).', ['level']);
    this.failing = o.registry?.gauge('spillway_check_failing', '1 for each check code failing in the last continuous check run, by code and cluster ("" for mesh-wide findings).', ['code', 'cluster']);
  }

  /** The conditions of the last run, or undefined before the first. The same objects while nothing changes. */
  conditions(): CheckConditions | undefined {
    return this.current;
  }

  /**
   * Each reconcile's render: which clusters and FailoverServices to check. `settling`: some member is still being
   * listed for the first time; the first run waits for it (at most `periodMs` after the first render).
   */
  setRender(render: DetailedRenderResult, settling = false): void {
    this.render = render;
    const now = this.o.clock.now();
    this.firstRenderAt ??= now;
    if (this.shape.update(render)) this.reshaped = true;
    const waiting = settling && now - this.firstRenderAt < (this.o.periodMs ?? 120_000);
    if (this.runs === 0 && this.dueAt === Infinity) {
      if (!waiting) this.arm(now + (this.o.firstDelayMs ?? 5_000), 'first');
    }
    else if (this.reshaped && this.runs > 0) this.arm(Math.max(now, this.lastRunAt + (this.o.minIntervalMs ?? 15_000)), 'change');
  }

  /**
   * Resolves when no run is in flight and none is due for a reason other than the period (a first run, a changed
   * set of services or clusters): what the controller knows has been checked.
   */
  async settled(): Promise<void> {
    while (!this.stopped && (this.running || (this.timer && this.dueFor !== 'period'))) {
      if (this.running) await this.running;
      else await new Promise<void>((r) => this.o.clock.setTimer(10, r));
    }
  }

  /** Runs now (tests; the timer's own runs go through here too). */
  async runNow(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  private arm(at: number, why: 'first' | 'change' | 'period'): void {
    if (this.stopped || at >= this.dueAt) return;
    this.timer?.cancel();
    this.dueAt = at;
    this.dueFor = why;
    this.timer = this.o.clock.setTimer(Math.max(0, at - this.o.clock.now()), () => {
      this.timer = undefined;
      this.dueAt = Infinity;
      void this.runNow().finally(() => this.arm(this.o.clock.now() + (this.o.periodMs ?? 120_000), 'period'));
    });
  }

  private async run(): Promise<void> {
    const render = this.render;
    if (!render || this.stopped || !this.o.isLeader()) return;
    this.runs++;
    this.lastRunAt = this.o.clock.now();
    this.shape.update(render);
    this.reshaped = false;
    try {
      const t0 = this.o.clock.now();
      const members = this.o.members();
      const { snapshot } = await buildCheckSnapshot({
        render,
        remoteSecrets: false,
        allClusters: true,
        connect: async (name) => {
          const m = members.get(name);
          return m?.client ? { name, via: 'controller', client: m.client } : { error: m?.error ?? 'not connected', via: 'controller' };
        },
        now: () => this.o.clock.wallTime(),
      });
      if (this.stopped || !this.o.isLeader()) return;
      const t1 = this.o.clock.now();
      // One check at a time, the event loop let go in between and a reconcile in progress let finish first: a change's
      // reconcile arriving meanwhile waits for one check, not for the whole run (hundreds of milliseconds at a few
      // hundred services, more with more).
      const report = await runChecksPausing(snapshot, async () => {
        await new Promise<void>((r) => setImmediate(r));
        await this.o.foreground?.();
      });
      if (this.stopped || !this.o.isLeader()) return;
      const t2 = this.o.clock.now();
      this.lastReport = report;
      const used = new Map(serviceViews(snapshot).map((v) => [v.ref, { clusters: v.clusters.map((c) => c.cluster), hosts: [v.globalHost] }]));
      const next = checkConditions(report, Object.keys(snapshot.clusters), used);
      this.refreshGauges(report);
      const round = (x: number): number => Math.round(x * 10) / 10;
      this.o.log.debug('check run finished', { gatherMs: round(t1 - t0), checksMs: round(t2 - t1), conditionsMs: round(this.o.clock.now() - t2), results: report.results.length });
      if (this.current && sameConditions(this.current, next)) {
        this.unconfirmed = 0;
        return;
      }
      const flaky = transientReads(snapshot);
      if (flaky.length > 0 && this.unconfirmed < (this.o.confirmRuns ?? 2)) {
        // Not believed yet: read again soon; the conditions (or, before the first run, the statuses') stay.
        this.unconfirmed++;
        this.o.log.info('check run could not read everything; reading again before changing any condition', { unconfirmedRuns: this.unconfirmed, reads: flaky.slice(0, 3).join('; ') });
        this.arm(this.o.clock.now() + (this.o.minIntervalMs ?? 15_000), 'period');
        return;
      }
      this.unconfirmed = 0;
      this.current = keepUnchanged(this.current, next);
      this.o.log.info('checks changed', { ...report.summary, failing: [...new Set(report.results.filter((r) => r.level === 'fail').map((r) => r.code))].join(',') || undefined });
      this.o.onChange();
    } catch (e) {
      this.o.log.warn('check run failed', { error: describeError(e) });
    }
  }

  private refreshGauges(report: CheckReport): void {
    if (!this.results || !this.failing) return;
    this.results.reset();
    this.failing.reset();
    for (const [level, n] of Object.entries(report.summary)) this.results.set({ level }, n);
    for (const r of report.results) {
      if (r.level !== 'fail') continue;
      for (const cluster of r.cluster !== undefined ? [r.cluster] : r.clusters ?? ['']) this.failing.set({ code: r.code, cluster }, 1);
    }
  }
}

/** `cluster: what` for every listing of the snapshot that failed in a way that may pass on its own. */
export function transientReads(snapshot: CheckSnapshot): string[] {
  const out: string[] = [];
  for (const [name, facts] of Object.entries(snapshot.clusters)) {
    for (const [what, v] of Object.entries(facts)) {
      const l = v as Partial<Listing> | undefined;
      if (l && typeof l === 'object' && Array.isArray(l.items) && l.transient === true) out.push(`${name}: ${what}: ${l.error ?? 'failed'}`);
    }
  }
  return out;
}

function sameMap(a: ReadonlyMap<string, CheckCondition>, b: ReadonlyMap<string, CheckCondition>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!jsonEqual(v, b.get(k) ?? null)) return false;
  return true;
}

function sameConditions(a: CheckConditions, b: CheckConditions): boolean {
  return sameMap(a.clusters, b.clusters) && sameMap(a.services, b.services);
}

/** `next`, reusing the previous objects where they are equal (the status writer's memo compares by identity). */
function keepUnchanged(prev: CheckConditions | undefined, next: CheckConditions): CheckConditions {
  if (!prev) return next;
  const keep = (p: ReadonlyMap<string, CheckCondition>, n: Map<string, CheckCondition>): Map<string, CheckCondition> =>
    new Map([...n].map(([k, v]) => {
      const old = p.get(k);
      return [k, old && jsonEqual(old, v) ? old : v];
    }));
  return { clusters: keep(prev.clusters, next.clusters), services: keep(prev.services, next.services) };
}
