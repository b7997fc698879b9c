/**
 * The controller's wiring: what to watch, when to reconcile, who may write. A reconcile reads the informer caches,
 * discovers workloads, renders and plans (pure: discovery.ts, reconcile.ts), then hands the plans to the executor
 * (executor.ts), discovered workloads to the workload writer (workload-writer.ts) and the outcomes to the status
 * writer (status-writer.ts). Member connections are the registry's (registry.ts).
 *
 * Watches: in the management cluster MeshClusters, MeshWorkloads, FailoverServices and the Secrets of the
 * namespaces MeshClusters reference; in each member cluster Spillway-labelled Istio objects and (discovery)
 * Services. Every event schedules one coalesced, rate-limited reconcile of the whole snapshot.
 */
import { conditionText } from '../api/messages.ts';
import type { KubeObject } from '../api/types.ts';
import { RenderCache, renderDetailed } from '../core/render.ts';
import type { RenderBlock } from '../core/render.ts';
import type { Clock, Jitter, TimerHandle } from '../kube/clock.ts';
import { backoffDelay, randomJitter, realClock } from '../kube/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import type { MemberConfig } from '../kube/config.ts';
import { describeError } from '../kube/errors.ts';
import { Informer } from '../kube/informer.ts';
import type { InformerEvent, InformerTiming } from '../kube/informer.ts';
import { LeaderElector } from '../kube/lease.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, MESH_WORKLOAD_GRANTS } from '../kube/resources.ts';
import { jsonEqual } from './compare.ts';
import { DEFAULT_EXCLUDED_NAMESPACES, DiscoveryMemo, discoverWorkloadsWith } from './discovery.ts';
import type { DiscoveryNote } from './discovery.ts';
import { ApplyMemos, executePlan } from './executor.ts';
import type { ExecuteTarget } from './executor.ts';
import type { Logger } from './log.ts';
import { silentLogger } from './log.ts';
import { ControllerMetrics } from './metrics.ts';
import { NotLeaderError } from './pool.ts';
import type { WriteGate } from './pool.ts';
import type { ClusterOutcome, ClusterPlan, LiveCluster } from './reconcile.ts';
import { LastGoodRenders, PlanCache, planReconcile } from './reconcile.ts';
import { ClusterRegistry } from './registry.ts';
import { liveFacts } from './slim.ts';
import { Scheduler } from './scheduler.ts';
import type { RunResult } from './scheduler.ts';
import { StatusWriter } from './status-writer.ts';
import { CheckRunner } from './checks.ts';
import type { CheckRunnerTiming } from './checks.ts';
import { ServingPublisher } from './serving.ts';
import type { ConnectionState } from './status-writer.ts';
import { writeWorkloads } from './workload-writer.ts';

