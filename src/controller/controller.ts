/**
 * The controller's wiring: what to watch, when to reconcile, and how to carry out a plan. The decisions
 * (desired vs live, statuses, discovery) are the pure functions in reconcile.ts and discovery.ts.
 *
 * Watches: in the management cluster MeshClusters, MeshWorkloads, FailoverServices and the Secrets of the
 * namespaces MeshClusters reference; in each member cluster Spillway-labelled Istio objects and (discovery)
 * Services. Every event schedules one coalesced, rate-limited reconcile of the whole snapshot.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import { RenderCache } from '../core/render.ts';
import type { ServiceOutcome } from '../core/render.ts';
import type { Clock, Jitter } from '../kube/clock.ts';
import { backoffDelay, randomJitter, realClock } from '../kube/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { HttpKubeClient } from '../kube/client.ts';
import { KUBECONFIG_CODES, KubeconfigPolicyError, memberConfigFromText } from '../kube/config.ts';
import type { MemberConfig } from '../kube/config.ts';
import { describeError, isKubeApiError } from '../kube/errors.ts';
import { Informer } from '../kube/informer.ts';
import type { InformerEvent, InformerTiming } from '../kube/informer.ts';
import { LeaderElector } from '../kube/lease.ts';
import { applyObject, deleteObject, getObject, patchStatus } from '../kube/ops.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, SECRETS, objectKey, typeOfObject } from '../kube/resources.ts';
import { applyIsNoop, jsonEqual } from './compare.ts';
import { ClusterConnection } from './connection.ts';
import { DEFAULT_EXCLUDED_NAMESPACES, discoverWorkloads, isDiscovered } from './discovery.ts';
import type { DiscoveryNote } from './discovery.ts';
import type { Logger } from './log.ts';
import { silentLogger } from './log.ts';
import { ControllerMetrics } from './metrics.ts';
import type { ClusterOutcome, ClusterPlan, LiveCluster, MemoEntry, PlannedObject, ServiceStatusInput } from './reconcile.ts';
import { FIELD_MANAGER, PlanCache, clusterStatus, collisionReason, decide, objectsByService, outcomesSignature, planReconcile, sameServiceStatusInput, sameStatus, serviceStatus } from './reconcile.ts';
import { Scheduler } from './scheduler.ts';
import type { RunResult } from './scheduler.ts';

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
  log?: Logger;
  metrics?: ControllerMetrics;
  /** Parallel writes per cluster. */
  writeConcurrency?: number;
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
  /** Time spent per phase: discovery, render+plan, cluster writes, workload writes, statuses. */
  phases: Record<string, number>;
}

class NotLeaderError extends Error {
  constructor() {
    super('not the leader');
  }
}

interface ClusterEntry {
  fingerprint: string;
  conn?: ClusterConnection;
  error?: string;
  /** When the member credentials expire (a TokenRequest token's `exp`), if known. */
  expiresAt?: Date;
}

function defaultMemberClient(config: MemberConfig): KubeClient {
  return new HttpKubeClient(config);
}

async function pool(tasks: (() => Promise<void>)[], n: number): Promise<void> {
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < tasks.length) await tasks[i++]!();
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
}

