/**
 * List + watch with a local cache, written for watches that must not hang (client-node 1.4's own ListWatch
 * has no client-side timeout and gives up on non-410 errors):
 * - every watch asks the server to end it (`timeoutSeconds`, jittered) and asks for bookmarks;
 * - a watchdog aborts a watch when nothing at all (not even a bookmark or a partial line) arrived for
 *   `stallTimeoutMs`, then re-watches from the last resourceVersion seen;
 * - 410 Gone (as an HTTP status or an ERROR event) re-lists; a re-list replaces the cache and reports the
 *   differences as changes, so deletions missed while disconnected are not lost;
 * - any other failure retries forever with jittered exponential backoff, marking the informer unhealthy
 *   (the controller does not prune in a cluster whose informers are unhealthy or never listed).
 */
import type { KubeObject } from '../api/types.ts';
import type { Clock, Jitter } from './clock.ts';
import { backoffDelay, sleep } from './clock.ts';
import type { KubeClient, WatchEvent } from './client.ts';
import { KubeApiError, describeError, isKubeApiError, retryAfterOf } from './errors.ts';
import type { ResourceType } from './resources.ts';
import { collectionPath } from './resources.ts';

export interface InformerTiming {
  /** Server-side watch timeout; each watch asks for a value in [t, 1.25t). */
  watchTimeoutSeconds: number;
  /** Abort a watch that delivered nothing for this long. */
  stallTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Client-side timeout of each list page. */
  listTimeoutMs: number;
  /**
   * Objects per list page. client-go's pager asks for 500: a page is parsed whole, and a restart lists every kind of
   * every member at once, so the page bounds the memory a restart needs on top of the caches (5,000 objects with
   * managedFields are ~10 MB of JSON and several times that parsed, per list in flight).
   */
  pageSize: number;
}

export const DEFAULT_TIMING: InformerTiming = {
  watchTimeoutSeconds: 240,
  stallTimeoutMs: 120_000,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  listTimeoutMs: 30_000,
  pageSize: 500,
};

export type InformerEvent =
  | { type: 'upsert'; object: KubeObject; old?: KubeObject }
  | { type: 'delete'; object: KubeObject }
  /** Health or sync state changed (listed, failed, recovered). */
  | { type: 'state' };

export interface InformerOptions {
  client: KubeClient;
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  clock: Clock;
  jitter: Jitter;
  timing?: Partial<InformerTiming>;
  onEvent?: (ev: InformerEvent) => void;
  /**
   * Applied to every object before it is cached (listed, watched, or observed from our own writes), e.g. to keep
   * only the fields a large cache needs. Must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (o: KubeObject) => KubeObject;
  /**
   * Applied to a cache key (`namespace/name`) before it is stored: an interner shared between informers of several
   * clusters makes a key they all hold one string.
   */
  intern?: (key: string) => string;
  /** Diagnostics (stalls, relists, errors). Never receives credentials. */
  /** Called with every failed list or watch (before the backoff), e.g. to notice a kind that is no longer served. */
  onError?: (e: unknown) => void;
  onLog?: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
}

export interface InformerCounters {
  lists: number;
  watches: number;
  stalls: number;
  gone: number;
  errors: number;
}

// Joined, not concatenated: a flat string (a concatenation is a tree of parts), kept once per cached object.
const keyOf = (o: KubeObject): string => [o.metadata.namespace ?? '', o.metadata.name].join('/');

