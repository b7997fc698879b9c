/**
 * Status writing: turns a reconcile's render and cluster outcomes into FailoverService and MeshCluster statuses
 * (the pure serviceStatus/clusterStatus of reconcile.ts) and writes those that changed, through the status
 * subresource. Remembers which statuses needed no write so an idle reconcile does not even recompute them.
 */
import type { KubeObject } from '../api/types.ts';
import type { CheckConditions } from '../check/conditions.ts';
import type { DetailedRenderResult, ServiceOutcome } from '../core/render.ts';
import type { KubeClient } from '../kube/client.ts';
import { KUBECONFIG_CODES } from '../kube/config.ts';
import { KUBECONFIG_CODES as KUBECONFIG_TABLE, kubeconfigLine } from '../api/messages.ts';
import type { KubeconfigParams } from '../api/messages.ts';
import { describeError, isKubeApiError } from '../kube/errors.ts';
import type { Informer } from '../kube/informer.ts';
import { createEvent, eventAnnotations, patchStatus } from '../kube/ops.ts';
import { API_VERSION } from '../api/types.ts';
import { typeOfObject } from '../kube/resources.ts';
import type { Logger } from './log.ts';
import type { ControllerMetrics } from './metrics.ts';
import { NotLeaderError, pool } from './pool.ts';
import type { WriteGate } from './pool.ts';
import type { ClusterOutcome, ServiceStatusInput } from './reconcile.ts';
import { clusterStatus, outcomesSignature, sameServiceStatusInput, sameStatus, serviceStatus } from './reconcile.ts';
import { blocksByService } from '../check/view.ts';

/** What the status writer needs to know about one MeshCluster's connection. */
export interface ConnectionState {
  reachable: boolean;
  /** Why it cannot be reached (bad kubeconfig, setup failure, failing watch). */
  error: string | undefined;
  /** Still listing for the first time (controller start, new kubeconfig): statuses depending on it wait. */
  firstSync: boolean;
  /** When the member credentials expire (a TokenRequest token's `exp`), if known. */
  expiresAt?: Date;
}

export interface StatusWriterDeps {
  management: KubeClient;
  /** Informers of the two kinds whose status is written (our writes are fed back into them). */
  failoverServices: Informer;
  meshClusters: Informer;
  gate: WriteGate;
  /** Wall-clock time now (for credential expiry). */
  wallTime: () => Date;
  /** Credentials expiring within this window get SPW214 in `status.credentialsWarning` and a Warning Event. @default 7 days */
  credentialWarningMs?: number;
  log: Logger;
  metrics: ControllerMetrics;
}

export interface StatusRound {
  render: DetailedRenderResult;
  /**
   * The FailoverServices among `render`'s documents (the same objects). A round whose render is a difference from the
   * last round's, and in which nothing else changed (the same cluster outcomes and checks, no held objects, no member
   * listing for the first time), looks only at the services the render changed and those not settled last time.
   */
  services: readonly KubeObject[];
  meshClusters: readonly KubeObject[];
  outcomes: readonly ClusterOutcome[];
  connections: ReadonlyMap<string, ConnectionState>;
  /** Per service ref: clusters where its last good objects are held (it exists, not accepted). */
  held: ReadonlyMap<string, readonly string[]>;
  /** RFC 3339, seconds. */
  now: string;
  /** The continuous checks' conditions (checks.ts); undefined before their first run (statuses keep theirs). */
  checks?: CheckConditions;
}

export const DEFAULT_CREDENTIAL_WARNING_MS = 7 * 24 * 3600 * 1000;

