/**
 * One member cluster's connection: its client, the versions of Istio's kinds it serves, an informer per output
 * kind (objects labelled `app.kubernetes.io/managed-by=spillway`) and, with discovery on, a Services informer.
 * The connection retries its setup with backoff until it works or is stopped; the controller restarts it (a new
 * connection) when the MeshCluster's kubeconfig changes.
 */
import type { KubeObject } from '../api/types.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/types.ts';
import type { Clock, Jitter } from '../kube/clock.ts';
import { backoffDelay, sleep } from '../kube/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { describeError, isKubeApiError } from '../kube/errors.ts';
import { Informer } from '../kube/informer.ts';
import type { InformerEvent, InformerTiming } from '../kube/informer.ts';
import { ISTIO_GROUP, OUTPUT_KINDS, SERVICES, objectKey } from '../kube/resources.ts';
import type { ResourceType } from '../kube/resources.ts';
import type { LiveCluster } from './reconcile.ts';
import type { Logger } from './log.ts';
import { LabelledView, StringInterner, compactLive } from './slim.ts';

export interface ConnectionOptions {
  name: string;
  client: KubeClient;
  /** Close the client when the connection stops (false when it is the management cluster's shared client). */
  ownsClient: boolean;
  clock: Clock;
  jitter: Jitter;
  timing?: Partial<InformerTiming>;
  discovery: boolean;
  onChange: () => void;
  log: Logger;
  /** Shared between the connections of one controller: a name written to five clusters is one string. */
  strings?: StringInterner;
}

/** Labelled-map changes remembered for planners (see LiveCluster.changedSince). */
const MAX_LOG = 100_000;

export class ClusterConnection {
  readonly name: string;
  readonly client: KubeClient;
  private readonly informers = new Map<string, Informer>(); // by kind
  private services: Informer | undefined;
  /** The mesh's own ServiceEntries (every one without Spillway's label): their hosts are not for FailoverServices. */
  private foreign: Informer | undefined;
  private foreignMemo: { version: number; hosts: ReadonlyMap<string, string> } | undefined;

  /** The informers besides the output kinds': Services (discovery) and the foreign ServiceEntries. */
  private extras(): Informer[] {
    return [...(this.services ? [this.services] : []), ...(this.foreign ? [this.foreign] : [])];
  }

  /**
   * Hosts of the ServiceEntries in this cluster that Spillway did not write, each with where it is
   * (`ServiceEntry ns/name in <cluster>`); undefined until they are listed.
   */
  foreignHosts(): ReadonlyMap<string, string> | undefined {
    const inf = this.foreign;
    if (!inf?.synced) return undefined;
    if (this.foreignMemo?.version === inf.version) return this.foreignMemo.hosts;
    const hosts = new Map<string, string>();
    const objects = inf.list().sort((a, b) => objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0);
    for (const o of objects) {
      const list = (o.spec as { hosts?: unknown } | undefined)?.hosts;
      if (!Array.isArray(list)) continue;
      for (const h of list) {
        if (typeof h !== 'string') continue;
        const host = h.toLowerCase().replace(/\.$/, '');
        if (!hosts.has(host)) hosts.set(host, `ServiceEntry ${o.metadata.namespace ?? 'default'}/${o.metadata.name} in cluster ${this.name}`);
      }
    }
    this.foreignMemo = { version: inf.version, hosts };
    return hosts;
  }
  private setupError: string | undefined;
  private setupStarved = false;
  private setupDone = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private setup: Promise<void> | undefined;
  /** Names, namespaces, kinds and owner refs, shared between the cached objects (of every cluster, when given). */
  private readonly strings: StringInterner;

  constructor(private readonly o: ConnectionOptions) {
    this.name = o.name;
    this.client = o.client;
    this.strings = o.strings ?? new StringInterner();
  }

  start(): void {
    this.setup = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.setup;
    await Promise.all([...this.informers.values(), ...this.extras()].map((i) => i.stop()));
    if (this.o.ownsClient) this.client.close();
  }