export interface ControllerOptions {
  /** Client of the management cluster (where MeshClusters, MeshWorkloads, FailoverServices and the Lease live). */
  management: KubeClient;
  /** The controller's namespace: the Lease, and the default namespace of kubeconfig Secrets. */
  namespace: string;
  /** This replica's identity in the Lease (pod name). */
  identity?: string;
  clock?: Clock;
  jitter?: Jitter;
  timing?: Partial<InformerTiming>;
  scheduler?: { debounceMs?: number; minIntervalMs?: number; resyncMs?: number; backoffBaseMs?: number; backoffMaxMs?: number };
  /** false disables leader election (a single replica, or tests); default on. */
  leaderElection?: false | { leaseName?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Service discovery; default on with kube-system, kube-public, kube-node-lease and istio-system excluded. */
  discovery?: false | { excludeNamespaces?: readonly string[] };
  /**
   * Builds a member cluster's client from its Secret's kubeconfig, already checked to be data only (see
   * `memberConfigFromText`; default: one HttpKubeClient per cluster).
   */
  memberClient?: (config: MemberConfig, cluster: string) => KubeClient;
  /** How long statuses wait for a member that answers slowly at first (see FIRST_SYNC_GRACE_MS). @default 120 s */
  firstSyncGraceMs?: number;
  /**
   * Suffixes a FailoverService's spec.hostname may end with after its namespace (`<x>.<namespace>.<suffix>`).
   * @default ['global']
   */
  hostSuffixes?: readonly string[];
  /** Member credentials expiring within this get SPW214 in the MeshCluster's status and a Warning Event. @default 7 days */
  credentialWarningMs?: number;
  log?: Logger;
  metrics?: ControllerMetrics;
  /** Parallel writes per cluster. */
  writeConcurrency?: number;
  /**
   * `spillway check`, continuously: MeshCluster and FailoverService `Checked` conditions from the checks of
   * src/check, gathered from every connected member at a modest period (default every 120 s); default on.
   */
  checks?: false | CheckRunnerTiming;
  /** Live tier shares (status.serving, gauge, Events) from members' EndpointSlices; default on. */
  serving?: false | { debounceMs?: number };
  /**
   * How long a reconcile waits for one cluster's writes (default 1 s). A slower cluster's writes go on in the
   * background (the cluster reports Pending, and gets no new plan until they finish) so that one slow member never
   * holds back the others.
   */
  clusterWaitMs?: number;
}

export interface ReconcileReport {
  /** Why nothing was done (not leader, inputs not listed yet). */
  skipped?: string;
  applied: number;
  pruned: number;
  statusWrites: number;
  workloadWrites: number;
  outcomes: ClusterOutcome[];
  discoveryNotes: DiscoveryNote[];
  durationMs: number;
  /** Time spent per phase: discovery, render, plan, cluster writes, workload writes, statuses. */
  phases: Record<string, number>;
}

export class Controller {
  readonly metrics: ControllerMetrics;
  readonly log: Logger;
  private readonly clock: Clock;
  private readonly jitter: Jitter;
  private readonly mc: Informer;
  private readonly mw: Informer;
  private readonly fs: Informer;
  private readonly grants: Informer;
  private readonly registry: ClusterRegistry;
  private readonly memos = new ApplyMemos();
  private readonly renderCache = new RenderCache();
  /** The last discovery: reused while every member Service and MeshWorkload is the very same object. */
  private readonly discoveryMemo = new DiscoveryMemo();
  /** Goes with `memos`: whenever a cluster's memo is dropped, so is its plan state. */
  private readonly planCache = new PlanCache();
  /** The last accepted render per FailoverService: a held service's objects are repaired from it. */
  private readonly lastGood = new LastGoodRenders();
  private readonly statuses: StatusWriter;
  /** Continuous checks (checks.ts): fed each reconcile's render; their conditions go into the statuses. */
  readonly checks: CheckRunner | undefined;
  /** Live tier shares (serving.ts): fed the members' clients and each reconcile's render. */
  readonly serving: ServingPublisher | undefined;
  private readonly gate: WriteGate;
  private readonly scheduler: Scheduler;
  private readonly elector: LeaderElector | undefined;
  /** Per cluster: writes still running from an earlier reconcile (a slow member). */
  private readonly inflight = new Map<string, Batch>();
  private failStreak = 0;
  private started = false;
  private reconciling = false;
  private reconcileStartedAt = 0;
  lastReport: ReconcileReport | undefined;

