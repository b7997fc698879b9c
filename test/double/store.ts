// Object storage for one simulated cluster: objects by key, a single global resourceVersion counter,
// a bounded event history for watch resumption, and live watch subscribers.
import type { JsonObject } from './json.ts';
import { clone, isObject } from './json.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  type: EventType;
  group: string;
  plural: string;
  namespace: string;
  object: JsonObject;
  /** The object before a MODIFIED event (for selector transitions). */
  prev?: JsonObject;
}

export interface Subscriber {
  group: string;
  plural: string;
  deliver(ev: StoredEvent): void;
}

export const objectKey = (group: string, plural: string, namespace: string, name: string): string => `${group}|${plural}|${namespace}|${name}`;

/**
 * Keys in the order a list serves them and `continue` resumes in: by `namespace/name`, byte for byte, as
 * kube-apiserver lists from storage keys `/registry/<resource>/<namespace>/<name>`. Sorting the store keys
 * themselves would put namespace `team10` before `team1` (`|` sorts after the digits, `/` before them), and a
 * page that ends in `team1` would then resume at `team10` again, for ever.
 */
function sortForListing(keys: Iterable<string>): string[] {
  const byListing = [...keys].map((k) => {
    const parts = k.split('|');
    return { k, at: `${parts[2]}/${parts[3]}` };
  });
  byListing.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return byListing.map((e) => e.k);
}

function meta(o: JsonObject): JsonObject {
  return isObject(o.metadata) ? o.metadata : {};
}

export class Store {
  private rv: number;
  private readonly objects = new Map<string, JsonObject>();
  /** Per `group|plural`: the objects' keys in listing order (`namespace/name`), rebuilt lazily after an add or remove. */
  private readonly byType = new Map<string, { keys: Set<string>; sorted: string[] | undefined }>();
  private history: StoredEvent[] = [];
  /** Watches from a resourceVersion below this are expired (410). */
  private compactedBelow: number;
  historyLimit: number;
  private readonly subscribers = new Set<Subscriber>();
  private readonly listeners = new Set<() => void>();

  constructor(historyLimit: number, startRV = 1000) {
    this.historyLimit = historyLimit;
    this.rv = startRV;
    this.compactedBelow = startRV;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get(group: string, plural: string, namespace: string, name: string): JsonObject | undefined {
    const o = this.objects.get(objectKey(group, plural, namespace, name));
    return o ? clone(o) : undefined;
  }

  /** Objects of a type in listing order (`namespace/name`); namespace undefined means all namespaces. */
  list(group: string, plural: string, namespace?: string): JsonObject[] {
    return this.listShared(group, plural, namespace).map((o) => clone(o));
  }

  /**
   * Like list, without copying: the stored objects themselves, which the caller must not modify (a list request
   * copies only the page it serves, so paging through a large collection costs the page, not the collection).
   */
  listShared(group: string, plural: string, namespace?: string): readonly JsonObject[] {
    const t = this.byType.get(`${group}|${plural}`);
    if (!t) return [];
    t.sorted ??= sortForListing(t.keys);
    const prefix = namespace === undefined ? '' : `${group}|${plural}|${namespace}|`;
    const out: JsonObject[] = [];
    for (const k of t.sorted) if (!prefix || k.startsWith(prefix)) out.push(this.objects.get(k)!);
    return out;
  }

  private index(group: string, plural: string, key: string, present: boolean): void {
    const tk = `${group}|${plural}`;
    let t = this.byType.get(tk);
    if (!t) this.byType.set(tk, (t = { keys: new Set(), sorted: undefined }));
    if (present === t.keys.has(key)) return;
    if (present) t.keys.add(key);
    else t.keys.delete(key);
    t.sorted = undefined;
  }

  /** Stores an object (assigning the next resourceVersion) and emits its event. Returns the stored copy. */
  put(type: 'ADDED' | 'MODIFIED', group: string, plural: string, o: JsonObject): JsonObject {
    const m = meta(o);
    const ns = typeof m.namespace === 'string' ? m.namespace : '';
    const name = String(m.name);
    const key = objectKey(group, plural, ns, name);
    const prev = this.objects.get(key);
    this.rv++;
    const stored = clone(o);
    (stored.metadata as JsonObject).resourceVersion = String(this.rv);
    this.objects.set(key, stored);
    if (!prev) this.index(group, plural, key, true);
    const ev: StoredEvent = { rv: this.rv, type, group, plural, namespace: ns, object: clone(stored) };
    if (prev) ev.prev = clone(prev);
    this.emit(ev);
    return clone(stored);
  }

  remove(group: string, plural: string, namespace: string, name: string): JsonObject | undefined {
    const key = objectKey(group, plural, namespace, name);
    const prev = this.objects.get(key);
    if (!prev) return undefined;
    this.objects.delete(key);
    this.index(group, plural, key, false);
    this.rv++;
    const gone = clone(prev);
    (gone.metadata as JsonObject).resourceVersion = String(this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', group, plural, namespace, object: clone(gone) });
    return gone;
  }

  private emit(ev: StoredEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historyLimit) {
      const drop = this.history.length - this.historyLimit;
      const dropped = this.history.splice(0, drop);
      this.compactedBelow = dropped[dropped.length - 1]!.rv;
    }
    for (const s of [...this.subscribers]) if (s.group === ev.group && s.plural === ev.plural) s.deliver(ev);
    for (const l of [...this.listeners]) l();
  }

  /** Calls `fn` after every change of any type (once stored). Returns a remover. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events of a type after `rv`, or 'expired' when history no longer reaches back that far. */
  eventsSince(rv: number, group: string, plural: string): StoredEvent[] | 'expired' {
    if (rv < this.compactedBelow) return 'expired';
    return this.history.filter((e) => e.rv > rv && e.group === group && e.plural === plural);
  }

  /**
   * Forgets all history: any watch from a resourceVersion handed out so far gets 410 Expired (the store's version
   * moves on by one, so even a watcher that saw the latest event or bookmark must re-list).
   */
  compact(): void {
    this.history = [];
    this.rv++;
    this.compactedBelow = this.rv;
  }

  get oldestResumableRV(): number {
    return this.compactedBelow;
  }

  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /** Every stored object, for namespace and CRD cascades. */
  all(): { group: string; plural: string; object: JsonObject }[] {
    return [...this.objects.entries()].map(([k, o]) => {
      const [group, plural] = k.split('|') as [string, string];
      return { group, plural, object: clone(o) };
    });
  }
}