  /** Finds which version of each output kind the cluster serves, then starts the informers. */
  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const types = await this.resolveTypes();
        if (this.stopped) return;
        this.setupDone = true;
        this.setupError = undefined;
        this.setupStarved = false;
        const onEvent = (ev: InformerEvent): void => {
          void ev;
          this.o.onChange();
        };
        const log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void => this.o.log[level](msg, { cluster: this.name, ...fields });
        for (const t of types) {
          const own: { informer?: Informer } = {};
          const onOutputEvent = (ev: InformerEvent): void => {
            // Only the current informer of the kind feeds the labelled map (not one being replaced).
            const cur = this.informers.get(t.kind);
            this.track(cur !== undefined && cur === own.informer ? cur : undefined, ev);
            this.o.onChange();
          };
          const inf = new Informer({
            client: this.client,
            type: t,
            labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`,
            // Hundreds of thousands of these at scale: keep only what planning, pruning and ownership read, computed
            // once here (slim.ts: ownership verdict, content hash of the fields we own).
            transform: (o) => compactLive(o, this.name, this.strings),
            intern: (k) => this.strings.intern(k),
            clock: this.o.clock,
            jitter: this.o.jitter,
            timing: this.o.timing,
            onEvent: onOutputEvent,
            onLog: log,
            // The version we watch is not served any more (Istio's CRDs reinstalled, upgraded or rolled back):
            // find out again which versions are served instead of retrying a 404 forever.
            onError: (e) => {
              if (isKubeApiError(e) && e.notFound) this.rediscover(`${t.plural}.${t.group}/${t.version} is no longer served`);
            },
          });
          own.informer = inf;
          this.informers.set(t.kind, inf);
          inf.start();
        }
        if (this.o.discovery) {
          this.services = new Informer({ client: this.client, type: SERVICES, clock: this.o.clock, jitter: this.o.jitter, timing: this.o.timing, onEvent, onLog: log });
          this.services.start();
        }
        const seType = types.find((t) => t.kind === 'ServiceEntry');
        if (seType) {
          this.foreign = new Informer({ client: this.client, type: seType, labelSelector: `${LABEL_MANAGED_BY}!=${MANAGED_BY_VALUE}`,
            // Only the hosts are read: keep nothing else of other teams' ServiceEntries.
            transform: (o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace, ...(o.metadata.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}) }, spec: { hosts: (o.spec as { hosts?: unknown } | undefined)?.hosts } }),
            clock: this.o.clock, jitter: this.o.jitter, timing: this.o.timing, onEvent, onLog: log });
          this.foreign.start();
        }
        this.o.onChange();
        return;
      } catch (e) {
        attempt++;
        this.setupError = describeError(e);
        this.setupStarved = starved(e);
        this.o.log.warn('cluster setup failed; retrying', { cluster: this.name, error: this.setupError, attempt });
        this.o.onChange();
        await sleep(this.o.clock, backoffDelay(attempt, this.o.timing?.backoffBaseMs ?? 500, this.o.timing?.backoffMaxMs ?? 30_000, this.o.jitter), this.abort.signal);
      }
    }
  }

  private rediscovering = false;
  /** Times the served versions were looked up again after a watched version went away. */
  rediscoveries = 0;

  /** Stops the output informers and runs the setup again (it retries with backoff until the kinds are served). */
  private rediscover(why: string): void {
    if (this.stopped || this.rediscovering || !this.setupDone) return;
    this.rediscovering = true;
    this.rediscoveries++;
    this.o.log.warn('Istio API versions changed; discovering them again', { cluster: this.name, reason: why });
    const old = [...this.informers.values(), ...this.extras()];
    this.setupDone = false;
    this.setupError = why;
    this.informers.clear();
    this.services = undefined;
    this.foreign = undefined;
    this.foreignMemo = undefined;
    this.labelledValid = false;
    this.followed.clear();
    this.o.onChange();
    const prev = this.setup;
    this.setup = (async () => {
      await prev;
      await Promise.all(old.map((i) => i.stop()));
      this.rediscovering = false;
      if (!this.stopped) await this.run();
    })();
  }

  private async resolveTypes(): Promise<ResourceType[]> {
    const group = (await this.client.request({ method: 'GET', path: `/apis/${ISTIO_GROUP}`, timeoutMs: 15_000, signal: this.abort.signal }).catch((e: unknown) => {
      throw new Error(`Istio's API group ${ISTIO_GROUP} is not served (are Istio's CRDs installed?): ${describeError(e)}`, { cause: e });
    })) as { versions?: { version?: string }[] };
    const served = new Map<string, Set<string>>(); // version -> plurals
    for (const v of (group.versions ?? []).map((x) => x.version).filter((x): x is string => typeof x === 'string')) {
      const list = (await this.client.request({ method: 'GET', path: `/apis/${ISTIO_GROUP}/${v}`, timeoutMs: 15_000, signal: this.abort.signal })) as { resources?: { name?: string }[] };
      served.set(v, new Set((list.resources ?? []).map((r) => r.name ?? '')));
    }
    const out: ResourceType[] = [];
    const missing: string[] = [];
    for (const k of OUTPUT_KINDS) {
      const version = k.versions.find((v) => served.get(v)?.has(k.plural));
      if (!version) missing.push(k.kind);
      else out.push({ group: ISTIO_GROUP, version, kind: k.kind, plural: k.plural, namespaced: true });
    }
    if (missing.length) throw new Error(`cluster does not serve ${missing.join(', ')} (${ISTIO_GROUP}); install Istio's CRDs`);
    return out;
  }

  /**
   * Live state for the planner. The labelled-object map follows the informers' events and our own observed writes;
   * it is rebuilt from the caches only when an informer's cache changed in a way it did not follow.
   */
  live(): LiveCluster {
    const empty: ReadonlyMap<string, KubeObject> = new Map();
    if (!this.setupDone) return { ready: false, notReadyReason: this.setupError ?? 'connecting', labelled: empty };
    for (const inf of this.informers.values()) {
      if (!inf.synced) return { ready: false, notReadyReason: inf.lastError ?? `listing ${inf.type.plural}`, labelled: empty };
      if (!inf.healthy) return { ready: false, notReadyReason: inf.lastError ?? `watch of ${inf.type.plural} failing`, labelled: empty };
    }
    // The mesh's own ServiceEntry hosts decide whether a FailoverService is accepted: wait for them too.
    if (this.foreign && !this.foreign.synced) return { ready: false, notReadyReason: this.foreign.lastError ?? 'listing the mesh\'s ServiceEntries', labelled: empty };
    let stale = !this.labelledValid;
    for (const inf of this.informers.values()) if (this.followed.get(inf) !== inf.version) stale = true;
    if (stale) {
      for (const inf of this.informers.values()) this.followed.set(inf, inf.version);
      this.labelledValid = true;
      // Nothing before the rebuild can be listed as changed: start the log afresh.
      this.epoch++;
      this.logStart = this.epoch;
      this.log.length = 0;
    }
    return { ready: true, labelled: this.labelled, epoch: this.epoch, changedSince: (e) => this.changedSince(e) };
  }
  /** The current output informers' objects by objectKey, read through to their caches. */
  private readonly labelled = new LabelledView(() => this.informers.values());
  private labelledValid = false;
  /** Changes to `labelled` so far; `log[i]` is the key changed by change number `logStart + i + 1`. */
  private epoch = 0;
  private logStart = 0;
  private readonly log: string[] = [];

  private changedSince(e: number): string[] | undefined {
    if (e < this.logStart || e > this.epoch) return undefined;
    return this.log.slice(e - this.logStart);
  }

  private changed(key: string): void {
    this.epoch++;
    this.log.push(key);
    if (this.log.length > MAX_LOG) {
      // Planners further behind than this re-examine everything.
      const drop = this.log.length - MAX_LOG / 2;
      this.log.splice(0, drop);
      this.logStart += drop;
    }
  }
  /** Per informer: the cache version the labelled map reflects. */
  private readonly followed = new Map<Informer, number>();

  /** Applies one informer change to the labelled map, if the map was in step with that informer before it. */
  private track(inf: Informer | undefined, ev: InformerEvent | { type: 'observed'; prior: KubeObject | undefined; current: KubeObject | undefined; before: number }): void {
    if (!inf || ev.type === 'state') return;
    const before = ev.type === 'observed' ? ev.before : inf.version - 1;
    if (!this.labelledValid || this.followed.get(inf) !== before) return; // out of step: live() rebuilds
    // The view reads the informer's cache: only the change is logged.
    const remove = (o: KubeObject): void => this.changed(objectKey(o));
    const put = (o: KubeObject): void => this.changed(objectKey(o));
    if (ev.type === 'upsert') {
      if (ev.old) remove(ev.old);
      put(ev.object);
    } else if (ev.type === 'delete') remove(ev.object);
    else if (ev.prior !== ev.current) {
      if (ev.prior) remove(ev.prior);
      if (ev.current) put(ev.current);
    }
    this.followed.set(inf, inf.version);
  }

  /** Records an object returned by our own write (see Informer.observe), keeping the labelled map in step. */
  observe(kind: string, o: KubeObject): void {
    const inf = this.informers.get(kind);
    if (!inf) return;
    const before = inf.version;
    const prior = inf.get(o.metadata.namespace, o.metadata.name);
    inf.observe(o);
    this.track(inf, { type: 'observed', prior, current: inf.get(o.metadata.namespace, o.metadata.name), before });
  }

  /** Records our own successful delete (see Informer.observeDeleted), keeping the labelled map in step. */
  observeDeleted(kind: string, namespace: string | undefined, name: string): void {
    const inf = this.informers.get(kind);
    if (!inf) return;
    const before = inf.version;
    const prior = inf.get(namespace, name);
    inf.observeDeleted(namespace, name);
    this.track(inf, { type: 'observed', prior, current: inf.get(namespace, name), before });
  }

  /** The cluster's Services when known (listed since connecting); undefined otherwise. */
  knownServices(): KubeObject[] | undefined {
    return this.services?.synced ? this.services.list() : undefined;
  }

  /** Whether the cluster has this Service, when its Services are known (see knownServices); undefined otherwise. */
  hasService(namespace: string, name: string): boolean | undefined {
    return this.services?.synced ? this.services.get(namespace, name) !== undefined : undefined;
  }

  /** Every watch is healthy. */
  get reachable(): boolean {
    if (!this.setupDone) return false;
    return [...this.informers.values(), ...this.extras()].every((i) => i.synced && i.healthy);
  }

  /** The current problem talking to the cluster, if any. */
  get error(): string | undefined {
    if (!this.setupDone) return this.setupError;
    for (const i of [...this.informers.values(), ...this.extras()]) if (!i.healthy && i.lastError) return i.lastError;
    return undefined;
  }

  /** The cluster answered discovery (its Istio API versions are known) and the informers run. */
  get answered(): boolean {
    return this.setupDone;
  }

  /**
   * Discovery has not answered yet, and its last attempt timed out or was turned away for load (429, 5xx): a starved
   * API server, which the statuses wait for as for a first list that fails (registry firstSync), not a refusal
   * (401/403, a CA that does not match, connection refused), which is reported at once.
   */
  get discoveryStarved(): boolean {
    return !this.setupDone && this.setupStarved;
  }

  /** Has every informer of this connection listed at least once (for telling Pending from Failed)? */
  get everReady(): boolean {
    return this.setupDone && [...this.informers.values(), ...this.extras()].every((i) => i.synced);
  }

  informerFor(kind: string): Informer | undefined {
    return this.informers.get(kind);
  }

  watchCounters(): { stall: number; gone: number; error: number } {
    const all = [...this.informers.values(), ...this.extras()];
    return {
      stall: all.reduce((n, i) => n + i.counters.stalls, 0),
      gone: all.reduce((n, i) => n + i.counters.gone, 0),
      error: all.reduce((n, i) => n + i.counters.errors, 0),
    };
  }
}

/** A discovery failure a starved server gives: our timeout (or 408), 429, 5xx. Follows `cause` (resolveTypes wraps). */
function starved(e: unknown): boolean {
  for (let x: unknown = e, i = 0; x !== undefined && i < 5; x = (x as { cause?: unknown }).cause, i++) {
    if (isKubeApiError(x)) return x.timedOut || x.status === 429 || x.status >= 500;
    if (!(x instanceof Error)) return false;
  }
  return false;
}