export class Controller {
  readonly metrics: ControllerMetrics;
  readonly log: Logger;
  private readonly clock: Clock;
  private readonly jitter: Jitter;
  private readonly mc: Informer;
  private readonly mw: Informer;
  private readonly fs: Informer;
  private readonly secretInformers = new Map<string, Informer>();
  private readonly entries = new Map<string, ClusterEntry>();
  private readonly stopping = new Set<Promise<void>>();
  /** Per cluster, per objectKey: what we last applied (see MemoEntry). */
  private readonly memo = new Map<string, Map<string, MemoEntry>>();
  private readonly renderCache = new RenderCache();
  /** Goes with `memo`: whenever a cluster's memo is dropped, so is its plan state. */
  private readonly planCache = new PlanCache();
  /**
   * Per FailoverService ref: the inputs of the last status computed that needed no write, and the cluster outcomes
   * it was computed with. Same inputs, same previous status object: the status still needs no write.
   */
  private statusMemo = new Map<string, Omit<ServiceStatusInput, 'outcomes' | 'now'>>();
  private statusMemoOutcomes = '';
  private memoFor(cluster: string): Map<string, MemoEntry> {
    let m = this.memo.get(cluster);
    if (!m) this.memo.set(cluster, (m = new Map()));
    return m;
  }
  private readonly scheduler: Scheduler;
  private readonly elector: LeaderElector | undefined;
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
    const onEvent = (ev: InformerEvent): void => {
      if (!statusOnly(ev)) this.scheduler.trigger();
    };
    const onClusterEvent = (ev: InformerEvent): void => {
      if (statusOnly(ev)) return;
      this.syncConnections();
      this.scheduler.trigger();
    };
    const mk = (type: typeof MESH_CLUSTERS, cb: (ev: InformerEvent) => void): Informer =>
      new Informer({ client: o.management, type, clock: this.clock, jitter: this.jitter, timing: o.timing, onEvent: cb, onLog: (l, m, f) => this.log[l](m, { cluster: '(management)', ...f }) });
    this.mc = mk(MESH_CLUSTERS, onClusterEvent);
    this.mw = mk(MESH_WORKLOADS, onEvent);
    this.fs = mk(FAILOVER_SERVICES, onEvent);
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

  /** Starts watching and reconciling; resolves once the management cluster's inputs are listed. */
  async start(): Promise<void> {
    this.started = true;
    this.mc.start();
    this.mw.start();
    this.fs.start();
    this.elector?.start();
    this.scheduler.start();
    await Promise.all([this.mc.waitSynced(), this.mw.waitSynced(), this.fs.waitSynced()]);
    this.syncConnections();
    this.scheduler.trigger();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.scheduler.stop();
    await this.elector?.stop();
    await Promise.all([this.mc.stop(), this.mw.stop(), this.fs.stop(), ...[...this.secretInformers.values()].map((i) => i.stop())]);
    await Promise.all([...this.entries.values()].map((e) => e.conn?.stop()));
    await Promise.all(this.stopping);
    this.entries.clear();
  }

  /** Keeps a background stop (of a replaced connection or informer) until it finishes. */
  private track(p: Promise<void>): void {
    const q = p.catch(() => undefined).finally(() => this.stopping.delete(q));
    this.stopping.add(q);
  }