/** Compares resourceVersions when both are integers (true of every real API server); otherwise says "newer". */
export function isNewer(candidate: string | undefined, current: string | undefined): boolean {
  if (candidate === undefined || current === undefined) return true;
  const a = Number(candidate);
  const b = Number(current);
  if (Number.isSafeInteger(a) && Number.isSafeInteger(b)) return a > b;
  return candidate !== current;
}

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private rv: string | undefined;
  private running = false;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly timing: InformerTiming;
  private _synced = false;
  private _healthy = false;
  private _lastError: string | undefined;
  readonly counters: InformerCounters = { lists: 0, watches: 0, stalls: 0, gone: 0, errors: 0 };
  /** Bumped on every cache mutation (for callers that derive data from the cache). */
  version = 0;
  private syncWaiters: (() => void)[] = [];

  constructor(private readonly o: InformerOptions) {
    this.timing = { ...DEFAULT_TIMING, ...o.timing };
  }

  get type(): ResourceType {
    return this.o.type;
  }
  /** A complete list has been received since start. */
  get synced(): boolean {
    return this._synced;
  }
  /** The last list or watch attempt did not fail. */
  get healthy(): boolean {
    return this._healthy;
  }
  get lastError(): string | undefined {
    return this._lastError;
  }

  private keyFor(o: KubeObject): string {
    const k = keyOf(o);
    return this.o.intern ? this.o.intern(k) : k;
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }
  get size(): number {
    return this.cache.size;
  }

  /** Records an object returned by our own write so that its watch event is not mistaken for a change. */
  observe(o: KubeObject): void {
    if (this.o.transform) o = this.o.transform(o);
    const cur = this.cache.get(keyOf(o));
    if (!cur || isNewer(o.metadata.resourceVersion, cur.metadata.resourceVersion) || o.metadata.resourceVersion === cur.metadata.resourceVersion) {
      this.cache.set(this.keyFor(o), o);
      this.version++;
    }
  }
  /** Records our own successful delete. */
  observeDeleted(namespace: string | undefined, name: string): void {
    if (this.cache.delete(`${namespace ?? ''}/${name}`)) this.version++;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Resolves once synced (or stopped). */
  waitSynced(): Promise<void> {
    if (this._synced || !this.running) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  private emit(ev: InformerEvent): void {
    if (ev.type !== 'state') this.version++;
    this.o.onEvent?.(ev);
  }

  private setState(healthy: boolean, error?: string): void {
    const changed = healthy !== this._healthy || error !== this._lastError;
    this._healthy = healthy;
    this._lastError = error;
    if (changed) this.emit({ type: 'state' });
  }

  private selectors(): Record<string, string | undefined> {
    return { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector };
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let goneInARow = 0;
    while (this.running) {
      try {
        if (this.rv === undefined) await this.relist();
        const progressed = await this.watchOnce();
        if (progressed) attempt = 0;
        goneInARow = 0;
        this.setState(true);
      } catch (e) {
        if (!this.running) break;
        if (isKubeApiError(e) && e.gone) {
          this.counters.gone++;
          this.o.onLog?.('info', 'watch expired (410); re-listing', { resource: this.o.type.plural });
          this.rv = undefined;
          // Re-list at once the first time; back off if the server keeps answering 410.
          if (++goneInARow > 1) await sleep(this.o.clock, backoffDelay(goneInARow - 1, this.timing.backoffBaseMs, this.timing.backoffMaxMs, this.o.jitter), this.abort.signal);
          continue;
        }
        this.counters.errors++;
        attempt++;
        this.o.onError?.(e);
        const msg = describeError(e);
        this.setState(false, msg);
        // Never sooner than the server asked (429/503 Retry-After).
        const delay = Math.max(backoffDelay(attempt, this.timing.backoffBaseMs, this.timing.backoffMaxMs, this.o.jitter), retryAfterOf(e));
        this.o.onLog?.('warn', 'list/watch failed; retrying', { resource: this.o.type.plural, error: msg, retryInMs: Math.round(delay) });
        await sleep(this.o.clock, delay, this.abort.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    this.counters.lists++;
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = (await this.o.client.request({
        method: 'GET',
        path: collectionPath(this.o.type, this.o.namespace),
        query: { ...this.selectors(), limit: this.timing.pageSize, continue: cont },
        timeoutMs: this.timing.listTimeoutMs,
        signal: this.abort.signal,
      })) as { items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } };
      const apiVersion = this.o.type.group ? `${this.o.type.group}/${this.o.type.version}` : this.o.type.version;
      const transform = this.o.transform;
      for (const it of page.items ?? []) {
        const o = { ...it, apiVersion: it.apiVersion ?? apiVersion, kind: it.kind ?? this.o.type.kind };
        items.push(transform ? transform(o) : o);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion;
    } while (cont);
    // Replace the cache, reporting what changed while we were not watching.
    const seen = new Set<string>();
    for (const o of items) {
      const k = this.keyFor(o);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, o);
      if (!old || old.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit({ type: 'upsert', object: o, old });
    }
    for (const [k, o] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.emit({ type: 'delete', object: o });
      }
    }
    this.rv = rv;
    const first = !this._synced;
    this._synced = true;
    this.setState(true);
    if (first) {
      this.emit({ type: 'state' });
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** One watch request. Returns whether any event arrived; throws on failure (410 as a gone KubeApiError). */
  private async watchOnce(): Promise<boolean> {
    this.counters.watches++;
    const ctl = new AbortController();
    const onStop = (): void => ctl.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    let stalled = false;
    let timer = this.o.clock.setTimer(this.timing.stallTimeoutMs, () => undefined);
    const arm = (): void => {
      timer.cancel();
      timer = this.o.clock.setTimer(this.timing.stallTimeoutMs, () => {
        stalled = true;
        ctl.abort();
      });
    };
    arm();
    let events = 0;
    const timeout = Math.max(1, Math.round(this.o.jitter(this.timing.watchTimeoutSeconds * 1000) / 1000));
    try {
      await this.o.client.watch(
        collectionPath(this.o.type, this.o.namespace),
        { ...this.selectors(), resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds: timeout },
        (ev) => {
          events++;
          this.handle(ev);
        },
        { signal: ctl.signal, onActivity: arm, onOpen: () => this.setState(true) },
      );
      return events > 0;
    } catch (e) {
      if (stalled && this.running) {
        this.counters.stalls++;
        this.o.onLog?.('warn', 'watch stalled (nothing received); reconnecting', { resource: this.o.type.plural, stallTimeoutMs: this.timing.stallTimeoutMs });
        return false; // reconnect immediately from the last resourceVersion
      }
      throw e;
    } finally {
      timer.cancel();
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private handle(ev: WatchEvent): void {
    const obj = ev.object as unknown as KubeObject;
    if (ev.type === 'ERROR') {
      const st = ev.object as { code?: number; reason?: string; message?: string };
      throw new KubeApiError({ status: st.code ?? 500, reason: st.reason, message: st.message ?? 'watch error', verb: 'WATCH', path: collectionPath(this.o.type, this.o.namespace) });
    }
    const rv = obj?.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    if (!obj?.metadata?.name) return;
    if (rv) this.rv = rv;
    const transform = this.o.transform;
    const k = this.keyFor(obj);
    const old = this.cache.get(k);
    if (ev.type === 'DELETED') {
      if (old && !isNewer(rv, old.metadata.resourceVersion) && rv !== old.metadata.resourceVersion) return;
      if (this.cache.delete(k)) this.emit({ type: 'delete', object: old ?? (transform ? transform(obj) : obj) });
      return;
    }
    if (old && old.metadata.resourceVersion === rv) return; // our own write, already observed
    if (old && !isNewer(rv, old.metadata.resourceVersion)) return;
    const cached = transform ? transform(obj) : obj;
    this.cache.set(k, cached);
    this.emit({ type: 'upsert', object: cached, old });
  }
}