  constructor(private readonly o: ControllerOptions) {
    this.clock = o.clock ?? realClock;
    this.jitter = o.jitter ?? randomJitter();
    this.log = o.log ?? silentLogger;
    this.metrics = o.metrics ?? new ControllerMetrics();
    this.gate = {
      guard: () => {
        if (!this.isLeader) throw new NotLeaderError();
      },
      concurrency: o.writeConcurrency ?? 16,
    };
    const onEvent = (ev: InformerEvent): void => {
      if (!statusOnly(ev)) this.scheduler.trigger();
    };
    const onClusterEvent = (ev: InformerEvent): void => {
      if (statusOnly(ev)) return;
      this.registry.sync();
      this.scheduler.trigger();
    };
    const mk = (type: typeof MESH_CLUSTERS, cb: (ev: InformerEvent) => void): Informer =>
      new Informer({ client: o.management, type, clock: this.clock, jitter: this.jitter, timing: o.timing, onEvent: cb, onLog: (l, m, f) => this.log[l](m, { cluster: '(management)', ...f }) });
    this.mc = mk(MESH_CLUSTERS, onClusterEvent);
    this.mw = mk(MESH_WORKLOADS, onEvent);
    this.fs = mk(FAILOVER_SERVICES, onEvent);
    this.grants = mk(MESH_WORKLOAD_GRANTS, onEvent);
    this.registry = new ClusterRegistry({
      management: o.management,
      namespace: o.namespace,
      clock: this.clock,
      jitter: this.jitter,
      timing: o.timing,
      discovery: o.discovery !== false,
      memberClient: o.memberClient,
      ...(o.firstSyncGraceMs !== undefined ? { firstSyncGraceMs: o.firstSyncGraceMs } : {}),
      log: this.log,
      meshClusters: () => (this.mc.synced ? this.mc.list() : undefined),
      onChange: () => this.scheduler.trigger(),
      onReplaced: (name) => {
        this.memos.forget(name);
        this.planCache.forget(name);
      },
    });
    if (o.serving !== false) {
      this.serving = new ServingPublisher({
        management: o.management,
        clock: this.clock,
        jitter: this.jitter,
        timing: o.timing,
        isLeader: () => this.isLeader,
        failoverService: (ns, name) => this.fs.get(ns, name),
        services: (cluster) => this.registry.entries.get(cluster)?.conn?.knownServices(),
        ...(o.discovery !== false ? { hasService: (cluster: string, ns: string, name: string) => this.registry.entries.get(cluster)?.conn?.hasService(ns, name) } : {}),
        log: this.log,
        registry: this.metrics.registry,
        ...(o.serving?.debounceMs !== undefined ? { debounceMs: o.serving.debounceMs } : {}),
        concurrency: this.gate.concurrency,
      });
    }
    if (o.checks !== false) {
      this.checks = new CheckRunner({
        ...(o.checks ?? {}),
        clock: this.clock,
        isLeader: () => this.isLeader,
        members: () => new Map([...this.registry.entries].map(([name, e]) => [name, e.conn ? { client: e.conn.client } : { error: e.error ?? 'not connected' }])),
        onChange: () => this.scheduler.trigger(),
        log: this.log,
        registry: this.metrics.registry,
        foreground: () => this.scheduler.notRunning(),
      });
    }
    this.statuses = new StatusWriter({ management: o.management, failoverServices: this.fs, meshClusters: this.mc, gate: this.gate, wallTime: () => this.clock.wallTime(), credentialWarningMs: o.credentialWarningMs, log: this.log, metrics: this.metrics });
    this.scheduler = new Scheduler({
      clock: this.clock,
      jitter: this.jitter,
      run: () => this.runReconcile(),
      ...o.scheduler,
      onError: (e, attempt, retry) => this.log.error('reconcile failed', { error: describeError(e), attempt, retryInMs: Math.round(retry) }),
    });
    if (o.leaderElection !== false) {
      const le = o.leaderElection ?? {};
      this.elector = new LeaderElector({
        client: o.management,
        namespace: o.namespace,
        name: le.leaseName ?? 'spillway-controller',
        identity: o.identity ?? `spillway-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
        clock: this.clock,
        jitter: this.jitter,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        onStartedLeading: () => {
          this.metrics.leader.set({}, 1);
          this.scheduler.trigger();
        },
        onStoppedLeading: () => this.metrics.leader.set({}, 0),
        onLog: (l, m, f) => this.log[l](m, f),
      });
    }
    this.metrics.leader.set({}, this.elector ? 0 : 1);
    this.metrics.registry.onCollect(() => this.collectGauges());
  }

  private foreignMemo: { parts: readonly (ReadonlyMap<string, string> | undefined)[]; hosts: ReadonlyMap<string, string> | undefined } | undefined;

  /**
   * The members' own ServiceEntry hosts (not Spillway's), merged in cluster-name order; the same map while no
   * cluster's changed, so the render cache keeps its per-service results.
   */
  private foreignHosts(entries: ReadonlyMap<string, { conn?: { foreignHosts(): ReadonlyMap<string, string> | undefined } }>): ReadonlyMap<string, string> | undefined {
    const names = [...entries.keys()].sort();
    const parts = names.map((n) => entries.get(n)?.conn?.foreignHosts());
    const m = this.foreignMemo;
    if (m && m.parts.length === parts.length && m.parts.every((p, i) => p === parts[i])) return m.hosts;
    let hosts: Map<string, string> | undefined;
    for (const p of parts) {
      if (!p || p.size === 0) continue;
      hosts ??= new Map();
      for (const [h, where] of p) if (!hosts.has(h)) hosts.set(h, where);
    }
    this.foreignMemo = { parts, hosts };
    return hosts;
  }

  /** Starts watching and reconciling; resolves once the management cluster's inputs are listed. */
  async start(): Promise<void> {
    this.started = true;
    this.registry.start();
    this.mc.start();
    this.mw.start();
    this.fs.start();
    this.grants.start();
    this.elector?.start();
    this.scheduler.start();
    await Promise.all([this.mc.waitSynced(), this.mw.waitSynced(), this.fs.waitSynced(), this.grants.waitSynced()]);
    this.registry.sync();
    this.scheduler.trigger();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.scheduler.stop();
    await this.elector?.stop();
    await Promise.all([this.mc.stop(), this.mw.stop(), this.fs.stop(), this.grants.stop()]);
    await this.serving?.stop();
    await this.checks?.stop();
    await this.registry.stop(); // closes the clients: slow writes still in flight end
    await Promise.all([...this.inflight.values()].map((i) => i.done));
  }

  /** May this replica write? */
  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : true;
  }

  /** The management cluster's inputs are listed. */
  get ready(): boolean {
    return this.mc.synced && this.mw.synced && this.fs.synced && this.grants.synced;
  }

  /** Healthy unless a reconcile has been running for more than five minutes. */
  get healthy(): boolean {
    return !this.reconciling || this.clock.now() - this.reconcileStartedAt < 300_000;
  }

  /** Asks for a reconcile (coalesced with any pending one). */
  trigger(): void {
    this.scheduler.trigger();
  }

  /**
   * Resolves when the controller has nothing left to write: no reconcile running or scheduled (failing clusters keep
   * a retry scheduled), no slow cluster's writes still going on in the background, no tier-share publish (its
   * status.serving patch and Events) pending after the last reconcile, and no check run in flight or due for anything
   * but its period. All at the same moment: each can start another (background writes trigger a reconcile, a
   * reconcile schedules a publish and a check run, a changed check result asks for a reconcile).
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.scheduler.idle();
      if (!this.started) return;
      const background = [...this.inflight.values()].map((i) => i.done);
      if (background.length > 0) {
        await Promise.all(background);
        continue;
      }
      if (this.serving && !this.serving.isIdle) {
        await this.serving.idle();
        continue;
      }
      await this.checks?.settled();
      if (this.scheduler.isIdle && this.inflight.size === 0 && (this.serving?.isIdle ?? true)) return;
    }
  }

  /** Clusters whose writes are still going on in the background (a slow member), in no particular order. */
  get backgroundWrites(): string[] {
    return [...this.inflight.keys()];
  }

  get reconcileCount(): number {
    return this.scheduler.runs;
  }

  /** Names of clusters with a live connection. */
  connectedClusters(): string[] {
    return [...this.registry.entries].filter(([, e]) => e.conn).map(([n]) => n);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reconcile

  private async runReconcile(): Promise<RunResult> {
    const r = await this.reconcileNow();
    const failing = r.outcomes.some((o) => (o.writeFailures ?? 0) > 0);
    if (!failing) {
      this.failStreak = 0;
      // A name held by an object that is not ours: its removal makes no event we watch, so look again slowly.
      const blocked = r.outcomes.some((o) => o.objectErrors.size > 0);
      return blocked ? { retryAfterMs: this.o.scheduler?.backoffMaxMs ?? 60_000 } : {};
    }
    this.failStreak++;
    const asked = Math.max(0, ...r.outcomes.map((o) => o.retryAfterMs ?? 0));
    return { retryAfterMs: Math.max(asked, backoffDelay(this.failStreak, this.o.scheduler?.backoffBaseMs ?? 200, this.o.scheduler?.backoffMaxMs ?? 60_000, this.jitter)) };
  }

  /** Runs one reconcile now (the scheduler calls this; tests and benchmarks may too). */
  async reconcileNow(): Promise<ReconcileReport> {
    const t0 = this.clock.now();
    const report: ReconcileReport = { applied: 0, pruned: 0, statusWrites: 0, workloadWrites: 0, outcomes: [], discoveryNotes: [], durationMs: 0, phases: {} };
    const done = (skipped?: string): ReconcileReport => {
      if (skipped) report.skipped = skipped;
      report.durationMs = this.clock.now() - t0;
      this.metrics.reconciles.inc({ result: skipped ? 'skipped' : report.outcomes.some((o) => o.state === 'Failed') ? 'error' : 'success' });
      if (!skipped) this.metrics.duration.observe(report.durationMs / 1000);
      this.lastReport = report;
      this.log.debug('reconcile finished', {
        ...(skipped ? { skipped } : {}),
        durationMs: Math.round(report.durationMs * 10) / 10,
        applied: report.applied,
        pruned: report.pruned,
        statusWrites: report.statusWrites,
        workloadWrites: report.workloadWrites,
        clusters: Object.fromEntries(report.outcomes.map((o) => [o.cluster, o.state])),
        phasesMs: Object.fromEntries(Object.entries(report.phases).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      });
      return report;
    };
    if (!this.isLeader) return done('not the leader');
    if (!this.ready) return done('management cluster not listed yet');
    this.reconciling = true;
    this.reconcileStartedAt = t0;
    try {
      await this.reconcileInner(report);
      return done();
    } catch (e) {
      if (e instanceof NotLeaderError) return done('lost leadership');
      throw e;
    } finally {
      this.reconciling = false;
    }
  }

  private async reconcileInner(report: ReconcileReport): Promise<void> {
    let mark = this.clock.now();
    const phase = (name: string): void => {
      const now = this.clock.now();
      report.phases[name] = now - mark;
      mark = now;
    };
    this.registry.sync();
    const entries = this.registry.entries;
    const meshClusters = this.mc.list();
    const workloads = this.mw.list();
    const services = this.fs.list();

    // Discovery: what MeshWorkloads should exist.
    let effective = workloads;
    let discovery: ReturnType<typeof discoverWorkloadsWith> | undefined;
    if (this.o.discovery !== false) {
      const known = new Map<string, KubeObject[] | undefined>();
      for (const mc of meshClusters) known.set(mc.metadata.name, entries.get(mc.metadata.name)?.conn?.knownServices());
      discovery = discoverWorkloadsWith(this.discoveryMemo, { services: known, existing: workloads, // The controller's own namespace holds its metrics Service and the member kubeconfigs: never a workload.
        excludeNamespaces: new Set([...(this.o.discovery?.excludeNamespaces ?? DEFAULT_EXCLUDED_NAMESPACES), this.o.namespace]) });
      effective = discovery.effective;
      report.discoveryNotes = discovery.notes;
    }

    phase('discovery');
    // A cluster whose writes still run in the background gets no new plan until they finish (executeBounded): it is
    // not planned at all (planning 10,000 objects there each reconcile only took the CPU those writes need), and its
    // plan state stays as it was. Nothing between here and executeBounded awaits, so the set cannot change meanwhile.
    const live = new Map<string, LiveCluster>();
    for (const [name, e] of entries) if (e.conn && !this.inflight.has(name)) live.set(name, e.conn.live());
    const drain = this.registry.draining();
    for (const [name, conn] of drain) if (!this.inflight.has(name)) live.set(name, conn.live());
    const foreignHosts = this.foreignHosts(entries);
    const policy = this.o.hostSuffixes || foreignHosts ? { ...(this.o.hostSuffixes ? { hostSuffixes: this.o.hostSuffixes } : {}), ...(foreignHosts ? { foreignHosts } : {}) } : undefined;
    const docs = [...meshClusters, ...effective, ...services, ...this.grants.list()];
    // Rendered here to time it apart from planning; planReconcile then gets this very result from the cache.
    renderDetailed(docs, this.renderCache, policy);
    phase('render');
    const plan = planReconcile({ docs, policy, clusters: live, memo: (c, k) => this.memos.get(c, k), renderCache: this.renderCache, planCache: this.planCache, drain: [...drain.keys()], lastGood: this.lastGood });
    const held = new Map<string, string[]>();
    for (const p of plan.clusters) for (const ref of (this.inflight.get(p.cluster)?.held ?? p.held).keys()) held.set(ref, [...(held.get(ref) ?? []), p.cluster]);

    phase('plan');
    const outcomes = await Promise.all(plan.clusters.map((p) => this.executeBounded(p, drain.has(p.cluster) ? { conn: drain.get(p.cluster), error: undefined } : { conn: entries.get(p.cluster)?.conn, error: entries.get(p.cluster)?.error }, plan.render.blocks.get(p.cluster) ?? [])));
    for (const o of outcomes) if (drain.has(o.cluster)) this.registry.drained(o.cluster, o);
    phase('clusterWrites');
    report.outcomes = outcomes;
    for (const o of outcomes) {
      report.applied += o.applied;
      report.pruned += o.pruned;
    }
    if (discovery) report.workloadWrites = await writeWorkloads({ management: this.o.management, workloads: this.mw, memos: this.memos, gate: this.gate, log: this.log }, discovery.desired, discovery.remove);
    phase('workloadWrites');

    const connections = new Map<string, ConnectionState>();
    for (const [name, e] of entries) connections.set(name, { reachable: e.conn?.reachable ?? false, error: e.error ?? e.conn?.error, firstSync: this.registry.firstSync(name), ...(e.expiresAt ? { expiresAt: e.expiresAt } : {}) });
    report.statusWrites = await this.statuses.write({ render: plan.render, services, meshClusters, outcomes, connections, held, now: this.clock.wallTime().toISOString().replace(/\.\d{3}Z$/, 'Z'), checks: this.checks?.conditions() });
    phase('statuses');
    // The first check run waits until every member has been listed once (a restart does not read twice at once).
    this.checks?.setRender(plan.render, [...connections.values()].some((c) => c.firstSync));
    if (this.serving) {
      for (const [name, e] of entries) if (e.conn) this.serving.attach(name, e.conn.client);
      for (const name of this.serving.attached()) if (!entries.get(name)?.conn) await this.serving.detach(name);
      this.serving.setRender(plan.render);
    }

    for (const o of outcomes) {
      this.metrics.conflicts.set({ cluster: o.cluster }, [...o.objectErrors.values()].filter((m) => m.includes('left untouched')).length);
      if (o.applied || o.pruned || o.state === 'Failed') {
        this.log.info('cluster synced', { cluster: o.cluster, state: o.state, applied: o.applied, pruned: o.pruned, ...(o.message ? { error: o.message } : {}) });
      }
    }
    this.metrics.discoveryConflicts.set({}, report.discoveryNotes.length);
  }

  /**
   * Executes a cluster's plan, waiting at most `clusterWaitMs`. Writes that take longer finish in the background and
   * trigger a reconcile when done; meanwhile the cluster gets no new plan and reports Pending.
   */
  private async executeBounded(plan: ClusterPlan, target: ExecuteTarget, blocks: readonly RenderBlock[]): Promise<ClusterOutcome> {
    const busy = this.inflight.get(plan.cluster);
    // The same text for as long as the same batch runs: the statuses showing it are written once, not each reconcile.
    // Pending only for the services the batch writes and those changed since it began (planned when it ends).
    const slow = (batch: Batch): ClusterOutcome => ({
      cluster: plan.cluster,
      state: 'Pending',
      message: conditionText('Sync', 'SlowWrites', { objects: batch.objects, since: batch.startedAt }),
      objectErrors: new Map(),
      applied: 0,
      pruned: 0,
      pendingServices: pendingServices(batch, blocks),
    });
    if (busy) return slow(busy);
    const since = this.clock.now();
    const startedAt = this.clock.wallTime().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const objects = plan.apply.length + plan.probe.length + plan.prune.length;
    const run = executePlan(plan, target, this.memos, this.gate, this.metrics);
    let timer: TimerHandle | undefined;
    const waited = await Promise.race([
      run,
      new Promise<undefined>((resolve) => (timer = this.clock.setTimer(this.o.clusterWaitMs ?? 1_000, () => resolve(undefined)))),
    ]).finally(() => timer?.cancel());
    if (waited) return waited;
    const done = run.then(
      () => undefined,
      () => undefined, // NotLeaderError and the like: the next reconcile decides again
    ).finally(() => {
      this.inflight.delete(plan.cluster);
      this.log.info('slow cluster writes finished', { cluster: plan.cluster, objects, afterMs: Math.round(this.clock.now() - since) });
      this.scheduler.trigger();
    });
    const refs = new Set<string>();
    for (const p of plan.apply) if (p.ref !== undefined) refs.add(p.ref);
    for (const p of plan.probe) if (p.ref !== undefined) refs.add(p.ref);
    for (const o of plan.prune) {
      const owner = liveFacts(o, plan.cluster).owner;
      if (owner !== undefined) refs.add(owner);
    }
    const batch: Batch = { since, startedAt, objects, held: plan.held, refs, blocks: new Map(blocks.map((b) => [b.ref, b])), done };
    this.inflight.set(plan.cluster, batch);
    this.log.warn('cluster writes are slow; continuing without waiting for them', { cluster: plan.cluster, objects, waitedMs: this.o.clusterWaitMs ?? 1_000 });
    return slow(batch);
  }

  private collectGauges(): void {
    this.metrics.reachable.reset();
    this.metrics.watchRestarts.reset();
    for (const [name, e] of this.registry.entries) {
      this.metrics.reachable.set({ cluster: name }, e.conn?.reachable ? 1 : 0);
      const c = e.conn?.watchCounters();
      if (c) for (const [reason, n] of Object.entries(c)) this.metrics.watchRestarts.set({ cluster: name, reason }, n);
    }
    this.metrics.leader.set({}, this.isLeader ? 1 : 0);
  }
}

/** One cluster's writes running in the background (a slow member), from the plan they carry out. */
interface Batch {
  since: number;
  /** When they began (RFC 3339, seconds): what the statuses say while they run. */
  startedAt: string;
  /** Objects to write or check. */
  objects: number;
  /** The plan's held services (not accepted, their last good objects kept). */
  held: ReadonlyMap<string, number>;
  /** Services the batch writes or prunes objects of. */
  refs: ReadonlySet<string>;
  /** The cluster's render blocks the batch was planned from, by service. */
  blocks: ReadonlyMap<string, RenderBlock>;
  done: Promise<void>;
}

/** The services Pending in a cluster while `batch` runs: those it writes, and those whose blocks changed since it began. */
function pendingServices(batch: Batch, blocks: readonly RenderBlock[]): ReadonlySet<string> {
  let out: Set<string> | undefined;
  let seen = 0;
  for (const b of blocks) {
    const then = batch.blocks.get(b.ref);
    if (then !== undefined) seen++;
    if (then !== b && !batch.refs.has(b.ref)) (out ??= new Set(batch.refs)).add(b.ref);
  }
  if (seen < batch.blocks.size) {
    const now = new Set(blocks.map((b) => b.ref));
    for (const ref of batch.blocks.keys()) if (!batch.refs.has(ref) && !now.has(ref)) (out ??= new Set(batch.refs)).add(ref);
  }
  return out ?? batch.refs;
}

/**
 * An update that changed only status or server metadata (our own status writes echo back this way). Rendering reads
 * name, namespace, creationTimestamp and spec, so such an event needs no reconcile; the informer cache still holds
 * the new status for the next status comparison.
 */
export function statusOnly(ev: InformerEvent): boolean {
  if (ev.type !== 'upsert' || !ev.old) return false;
  const a = ev.old;
  const b = ev.object;
  return (
    a.metadata.deletionTimestamp === b.metadata.deletionTimestamp &&
    a.metadata.creationTimestamp === b.metadata.creationTimestamp &&
    jsonEqual(a.spec ?? null, b.spec ?? null) &&
    jsonEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {})
  );
}