/** `168h`, `90m`, `45s`: the warning window as `spillway controller --credential-warning` takes it. */
function formatWindow(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/**
 * A FailoverService whose status needed no write: the inputs it was computed from, the round (render) they were read
 * from and the cluster outcomes' signature (kept by FailoverService object: informer objects are replaced, never
 * changed). The round is a number, not the render: entries not looked at for a while would keep old renders alive.
 */
interface Settled {
  ref: string;
  input: Omit<ServiceStatusInput, 'outcomes' | 'now'>;
  round: number;
  sig: string;
}

export class StatusWriter {
  /**
   * Per FailoverService object (as the informer holds it): the inputs of the last status computed that needed no
   * write. The same object, the same cluster outcomes and an unchanged render outcome, messages and objects: the
   * status still needs no write, found without reading the render for it (see write()).
   */
  private settled = new WeakMap<KubeObject, Settled>();
  /** The render of the last write() (every settled entry visited then was checked against it), and its number. */
  private lastRender: DetailedRenderResult | undefined;
  private rounds = 0;
  /**
   * The first round of the current run of rounds each rendered as a difference of the one before (or the same
   * render): an entry settled in that run is still settled unless some render of the run changed its service (each
   * such ref was looked at in the round that rendered it, and its entry replaced or dropped).
   */
  private chainFrom = 0;
  private lastSig = '';
  /** Statuses computed again in the last write() (the rest were settled and unchanged: not looked at). */
  lastComputed = 0;
  /** FailoverServices looked at in the last write() (all of them, or what changed: see StatusRound.services). */
  lastLooked = 0;
  /** What the last write() saw besides the render, for the next to tell whether only the render changed. */
  private lastRound: { checks: CheckConditions | undefined; quiet: boolean } | undefined;
  /** Refs of the FailoverServices whose status was not found settled in the last write() (looked at again). */
  private unsettled = new Set<string>();
  /** Refs of the accepted FailoverServices, as of the last write(). */
  private acceptedRefs = new Set<string>();

  constructor(private readonly d: StatusWriterDeps) {}

  /**
   * Writes the statuses that changed; returns the number of writes. Throws (for a retry) if a write failed.
   *
   * Proportional to what changed: a FailoverService whose object is the one its status was last found settled for,
   * under the same cluster outcomes and checks, and that the render (made as a difference from the last write's
   * render: `changes`) did not change, is settled still; only the others are computed (their outcome, messages and
   * objects read for them alone).
   */
  async write(r: StatusRound): Promise<number> {
    let writes = 0;
    const render = r.render;
    const outcomeMap = new Map(r.outcomes.map((o) => [o.cluster, o]));
    let byRef: Map<string, ServiceOutcome> | undefined;
    let messagesByObject: Map<string, typeof render.messages> | undefined;
    const changes = render.changes;
    const sameRender = render === this.lastRender;
    const fromLast = !sameRender && changes !== undefined && changes.since === this.lastRender;
    const round = sameRender ? this.rounds : ++this.rounds;
    const chainFrom = sameRender || fromLast ? this.chainFrom : round;
    this.chainFrom = chainFrom;
    const outcomeOf = (ref: string): ServiceOutcome | undefined => {
      if (changes) {
        const i = changes.position(ref);
        const o = i >= 0 ? render.services[i] : undefined;
        if (o?.ref === ref) return o;
      }
      byRef ??= new Map<string, ServiceOutcome>(render.services.map((s) => [s.ref, s]));
      return byRef.get(ref);
    };
    const messagesOf = (ref: string): typeof render.messages => {
      if (!messagesByObject) {
        messagesByObject = new Map();
        for (const m of render.messages) {
          const list = messagesByObject.get(m.object);
          if (list) list.push(m);
          else messagesByObject.set(m.object, [m]);
        }
      }
      return messagesByObject.get(ref) ?? [];
    };
    const objectsOf = (ref: string): ReadonlyMap<string, readonly string[]> | undefined => {
      const blocks = blocksByService(render).get(ref);
      return blocks ? new Map([...blocks].map(([cluster, b]) => [cluster, b.keys])) : undefined;
    };
    let computed = 0;
    let looked = 0;
    const tasks: (() => Promise<void>)[] = [];
    const firstSync = new Set([...r.connections].filter(([, c]) => c.firstSync).map(([n]) => n));
    // The same signature as last time is that very string (each settled entry compares it by reference then).
    const sig0 = outcomesSignature(outcomeMap);
    const sig = sig0 === this.lastSig ? this.lastSig : sig0;
    const quiet = r.held.size === 0 && firstSync.size === 0;
    // Only the render changed since the last round, as a difference: the services it did not change are those of the
    // last round (the same objects), settled or not as they were then.
    const onlyRender = changes !== undefined && this.lastRound !== undefined && this.lastRound.quiet && quiet && this.lastRound.checks === r.checks && sig === this.lastSig && (sameRender || fromLast);
    this.lastSig = sig;
    this.lastRound = undefined; // set again once this round's writes are done
    const write = (inf: Informer, obj: KubeObject, next: Record<string, unknown>) => async (): Promise<void> => {
      if (await this.writeOne(inf, obj, next)) writes++;
    };
    const acceptedRefs = onlyRender ? this.acceptedRefs : new Set<string>();
    const unsettled = onlyRender ? this.unsettled : new Set<string>();
    const visit = (fs: KubeObject): void => {
      looked++;
      const s = this.settled.get(fs);
      if (s && s.sig === sig && (s.round === round || (s.round >= chainFrom && !(fromLast && changes.refs.has(s.ref))))) {
        const check = r.checks ? (r.checks.services.get(s.ref) ?? null) : undefined;
        const held = r.held.size > 0 ? r.held.get(s.ref) : undefined;
        if (check === s.input.check && sameList(held, s.input.held) && !(firstSync.size > 0 && s.input.outcome.clusters.some((c) => firstSync.has(c.name)))) {
          if (s.input.outcome.accepted) acceptedRefs.add(s.ref);
          else acceptedRefs.delete(s.ref);
          unsettled.delete(s.ref);
          s.round = round;
          return;
        }
      }
      computed++;
      const ns = fs.metadata.namespace ?? 'default';
      const ref = `FailoverService/${ns}/${fs.metadata.name}`;
      const outcome = outcomeOf(ref) ?? { ref, namespace: ns, name: fs.metadata.name, accepted: false, clusters: [] };
      if (outcome.accepted) acceptedRefs.add(ref);
      else acceptedRefs.delete(ref);
      unsettled.add(ref);
      // A cluster still listing for the first time says nothing yet about the objects there: statuses that depend
      // on it wait, instead of flapping every FailoverService to Pending and back on each restart.
      if (firstSync.size > 0 && outcome.clusters.some((c) => firstSync.has(c.name))) {
        this.settled.delete(fs); // not checked against this render: not settled for a later one either
        return;
      }
      const input = {
        generation: fs.metadata.generation,
        outcome,
        messages: messagesOf(ref),
        objects: objectsOf(ref),
        prev: fs.status as Record<string, unknown> | undefined,
        held: r.held.get(ref),
        check: r.checks ? (r.checks.services.get(ref) ?? null) : undefined,
      };
      if (s && s.sig === sig && sameServiceStatusInput(s.input, input)) {
        this.settled.set(fs, { ref, input: s.input, round, sig });
        unsettled.delete(ref);
        return;
      }
      const next = serviceStatus({ ...input, outcomes: outcomeMap, now: r.now });
      if (!sameStatus(fs.status, next)) {
        this.settled.delete(fs);
        tasks.push(write(this.d.failoverServices, fs, next));
      } else {
        this.settled.set(fs, { ref, input, round, sig });
        unsettled.delete(ref);
      }
    };
    if (onlyRender && changes) {
      // ... and those whose document alone was replaced (someone else's status write, say: ours is put back).
      const refs = new Set(unsettled);
      if (!sameRender) {
        for (const ref of changes.refs) refs.add(ref);
        for (const ref of changes.replaced) if (ref.startsWith('FailoverService/')) refs.add(ref);
      }
      for (const ref of refs) {
        const fs = changes.document(ref) as KubeObject | undefined;
        if (fs) visit(fs);
        else {
          acceptedRefs.delete(ref);
          unsettled.delete(ref);
        }
      }
    } else for (const fs of r.services) visit(fs);
    this.acceptedRefs = acceptedRefs;
    this.unsettled = unsettled;
    this.lastRender = render;
    this.lastComputed = computed;
    this.lastLooked = looked;
    this.d.metrics.services.set({ accepted: 'true' }, acceptedRefs.size);
    this.d.metrics.services.set({ accepted: 'false' }, r.services.length - acceptedRefs.size);
    for (const mc of r.meshClusters) {
      if (firstSync.has(mc.metadata.name)) continue;
      const c = r.connections.get(mc.metadata.name);
      const expiresAt = c?.expiresAt;
      const expired = expiresAt !== undefined && expiresAt.getTime() <= this.d.wallTime().getTime();
      const expiry = expiresAt?.toISOString().replace(/\.\d{3}Z$/, 'Z');
      const name = mc.metadata.name;
      const windowMs = this.d.credentialWarningMs ?? DEFAULT_CREDENTIAL_WARNING_MS;
      // A fixed text (no "in 3 days"), so that an idle resync writes nothing; it changes only with the credentials.
      const warningParams: KubeconfigParams<'SPW214'> | undefined = expiresAt !== undefined && !expired && expiresAt.getTime() - this.d.wallTime().getTime() <= windowMs
        ? { cluster: name, expiresAt: expiry ?? '', window: formatWindow(windowMs) }
        : undefined;
      const warning = warningParams ? kubeconfigLine(KUBECONFIG_CODES.ExpiringCredentials, warningParams) : undefined;
      if (expiresAt) this.d.metrics.credentialsExpiry.set({ cluster: name }, Math.floor(expiresAt.getTime() / 1000));
      const prev = mc.status as Record<string, unknown> | undefined;
      const next = clusterStatus({
        generation: mc.metadata.generation,
        reachable: c?.reachable ?? false,
        connectionError: (expired ? kubeconfigLine(KUBECONFIG_CODES.ExpiredCredentials, { cluster: name, expiresAt: expiry ?? '' }) : undefined) ?? c?.error,
        ...(expiry ? { credentialsExpireAt: expiry } : {}),
        ...(warning ? { credentialsWarning: warning } : {}),
        outcome: outcomeMap.get(name),
        prev,
        now: r.now,
        check: r.checks ? (r.checks.clusters.get(mc.metadata.name) ?? null) : undefined,
      });
      if (!sameStatus(mc.status, next)) {
        const writeStatus = write(this.d.meshClusters, mc, next);
        // The Event goes with the status change that first shows this warning: once per credential, even across
        // restarts (a restarted controller finds the warning already in the status).
        tasks.push(warning && warningParams && prev?.['credentialsWarning'] !== warning ? async () => { await writeStatus(); await this.credentialEvent(mc, warning, warningParams, r.now); } : writeStatus);
      }
    }
    await pool(tasks, this.d.gate.concurrency);
    // (A round whose writes failed threw above: the next looks at every service.)
    this.lastRound = { checks: r.checks, quiet };
    return writes;
  }

  private async credentialEvent(mc: KubeObject, message: string, params: KubeconfigParams<'SPW214'>, now: string): Promise<void> {
    const name = mc.metadata.name;
    const ns = 'default'; // cluster-scoped objects' Events live in default, as Nodes' do
    const code = KUBECONFIG_CODES.ExpiringCredentials;
    const reason = KUBECONFIG_TABLE[code].name;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${name}.credentials.${now.replace(/[-:TZ]/g, '').toLowerCase()}`.slice(0, 253), namespace: ns, annotations: eventAnnotations(code, params) },
      involvedObject: { apiVersion: API_VERSION, kind: 'MeshCluster', name, ...(mc.metadata.uid ? { uid: mc.metadata.uid } : {}) },
      reason,
      message,
      type: 'Warning',
      source: { component: 'spillway-controller' },
      reportingComponent: 'spillway-controller',
      reportingInstance: name,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.d.log.warn('member credentials expire soon', { cluster: name, message });
    try {
      await createEvent(this.d.management, ns, event);
    } catch (e) {
      if (e instanceof NotLeaderError) throw e;
      this.d.log.warn('could not record Event', { meshCluster: name, reason, error: describeError(e) });
    }
  }

  private async writeOne(inf: Informer, obj: KubeObject, next: Record<string, unknown>): Promise<boolean> {
    this.d.gate.guard();
    try {
      // Keys another writer owns are left out of the patch (neither set nor removed): our copy of them comes from the
      // informer and may be older than what that writer just wrote.
      const res = await patchStatus(this.d.management, typeOfObject(obj), obj.metadata.namespace, obj.metadata.name, withoutOthersKeys(next), withoutOthersKeys(obj.status as Record<string, unknown> | undefined));
      inf.observe(res);
      this.d.metrics.statusWrites.inc({ kind: obj.kind });
      return true;
    } catch (e) {
      if (e instanceof NotLeaderError) throw e;
      if (isKubeApiError(e) && e.notFound) return false; // deleted meanwhile
      this.d.log.warn('status write failed', { object: `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, error: describeError(e) });
      throw e; // retried with backoff
    }
  }
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Status keys written by someone else: `serving` (live tier shares, serving.ts, on its own schedule). */
const OTHERS_KEYS = ['serving'];

function withoutOthersKeys<T extends Record<string, unknown> | undefined>(status: T): T {
  if (!status || !OTHERS_KEYS.some((k) => k in status)) return status;
  const out: Record<string, unknown> = { ...status };
  for (const k of OTHERS_KEYS) delete out[k];
  return out as T;
}