  /** May this replica write? */
  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : true;
  }

  /** The management cluster's inputs are listed. */
  get ready(): boolean {
    return this.mc.synced && this.mw.synced && this.fs.synced;
  }

  /** Healthy unless a reconcile has been running for more than five minutes. */
  get healthy(): boolean {
    return !this.reconciling || this.clock.now() - this.reconcileStartedAt < 300_000;
  }

  /** Asks for a reconcile (coalesced with any pending one). */
  trigger(): void {
    this.scheduler.trigger();
  }

  /** Resolves when no reconcile is running or scheduled (failing clusters keep a retry scheduled). */
  idle(): Promise<void> {
    return this.scheduler.idle();
  }

  get reconcileCount(): number {
    return this.scheduler.runs;
  }

  /** Names of clusters with a live connection. */
  connectedClusters(): string[] {
    return [...this.entries].filter(([, e]) => e.conn).map(([n]) => n);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Cluster registry

  private secretsIn(namespace: string): Informer {
    let inf = this.secretInformers.get(namespace);
    if (!inf) {
      inf = new Informer({
        client: this.o.management,
        type: SECRETS,
        namespace,
        clock: this.clock,
        jitter: this.jitter,
        timing: this.o.timing,
        onEvent: () => {
          this.syncConnections();
          this.scheduler.trigger();
        },
        onLog: (l, m, f) => this.log[l](m, { cluster: '(management)', ...f }),
      });
      this.secretInformers.set(namespace, inf);
      if (this.started) inf.start();
    }
    return inf;
  }

  /** Starts, restarts and stops member connections to match the MeshClusters and their Secrets. */
  private syncConnections(): void {
    if (!this.started || !this.mc.synced) return;
    const seen = new Set<string>();
    const namespaces = new Set<string>();
    for (const mc of this.mc.list()) {
      const name = mc.metadata.name;
      seen.add(name);
      const ref = (mc.spec as { kubeconfigSecret?: { name?: string; namespace?: string } } | undefined)?.kubeconfigSecret;
      let fingerprint: string;
      let text: string | undefined;
      let error: string | undefined;
      if (!ref?.name) fingerprint = 'management';
      else {
        const ns = ref.namespace || this.o.namespace;
        namespaces.add(ns);
        const secrets = this.secretsIn(ns);
        const where = `Secret ${ns}/${ref.name}`;
        const secret = secrets.synced ? secrets.get(ns, ref.name) : undefined;
        const data = (secret?.data as Record<string, string> | undefined)?.kubeconfig;
        if (!secrets.synced) {
          fingerprint = `waiting:${where}`;
          error = `waiting to read ${where}`;
        } else if (!secret) {
          fingerprint = `missing:${where}`;
          error = `${where} not found`;
        } else if (!data) {
          fingerprint = `nokey:${where}`;
          error = `${where} has no data key "kubeconfig"`;
        } else {
          text = Buffer.from(data, 'base64').toString('utf8');
          fingerprint = `${where}#${createHash('sha256').update(text).digest('hex')}`;
        }
      }
      const cur = this.entries.get(name);
      if (cur && cur.fingerprint === fingerprint) continue;
      if (cur?.conn) this.track(cur.conn.stop());
      this.memo.delete(name); // possibly another cluster behind the name now: trust nothing we remembered
      this.planCache.forget(name);
      let conn: ClusterConnection | undefined;
      let expiresAt: Date | undefined;
      if (fingerprint === 'management' || text !== undefined) {
        try {
          let client: KubeClient;
          if (fingerprint === 'management') client = this.o.management;
          else {
            // The Secret is data, never code: refused fields get a coded error naming the field, never its value.
            const config = memberConfigFromText(text!);
            expiresAt = config.expiresAt;
            client = (this.o.memberClient ?? defaultMemberClient)(config, name);
          }
          conn = new ClusterConnection({
            name,
            client,
            ownsClient: fingerprint !== 'management',
            clock: this.clock,
            jitter: this.jitter,
            timing: this.o.timing,
            discovery: this.o.discovery !== false,
            onChange: () => this.scheduler.trigger(),
            log: this.log,
          });
        } catch (e) {
          // Only our own policy errors are known to hold no secret; anything else is summarized.
          error = e instanceof KubeconfigPolicyError ? e.message : `the kubeconfig in ${ref?.name ? `Secret ${ref.namespace || this.o.namespace}/${ref.name}` : 'the Secret'} could not be used`;
        }
      }
      this.entries.set(name, { fingerprint, conn, error, ...(expiresAt ? { expiresAt } : {}) });
      conn?.start();
      this.log.info(cur ? 'cluster connection restarted' : 'cluster connection started', { cluster: name, server: conn?.client.server, ...(error ? { error } : {}) });
    }
    for (const [name, e] of this.entries) {
      if (seen.has(name)) continue;
      if (e.conn) this.track(e.conn.stop());
      this.entries.delete(name);
      this.memo.delete(name);
      this.planCache.forget(name);
      this.log.info('cluster connection stopped (MeshCluster deleted)', { cluster: name });
    }
    for (const [ns, inf] of this.secretInformers) {
      if (namespaces.has(ns)) continue;
      this.track(inf.stop());
      this.secretInformers.delete(ns);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reconcile

  private guard(): void {
    if (!this.isLeader) throw new NotLeaderError();
  }

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
    return { retryAfterMs: backoffDelay(this.failStreak, this.o.scheduler?.backoffBaseMs ?? 200, this.o.scheduler?.backoffMaxMs ?? 60_000, this.jitter) };
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
    this.syncConnections();
    const meshClusters = this.mc.list();
    const workloads = this.mw.list();
    const services = this.fs.list();

    // Discovery: what MeshWorkloads should exist.
    let effective = workloads;
    let discovery: ReturnType<typeof discoverWorkloads> | undefined;
    if (this.o.discovery !== false) {
      const known = new Map<string, KubeObject[] | undefined>();
      for (const mc of meshClusters) known.set(mc.metadata.name, this.entries.get(mc.metadata.name)?.conn?.knownServices());
      discovery = discoverWorkloads({ services: known, existing: workloads, excludeNamespaces: new Set(this.o.discovery?.excludeNamespaces ?? DEFAULT_EXCLUDED_NAMESPACES) });
      effective = discovery.effective;
      report.discoveryNotes = discovery.notes;
    }

    phase('discovery');
    const live = new Map<string, LiveCluster>();
    for (const [name, e] of this.entries) if (e.conn) live.set(name, e.conn.live());
    const plan = planReconcile({ docs: [...meshClusters, ...effective, ...services], clusters: live, memo: (c, k) => this.memo.get(c)?.get(k), renderCache: this.renderCache, planCache: this.planCache });

    phase('renderPlan');
    const outcomes = await Promise.all(plan.clusters.map((p) => this.execute(p)));
    phase('clusterWrites');
    report.outcomes = outcomes;
    for (const o of outcomes) {
      report.applied += o.applied;
      report.pruned += o.pruned;
    }
    if (discovery) report.workloadWrites = await this.writeWorkloads(discovery.desired, discovery.remove);
    phase('workloadWrites');

    // Statuses.
    const now = this.clock.wallTime().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const byRef = new Map<string, ServiceOutcome>(plan.render.services.map((s) => [s.ref, s]));
    const objects = objectsByService(plan.render);
    const outcomeMap = new Map(outcomes.map((o) => [o.cluster, o]));
    const messagesByObject = new Map<string, typeof plan.render.messages>();
    for (const m of plan.render.messages) {
      const list = messagesByObject.get(m.object);
      if (list) list.push(m);
      else messagesByObject.set(m.object, [m]);
    }
    let accepted = 0;
    const statusTasks: (() => Promise<void>)[] = [];
    // A cluster whose connection is still listing for the first time (controller start, new or changed
    // kubeconfig) says nothing yet about the objects there: statuses that depend on it wait, instead of flapping
    // every FailoverService to Pending and back on each restart.
    const firstSync = new Set<string>();
    for (const [name, e] of this.entries) {
      if (e.fingerprint.startsWith('waiting:') || (e.error === undefined && e.conn && !e.conn.everReady && e.conn.error === undefined)) firstSync.add(name);
    }
    const outcomesSig = outcomesSignature(outcomeMap);
    const prevMemo = outcomesSig === this.statusMemoOutcomes ? this.statusMemo : undefined;
    const statusMemo = new Map<string, Omit<ServiceStatusInput, 'outcomes' | 'now'>>();
    for (const fs of services) {
      const ns = fs.metadata.namespace ?? 'default';
      const ref = `FailoverService/${ns}/${fs.metadata.name}`;
      const outcome = byRef.get(ref) ?? { ref, namespace: ns, name: fs.metadata.name, accepted: false, clusters: [] };
      if (outcome.accepted) accepted++;
      if (firstSync.size > 0 && outcome.clusters.some((c) => firstSync.has(c.name))) continue;
      const input = {
        generation: fs.metadata.generation,
        outcome,
        messages: messagesByObject.get(ref) ?? [],
        objects: objects.get(ref),
        prev: fs.status as Record<string, unknown> | undefined,
      };
      const last = prevMemo?.get(ref);
      if (last && sameServiceStatusInput(last, input)) {
        statusMemo.set(ref, last);
        continue;
      }
      const next = serviceStatus({ ...input, outcomes: outcomeMap, now });
      if (!sameStatus(fs.status, next)) statusTasks.push(() => this.writeStatus(this.fs, fs, next, report));
      else statusMemo.set(ref, input);
    }
    this.statusMemo = statusMemo;
    this.statusMemoOutcomes = outcomesSig;
    this.metrics.services.set({ accepted: 'true' }, accepted);
    this.metrics.services.set({ accepted: 'false' }, services.length - accepted);
    for (const mc of meshClusters) {
      if (firstSync.has(mc.metadata.name)) continue;
      const entry = this.entries.get(mc.metadata.name);
      const expiresAt = entry?.expiresAt;
      const expired = expiresAt !== undefined && expiresAt.getTime() <= this.clock.wallTime().getTime();
      const expiry = expiresAt?.toISOString().replace(/\.\d{3}Z$/, 'Z');
      const next = clusterStatus({
        generation: mc.metadata.generation,
        reachable: entry?.conn?.reachable ?? false,
        connectionError: (expired ? `${KUBECONFIG_CODES.ExpiredCredentials}: the member token expired at ${expiry}; rotate it (spillway cluster register)` : undefined) ?? entry?.error ?? entry?.conn?.error,
        ...(expiry ? { credentialsExpireAt: expiry } : {}),
        outcome: outcomeMap.get(mc.metadata.name),
        prev: mc.status as Record<string, unknown> | undefined,
        now,
      });
      if (!sameStatus(mc.status, next)) statusTasks.push(() => this.writeStatus(this.mc, mc, next, report));
    }
    await pool(statusTasks, this.o.writeConcurrency ?? 16);
    phase('statuses');

    for (const o of outcomes) {
      this.metrics.conflicts.set({ cluster: o.cluster }, [...o.objectErrors.values()].filter((m) => m.includes('left untouched')).length);
      if (o.applied || o.pruned || o.state === 'Failed') {
        this.log.info('cluster synced', { cluster: o.cluster, state: o.state, applied: o.applied, pruned: o.pruned, ...(o.message ? { error: o.message } : {}) });
      }
    }
    this.metrics.discoveryConflicts.set({}, report.discoveryNotes.length);
  }

  private async writeStatus(inf: Informer, obj: KubeObject, next: Record<string, unknown>, report: ReconcileReport): Promise<void> {
    this.guard();
    try {
      const res = await patchStatus(this.o.management, typeOfObject(obj), obj.metadata.namespace, obj.metadata.name, next, obj.status as Record<string, unknown> | undefined);
      inf.observe(res);
      report.statusWrites++;
      this.metrics.statusWrites.inc({ kind: obj.kind });
    } catch (e) {
      if (e instanceof NotLeaderError) throw e;
      if (isKubeApiError(e) && e.notFound) return; // deleted meanwhile
      this.log.warn('status write failed', { object: `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, error: describeError(e) });
      throw e; // retried with backoff
    }
  }

  /** Carries out one cluster's plan. Writes go only to objects with our labels, or to names nobody holds. */
  private async execute(plan: ClusterPlan): Promise<ClusterOutcome> {
    const entry = this.entries.get(plan.cluster);
    const conn = entry?.conn;
    const objectErrors = new Map<string, string>();
    if (plan.skipped !== undefined || !conn) {
      const message = entry?.error ?? (conn ? `not synced: ${plan.skipped}` : 'not connected');
      const failed = entry?.error !== undefined || (conn !== undefined && (conn.everReady || conn.error !== undefined));
      return { cluster: plan.cluster, state: failed ? 'Failed' : 'Pending', message, objectErrors, applied: 0, pruned: 0 };
    }
    for (const c of plan.collisions) objectErrors.set(c.key, c.reason);
    const memo = this.memoFor(plan.cluster);
    for (const u of plan.unchanged) memo.set(u.key, { object: u.object, resourceVersion: u.resourceVersion });
    let applied = 0;
    let pruned = 0;
    const writeErrors: string[] = [];
    const fail = (key: string, e: unknown): void => {
      if (e instanceof NotLeaderError) throw e;
      const msg = describeError(e);
      objectErrors.set(key, msg);
      writeErrors.push(msg);
      this.metrics.clusterErrors.inc({ cluster: plan.cluster });
    };
    const apply = async (p: PlannedObject, force: boolean): Promise<void> => {
      this.guard();
      try {
        const res = await applyObject(conn.client, p.object, { fieldManager: FIELD_MANAGER, force });
        memo.set(p.key, { object: p.object, resourceVersion: res.metadata.resourceVersion ?? '' });
        conn.observe(p.object.kind, res);
        applied++;
        this.metrics.applied.inc({ cluster: plan.cluster });
      } catch (e) {
        if (!force && isKubeApiError(e) && e.conflict) {
          // Created by someone else since we looked: never force fields onto an object that is not ours.
          objectErrors.set(p.key, `${p.object.kind} ${p.object.metadata.namespace ?? ''}/${p.object.metadata.name} in cluster ${plan.cluster} conflicts with another field manager; left untouched`);
          return;
        }
        fail(p.key, e);
      }
    };
    const probe = async (p: PlannedObject): Promise<void> => {
      let liveObj: KubeObject | undefined;
      try {
        liveObj = await getObject(conn.client, typeOfObject(p.object), p.object.metadata.namespace, p.object.metadata.name);
      } catch (e) {
        return fail(p.key, e);
      }
      const d = decide(p, liveObj, plan.cluster, (_c, k) => memo.get(k));
      if (d === 'create') return apply(p, false);
      if (d === 'update') return apply(p, true);
      if (d === 'collision') {
        objectErrors.set(p.key, collisionReason(liveObj!, plan.cluster));
        return;
      }
      memo.set(p.key, { object: p.object, resourceVersion: liveObj?.metadata.resourceVersion ?? '' });
      if (liveObj) conn.observe(p.object.kind, liveObj);
    };
    const prune = async (o: KubeObject): Promise<void> => {
      this.guard();
      try {
        const r = await deleteObject(conn.client, o);
        if (r !== 'changed') conn.observeDeleted(o.kind, o.metadata.namespace, o.metadata.name);
        if (r === 'deleted') {
          pruned++;
          this.metrics.pruned.inc({ cluster: plan.cluster });
        }
        memo.delete(objectKey(o));
      } catch (e) {
        fail(`prune:${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, e);
      }
    };
    await pool(
      [...plan.apply.map((p) => () => apply(p, true)), ...plan.probe.map((p) => () => probe(p)), ...plan.prune.map((o) => () => prune(o))],
      this.o.writeConcurrency ?? 16,
    );
    if (writeErrors.length) {
      return { cluster: plan.cluster, state: 'Failed', message: `write errors (${writeErrors.length}): ${writeErrors[0]}`, objectErrors, applied, pruned, writeFailures: writeErrors.length };
    }
    return { cluster: plan.cluster, state: 'Synced', objectErrors, applied, pruned };
  }

  /** Applies discovered MeshWorkloads and deletes the ones whose service went away. Hand-written ones are never touched. */
  private async writeWorkloads(desired: KubeObject[], remove: KubeObject[]): Promise<number> {
    let writes = 0;
    const tasks: (() => Promise<void>)[] = [];
    for (const d of desired) {
      const cur = this.mw.get(d.metadata.namespace, d.metadata.name);
      if (cur && !isDiscovered(cur)) continue;
      const key = objectKey(d);
      const memo = this.memoFor('(management)');
      const m = memo.get(key);
      if (cur && ((m && m.resourceVersion === cur.metadata.resourceVersion && jsonEqual(m.object, d)) || applyIsNoop(d, cur, FIELD_MANAGER))) {
        memo.set(key, { object: d, resourceVersion: cur.metadata.resourceVersion ?? '' });
        continue;
      }
      tasks.push(async () => {
        this.guard();
        try {
          const res = await applyObject(this.o.management, d, { fieldManager: FIELD_MANAGER, force: cur !== undefined });
          this.mw.observe(res);
          memo.set(key, { object: d, resourceVersion: res.metadata.resourceVersion ?? '' });
          writes++;
        } catch (e) {
          if (e instanceof NotLeaderError) throw e;
          this.log.warn('could not write discovered MeshWorkload', { workload: `${d.metadata.namespace}/${d.metadata.name}`, error: describeError(e) });
        }
      });
    }
    for (const r of remove) {
      tasks.push(async () => {
        this.guard();
        try {
          const res = await deleteObject(this.o.management, r);
          if (res !== 'changed') this.mw.observeDeleted(r.metadata.namespace, r.metadata.name);
          writes++;
        } catch (e) {
          if (e instanceof NotLeaderError) throw e;
          this.log.warn('could not delete discovered MeshWorkload', { workload: `${r.metadata.namespace}/${r.metadata.name}`, error: describeError(e) });
        }
      });
    }
    await pool(tasks, this.o.writeConcurrency ?? 16);
    return writes;
  }

  private collectGauges(): void {
    this.metrics.reachable.reset();
    this.metrics.watchRestarts.reset();
    for (const [name, e] of this.entries) {
      this.metrics.reachable.set({ cluster: name }, e.conn?.reachable ? 1 : 0);
      const c = e.conn?.watchCounters();
      if (c) for (const [reason, n] of Object.entries(c)) this.metrics.watchRestarts.set({ cluster: name, reason }, n);
    }
    this.metrics.leader.set({}, this.isLeader ? 1 : 0);
  }
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
