/**
 * The one pipeline behind `render`, `validate`, `simulate` and the controller: documents -> snapshot ->
 * per-service checks -> plans -> mesh-wide checks -> translation -> objects per cluster. Validation is this same
 * run with the objects thrown away, so the two can never disagree. Pure: no I/O.
 */
import type { KubeObject } from '../api/types.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/types.ts';
import { Reporter, cmp } from '../analyze/messages.ts';
import { objectRef } from '../model/naming.ts';
import { globalHostOf } from '../analyze/checks/hostname.ts';
import type { Message } from '../analyze/messages.ts';
import { buildSnapshot } from '../analyze/snapshot.ts';
import type { SnapshotCache, SourcedDocument } from '../analyze/snapshot.ts';
import type { RenderPolicy, Snapshot } from '../model/snapshot.ts';
import { DEFAULT_POLICY } from '../model/snapshot.ts';
import { resolveContext } from '../model/context.ts';
import type { FailoverContext } from '../model/context.ts';
import { CHECKS } from '../analyze/checks/index.ts';
import { checkMesh } from '../analyze/mesh.ts';
import { translatePlan } from '../translate/index.ts';
import { buildPlan } from '../model/plan.ts';
import type { FailoverPlan } from '../model/plan.ts';

export interface RenderResult {
  /** Objects per target cluster, every valid MeshCluster present (possibly with none). Sorted. */
  clusters: Record<string, KubeObject[]>;
  messages: Message[];
}

export interface ServiceOutcome {
  ref: string;
  namespace: string;
  name: string;
  accepted: boolean;
  /** Per cluster: what it does for this service and the tiers its clients use. Empty when not accepted. */
  clusters: { name: string; roles: ('client' | 'receiver')[]; failoverOrder: string[] }[];
  globalHost?: string;
  address?: string;
}

export interface DetailedRenderResult extends RenderResult {
  services: ServiceOutcome[];
  snapshot: Snapshot;
  /**
   * Per cluster (every cluster of `clusters`, same order), the objects of each accepted service, oldest service
   * first. The same objects as `clusters`, grouped by owner; `clusters` is sorted from these on first access.
   */
  blocks: ReadonlyMap<string, readonly RenderBlock[]>;
}

const KIND_ORDER: Record<string, number> = { ServiceEntry: 0, DestinationRule: 1, EnvoyFilter: 2, Gateway: 3, VirtualService: 4 };
const KIND_COUNT = 5;
/** `NN\0Kind\0`: the start of a sort key, per kind (other kinds sort after ours, as 99). */
const KEY_PREFIX = new Map(Object.entries(KIND_ORDER).map(([kind, n]) => [kind, `${String(n).padStart(2, '0')}\u0000${kind}\u0000`]));

function sortKey(o: KubeObject): string {
  const prefix = KEY_PREFIX.get(o.kind) ?? `99\u0000${o.kind}\u0000`;
  return `${prefix}${o.metadata.namespace ?? ''}\u0000${o.metadata.name}`;
}

export function compareObjects(a: KubeObject, b: KubeObject): number {
  return (
    (KIND_ORDER[a.kind] ?? 99) - (KIND_ORDER[b.kind] ?? 99) ||
    cmp(a.kind, b.kind) ||
    cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    cmp(a.metadata.name, b.metadata.name)
  );
}

/** A `{value, source?}` pair, as opposed to a raw document (which always has apiVersion/kind at the top). */
function isSourced(d: unknown): d is SourcedDocument {
  if (typeof d !== 'object' || d === null || !('value' in d)) return false;
  for (const k in d) if (k !== 'value' && k !== 'source') return false;
  return true;
}

function asSourced(docs: readonly unknown[] | readonly SourcedDocument[]): SourcedDocument[] {
  return docs.map((d) => (isSourced(d) ? d : { value: d }));
}

/** The objects one accepted FailoverService writes into one cluster. */
export interface RenderBlock {
  /** `FailoverService/<namespace>/<name>`. */
  ref: string;
  /**
   * In translation order. With a RenderCache, a service whose inputs did not change yields the very same array
   * (and objects) as in the previous render, so callers can skip it by identity.
   */
  objects: readonly KubeObject[];
}

interface ServiceMemo {
  /** Fingerprints of everything the service's checks and plan read. */
  key: readonly string[];
  messages: Message[];
  plan?: FailoverPlan;
}

/** One plan's objects in one cluster, with their sort keys (kind order, kind, namespace, name). */
interface Translated {
  objects: KubeObject[];
  keys: string[];
}

interface TranslationMemo {
  plan: FailoverPlan;
  address: string;
  perCluster: Map<string, Translated>;
  /** The service's outcome, built from this very plan (shared between renders like the objects). */
  outcome?: ServiceOutcome;
}

/**
 * Lets repeated renders of a slowly changing snapshot (the controller's reconciles) reuse work: schema checks per
 * input document, per-service checks and plans keyed by the fingerprints of what they read, and translations per
 * (plan, address). A service whose inputs did not change yields the very same output objects (and block arrays) as
 * last time, so a caller can compare by identity. Mesh-wide checks and conflicts are always recomputed, so a cached
 * render is exactly a fresh one. Output objects are shared between renders: treat them as read-only.
 */
export class RenderCache {
  readonly snapshot: SnapshotCache = { docs: new WeakMap() };
  readonly services = new Map<string, ServiceMemo>();
  readonly translations = new Map<string, TranslationMemo>();
  readonly claims = new Claims();
  /**
   * The last render made with this cache: its documents (by identity), policy and result. A render of the very same
   * documents with the same policy is that result again (a render is a pure function of them, and documents are
   * never modified in place): a reconcile woken by anything but an input change (a member's watch event, a resync,
   * a status echo) pays a pass over the document list instead of a render.
   */
  last: { docs: readonly unknown[]; policy: string; result: DetailedRenderResult } | undefined;
}

function sameDocuments(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Which services' translations claim which object keys, per cluster, kept up to date by difference: a render that
 * reuses it re-claims only the services whose translation changed. `contested` lists the keys claimed more than once.
 */
class Claims {
  private readonly by = new Map<string, Map<string, Translated>>();
  private readonly keys = new Map<string, Map<string, string | string[]>>();
  readonly contested = new Map<string, Set<string>>();

  /** Makes the claims those of exactly these services' translations. */
  update(current: readonly (readonly [string, Map<string, Translated>])[]): void {
    const present = new Set(current.map(([ref]) => ref));
    for (const [ref, old] of this.by) {
      if (present.has(ref)) continue;
      this.release(ref, old);
      this.by.delete(ref);
    }
    for (const [ref, perCluster] of current) {
      const old = this.by.get(ref);
      if (old === perCluster) continue;
      if (old) this.release(ref, old);
      this.claim(ref, perCluster);
      this.by.set(ref, perCluster);
    }
  }

  clusters(): IterableIterator<string> {
    return this.keys.keys();
  }

  claimants(cluster: string, key: string): readonly string[] | undefined {
    const c = this.keys.get(cluster)?.get(key);
    return c === undefined ? undefined : typeof c === 'string' ? [c] : c;
  }

  private claim(ref: string, perCluster: Map<string, Translated>): void {
    for (const [cluster, t] of perCluster) {
      let owned = this.keys.get(cluster);
      if (!owned) this.keys.set(cluster, (owned = new Map()));
      for (const k of t.keys) {
        const prior = owned.get(k);
        if (prior === undefined) owned.set(k, ref);
        else {
          const list = typeof prior === 'string' ? [prior] : prior;
          if (!list.includes(ref)) list.push(ref);
          owned.set(k, list);
          if (list.length > 1) {
            let c = this.contested.get(cluster);
            if (!c) this.contested.set(cluster, (c = new Set()));
            c.add(k);
          }
        }
      }
    }
  }

  private release(ref: string, perCluster: Map<string, Translated>): void {
    for (const [cluster, t] of perCluster) {
      const owned = this.keys.get(cluster);
      if (!owned) continue;
      for (const k of t.keys) {
        const prior = owned.get(k);
        if (prior === ref) owned.delete(k);
        else if (Array.isArray(prior)) {
          const rest = prior.filter((r) => r !== ref);
          if (rest.length === 0) owned.delete(k);
          else owned.set(k, rest.length === 1 ? (rest[0] as string) : rest);
          if (rest.length <= 1) {
            const c = this.contested.get(cluster);
            c?.delete(k);
            if (c?.size === 0) this.contested.delete(cluster);
          }
        }
      }
      if (owned.size === 0) this.keys.delete(cluster);
    }
  }
}

/**
 * Fingerprints of everything a service's checks read: the service, each listed workload and its cluster. The
 * snapshot cache hands out the same fingerprint strings while documents are unchanged, so comparing is cheap.
 */
function dependencyKey(ctx: FailoverContext, meshKey: () => string): string[] {
  const fp = ctx.snapshot.fingerprints;
  const parts = [fp.get(ctx.fs) ?? ''];
  const own = ctx.fs.metadata.namespace ?? 'default';
  const others = new Set<string>();
  for (const w of ctx.listed) {
    const [ns, name] = w.key.split('/') as [string, string];
    parts.push(w.workload ? (fp.get(w.workload) ?? '') : ctx.snapshot.rejected.has(objectRef('MeshWorkload', name, ns)) ? '!rejected' : '!missing');
    if (!w.workload) {
      // A missing `<service>-<cluster>` may leave a client-only cluster (clientOnlyClusters): every cluster its name
      // could end in is read.
      for (let i = name.indexOf('-'); i >= 0; i = name.indexOf('-', i + 1)) {
        const c = ctx.snapshot.clusters.get(name.slice(i + 1));
        parts.push(c ? (fp.get(c) ?? '') : '-');
      }
    }
    if (w.workload) parts.push(w.cluster ? (fp.get(w.cluster) ?? '') : ctx.snapshot.rejected.has(objectRef('MeshCluster', w.clusterName ?? '')) ? '!rejected' : '!missing');
    if (ns !== own) others.add(ns);
    const sns = w.workload?.spec.service.namespace;
    if (sns !== undefined && sns !== own) others.add(sns);
  }
  // The tenancy check reads the grants of every other namespace used; the hostname check, the mesh's cluster
  // domains and the render's host suffixes.
  for (const ns of [...others].sort()) parts.push(`grants:${ns}:${JSON.stringify((ctx.snapshot.grants?.get(ns) ?? []).map((g) => g.spec))}`);
  if (ctx.fs.spec.hostname !== undefined) parts.push(meshKey());
  // And whether the global host is one of the mesh's own ServiceEntry hosts (and whose).
  const foreign = ctx.snapshot.policy?.foreignHosts;
  if (foreign && foreign.size > 0) {
    const host = globalHostOf(ctx);
    parts.push(`foreign:${host !== undefined ? (foreign.get(host) ?? '') : ''}`);
  }
  return parts;
}

function sameKey(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Hosts of ServiceEntries in the input that Spillway did not write (no `app.kubernetes.io/managed-by: spillway`
 * label): `kubectl get serviceentries -A -o yaml` of a member, passed to render or validate with the inputs.
 */
function serviceEntryHosts(docs: readonly SourcedDocument[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { value } of docs) {
    if (typeof value !== 'object' || value === null) continue;
    const o = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, unknown> }; spec?: { hosts?: unknown } };
    if (o.kind !== 'ServiceEntry' || typeof o.apiVersion !== 'string' || !o.apiVersion.startsWith('networking.istio.io/')) continue;
    if (o.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE) continue;
    if (!Array.isArray(o.spec?.hosts)) continue;
    for (const h of o.spec.hosts) {
      if (typeof h !== 'string') continue;
      const host = h.toLowerCase().replace(/\.$/, '');
      if (!out.has(host)) out.set(host, `ServiceEntry ${String(o.metadata?.namespace ?? 'default')}/${String(o.metadata?.name ?? '?')} in the input`);
    }
  }
  return out;
}

/** Renders documents (raw objects, or `{value, source}` pairs) into Istio objects per cluster, with messages. */
export function render(docs: readonly unknown[] | readonly SourcedDocument[], policy?: Partial<RenderPolicy>): RenderResult {
  const { clusters, messages } = renderDetailed(docs, undefined, policy);
  return { clusters, messages };
}

export function renderDetailed(docs: readonly unknown[] | readonly SourcedDocument[], cache?: RenderCache, policy?: Partial<RenderPolicy>): DetailedRenderResult {
  if (!cache) return renderFresh(docs, undefined, policy);
  // Maps (foreign hosts) by their entries: JSON would write every Map as {}.
  const policyKey = JSON.stringify(policy ?? {}, (_k, v: unknown) => (v instanceof Map ? { map: [...(v as Map<unknown, unknown>)] } : v instanceof Set ? { set: [...(v as Set<unknown>)] } : v));
  const last = cache.last;
  if (last && last.policy === policyKey && sameDocuments(last.docs, docs)) return last.result;
  cache.last = undefined; // a render that throws leaves nothing to reuse
  const result = renderFresh(docs, cache, policy);
  cache.last = { docs: [...docs], policy: policyKey, result };
  return result;
}

/** Snapshot, per-service checks and plans, mesh-wide checks: the plans that survive, oldest first. */
function planAll(docs: readonly unknown[] | readonly SourcedDocument[], cache: RenderCache | undefined, policy: Partial<RenderPolicy> | undefined): { reporter: Reporter; snapshot: Snapshot; survivors: FailoverPlan[] } {
  const reporter = new Reporter();
  const sourced = asSourced(docs);
  const snapshot = buildSnapshot(sourced, reporter, cache?.snapshot);
  snapshot.policy = { ...DEFAULT_POLICY, ...policy };
  const inputHosts = serviceEntryHosts(sourced);
  if (inputHosts.size > 0) snapshot.policy.foreignHosts = new Map([...(policy?.foreignHosts ?? []), ...inputHosts]);
  let meshKeyMemo: string | undefined;
  const meshKey = (): string =>
    (meshKeyMemo ??= `mesh:${[...new Set([...snapshot.clusters.values()].map((c) => c.spec.clusterDomain ?? ''))].sort().join(',')}:${(snapshot.policy?.hostSuffixes ?? []).join(',')}`);

  const plans: FailoverPlan[] = [];
  const seen = new Set<string>();
  for (const fs of snapshot.services) {
    const ctx = resolveContext(fs, snapshot);
    seen.add(ctx.ref);
    const key = cache ? dependencyKey(ctx, meshKey) : [];
    const memo = cache?.services.get(ctx.ref);
    if (memo && sameKey(memo.key, key)) {
      reporter.replay(memo.messages);
      if (memo.plan) plans.push(memo.plan);
      continue;
    }
    const before = reporter.messages.length;
    for (const check of CHECKS) check.run(ctx, reporter);
    const plan = reporter.hasErrors(ctx.ref) ? undefined : buildPlan(ctx);
    if (plan) plans.push(plan);
    cache?.services.set(ctx.ref, { key, messages: reporter.messages.slice(before), ...(plan ? { plan } : {}) });
  }
  if (cache) {
    for (const ref of cache.services.keys()) if (!seen.has(ref)) cache.services.delete(ref);
    for (const ref of cache.translations.keys()) if (!seen.has(ref)) cache.translations.delete(ref);
  }
  const survivors = checkMesh(plans, reporter);
  return { reporter, snapshot, survivors };
}

function renderFresh(docs: readonly unknown[] | readonly SourcedDocument[], cache: RenderCache | undefined, policy: Partial<RenderPolicy> | undefined): DetailedRenderResult {
  const { reporter, snapshot, survivors } = planAll(docs, cache, policy);

  // Translate every plan. Two plans writing the same object claim the same key in a cluster; the newer plan is
  // rejected whole (oldest first, so a rejected plan frees its claims).
  const translations = survivors.map((plan) => translated(plan, cache));
  // Per cluster, the plans (survivor indexes, ascending) claiming each key claimed more than once.
  const contested: Contested[] = [];
  let clusterNames: string[];
  // Without a cache (one-shot renders: the CLI), every cluster's objects are sorted once here, by key then plan:
  // keys claimed twice are neighbours, and the output is that order without the rejected plans' objects. With a
  // cache (the controller), claims are kept up to date by difference and the output is sorted on first use.
  let sortedAll: Map<string, SortEntry[]> | undefined;
  if (cache) {
    const claims = cache.claims;
    claims.update(survivors.map((plan, p) => [plan.ref, translations[p] as Map<string, Translated>]));
    const index = new Map(survivors.map((plan, p) => [plan.ref, p]));
    for (const [cluster, keys] of claims.contested) {
      for (const key of keys) {
        const ps = (claims.claimants(cluster, key) as string[]).map((ref) => index.get(ref) as number).sort((a, b) => a - b);
        contested.push({ cluster, key, ps });
      }
    }
    clusterNames = [...new Set([...snapshot.clusters.keys(), ...claims.clusters()])].sort(cmp);
  } else {
    sortedAll = sortByKey(translations);
    for (const [cluster, entries] of sortedAll) contestedIn(cluster, entries, contested);
    clusterNames = [...new Set([...snapshot.clusters.keys(), ...sortedAll.keys()])].sort(cmp);
  }
  const rejected = resolveConflicts(contested, survivors, (p, cluster, key) => {
    const t = translations[p]?.get(cluster) as Translated;
    return t.objects[t.keys.indexOf(key)] as KubeObject;
  }, reporter);
  const accepted = new Map<string, FailoverPlan>();
  const blocks = new Map<string, RenderBlock[]>();
  for (const name of clusterNames) blocks.set(name, []);
  survivors.forEach((plan, p) => {
    if (rejected.has(p)) return;
    accepted.set(plan.ref, plan);
    for (const [cluster, t] of translations[p] as Map<string, Translated>) (blocks.get(cluster) as RenderBlock[]).push({ ref: plan.ref, objects: t.objects });
  });

  // The flat, sorted output per cluster is built on first use: the controller plans from the blocks instead.
  let flat: Record<string, KubeObject[]> | undefined;
  const sortedClusters = (): Record<string, KubeObject[]> => {
    if (flat) return flat;
    const sorted = sortedAll ?? sortByKey(translations);
    sortedAll = undefined;
    flat = {};
    for (const name of clusterNames) {
      const entries = sorted.get(name) ?? [];
      const objs: KubeObject[] = [];
      for (const e of entries) if (rejected.size === 0 || !rejected.has(e.p)) objs.push(e.o);
      flat[name] = objs;
    }
    return flat;
  };

  const services = snapshot.services.map((fs): ServiceOutcome => {
    const ref = `FailoverService/${fs.metadata.namespace ?? 'default'}/${fs.metadata.name}`;
    const plan = accepted.get(ref);
    const base = { ref, namespace: fs.metadata.namespace ?? 'default', name: fs.metadata.name };
    if (!plan) return { ...base, accepted: false, clusters: [] };
    const memo = cache?.translations.get(ref);
    if (memo?.outcome && memo.plan === plan) return memo.outcome;
    const outcome: ServiceOutcome = {
      ...base,
      accepted: true,
      globalHost: plan.globalHost,
      address: plan.address,
      clusters: [
        ...plan.clients.map((c) => ({
          name: c.local.clusterName,
          roles: ['client', 'receiver'] as ('client' | 'receiver')[],
          failoverOrder: [c.local.clusterName, ...c.remotes.map((r) => r.target.clusterName)],
        })),
        // A client-only cluster: its clients' failover order has no local tier.
        ...plan.clientOnly.map((c) => ({ name: c.local.clusterName, roles: ['client'] as ('client' | 'receiver')[], failoverOrder: c.remotes.map((r) => r.target.clusterName) })),
      ],
    };
    if (memo?.plan === plan) memo.outcome = outcome;
    return outcome;
  });

  return {
    get clusters() {
      return sortedClusters();
    },
    messages: reporter.sorted(),
    services,
    snapshot,
    blocks,
  };
}

interface Clash {
  cluster: string;
  key: string;
  older: number;
  /** The newer plan. */
  p: number;
}

interface Contested {
  cluster: string;
  key: string;
  /** Survivor indexes of the plans claiming the key, ascending. */
  ps: number[];
}

/** Keys claimed by more than one plan in one cluster's entries, sorted by key then plan. */
function contestedIn(cluster: string, entries: readonly SortEntry<unknown>[], out: Contested[]): void {
  for (let i = 0; i + 1 < entries.length; i++) {
    const k = (entries[i] as SortEntry<unknown>).k;
    if ((entries[i + 1] as SortEntry<unknown>).k !== k) continue;
    const ps = [(entries[i] as SortEntry<unknown>).p];
    for (; i + 1 < entries.length && (entries[i + 1] as SortEntry<unknown>).k === k; i++) {
      const p = (entries[i + 1] as SortEntry<unknown>).p;
      if (p !== ps[ps.length - 1]) ps.push(p);
    }
    if (ps.length > 1) out.push({ cluster, key: k, ps });
  }
}

/**
 * Two plans writing the same object: the newer is rejected whole, oldest first, so a rejected plan frees its
 * claims. Reports each rejection (the clash reported does not depend on map order); returns the rejected indexes.
 */
function resolveConflicts(contested: readonly Contested[], survivors: readonly FailoverPlan[], objectOf: (p: number, cluster: string, key: string) => KubeObject, reporter: Reporter): Set<number> {
  const clashes = new Map<number, Clash[]>();
  for (const { cluster, key, ps } of contested) {
    for (let j = 1; j < ps.length; j++) {
      const p = ps[j] as number;
      const list = clashes.get(p) ?? [];
      for (let i = 0; i < j; i++) list.push({ cluster, key, older: ps[i] as number, p });
      clashes.set(p, list);
    }
  }
  const rejected = new Set<number>();
  for (const p of [...clashes.keys()].sort((a, b) => a - b)) {
    // In cluster, key and (newest older plan first) order.
    const list = (clashes.get(p) as Clash[]).sort((a, b) => cmp(a.cluster, b.cluster) || cmp(a.key, b.key) || b.older - a.older);
    const hit = list.find((c) => !rejected.has(c.older));
    if (!hit) continue;
    rejected.add(p);
    const object = objectOf(p, hit.cluster, hit.key);
    reporter.report('SPW122', (survivors[p] as FailoverPlan).ref, { kind: object.kind, namespace: String(object.metadata.namespace), name: object.metadata.name, cluster: hit.cluster, owner: (survivors[hit.older] as FailoverPlan).ref });
  }
  return rejected;
}


interface SortEntry<T = KubeObject> {
  k: string;
  o: T;
  /** The survivor index of the plan that wrote it. */
  p: number;
}

/** Gathers entries kind by kind (in the order added), then sorts them into output order: by key, then by plan. */
class EntrySorter<T = KubeObject> {
  private readonly buckets: SortEntry<T>[][] = [];

  /** `kind`: the kind of the object `o` is (or was made from). */
  add(k: string, o: T, p: number, kind: string): void {
    (this.buckets[KIND_ORDER[kind] ?? KIND_COUNT] ??= []).push({ k, o, p });
  }

  /**
   * Added plan by plan (plans are mostly in namespace/name order), each kind's entries are long sorted runs,
   * which the sort merges cheaply.
   */
  sorted(): SortEntry<T>[] {
    const entries: SortEntry<T>[] = [];
    for (const b of this.buckets) if (b) for (const e of b) entries.push(e);
    return entries.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.p - b.p));
  }
}

/** Every cluster's objects in output order. */
function sortByKey(translations: readonly Map<string, Translated>[]): Map<string, SortEntry[]> {
  const byCluster = new Map<string, EntrySorter>();
  translations.forEach((perCluster, p) => {
    for (const [cluster, t] of perCluster) {
      let sorter = byCluster.get(cluster);
      if (!sorter) byCluster.set(cluster, (sorter = new EntrySorter()));
      for (let i = 0; i < t.keys.length; i++) sorter.add(t.keys[i] as string, t.objects[i] as KubeObject, p, (t.objects[i] as KubeObject).kind);
    }
  });
  return new Map([...byCluster].map(([cluster, sorter]) => [cluster, sorter.sorted()]));
}

/** A one-shot render taken cluster by cluster: see `renderByCluster`. */
export interface ClusterRender {
  /** Every valid MeshCluster and every cluster a service writes to, sorted: the keys of `render().clusters`. */
  clusterNames: readonly string[];
  messages: Message[];
  /** The cluster's objects: exactly `render().clusters[cluster]`, translated anew (nothing is kept between calls). */
  objects(cluster: string): KubeObject[];
  /**
   * `objects(cluster).map(serialize)`, with each object serialized as soon as it is translated and dropped: only
   * the serialized forms are held until the cluster is sorted, so a large render's objects die young (cheap for
   * the garbage collector) instead of all living through the sort.
   */
  serialized<T>(cluster: string, serialize: (o: KubeObject) => T): T[];
  /** The cluster gets objects (an accepted service writes to it). */
  hasObjects(cluster: string): boolean;
}

/**
 * The same render as `render`, for one-shot commands with large inputs: rather than holding every cluster's
 * objects at once (10k services over 5 clusters is 650,000 objects), it translates the plans one cluster at a time,
 * first to find objects two services would both write (so the conflicts, and the messages, are known before any
 * output) and each cluster's output order, then again for each cluster that is asked for. Memory stays near one
 * cluster's objects (or their serialized forms: see `serialized`), at the price of translating twice.
 */
export function renderByCluster(docs: readonly unknown[] | readonly SourcedDocument[], policy?: Partial<RenderPolicy>): ClusterRender {
  const { reporter, snapshot, survivors } = planAll(docs, undefined, policy);
  const names = new Set(snapshot.clusters.keys());
  for (const plan of survivors) {
    for (const t of plan.targets) names.add(t.clusterName);
    for (const c of plan.clientOnly) names.add(c.local.clusterName);
  }
  const clusterNames = [...names].sort(cmp);
  const writes = (plan: FailoverPlan, cluster: string): boolean => plan.targets.some((t) => t.clusterName === cluster) || plan.clientOnly.some((c) => c.local.clusterName === cluster);
  // First pass, a cluster at a time, from outlines (no labels or owner digests) dropped at once: the output order
  // of the cluster's objects, as (plan, index in the plan's translation) pairs, and the keys more than one plan
  // claims. Only the order is kept (8 bytes an object); the second pass needs neither keys nor a sort.
  const contested: Contested[] = [];
  const orders = new Map<string, Int32Array>();
  for (const cluster of clusterNames) {
    const sorter = new EntrySorter<number>();
    survivors.forEach((plan, p) => {
      if (!writes(plan, cluster)) return;
      const objs = translatePlan(plan, cluster, true).get(cluster) ?? [];
      for (let i = 0; i < objs.length; i++) sorter.add(sortKey(objs[i] as KubeObject), i, p, (objs[i] as KubeObject).kind);
    });
    // Sorted by key, then plan, then translation order (the sort is stable): the conflicts do not depend on map order.
    const entries = sorter.sorted();
    contestedIn(cluster, entries, contested);
    const order = new Int32Array(2 * entries.length);
    for (let k = 0; k < entries.length; k++) {
      order[2 * k] = (entries[k] as SortEntry<number>).p;
      order[2 * k + 1] = (entries[k] as SortEntry<number>).o;
    }
    orders.set(cluster, order);
  }
  const rejected = resolveConflicts(contested, survivors, (p, cluster, key) => {
    const objs = translatePlan(survivors[p] as FailoverPlan, cluster).get(cluster) ?? [];
    return objs.find((o) => sortKey(o) === key) as KubeObject;
  }, reporter);
  // Second pass: each accepted plan's objects in translation order, serialized at once, then put in output order.
  const serialized = <T>(cluster: string, serialize: (o: KubeObject) => T): T[] => {
    const order = orders.get(cluster);
    if (!order) return [];
    const base = new Int32Array(survivors.length).fill(-1);
    const values: T[] = [];
    survivors.forEach((plan, p) => {
      if (rejected.has(p) || !writes(plan, cluster)) return;
      base[p] = values.length;
      for (const o of translatePlan(plan, cluster).get(cluster) ?? []) values.push(serialize(o));
    });
    const out: T[] = [];
    for (let k = 0; k < order.length; k += 2) {
      const b = base[order[k] as number] as number;
      if (b >= 0) out.push(values[b + (order[k + 1] as number)] as T);
    }
    return out;
  };
  return {
    clusterNames,
    messages: reporter.sorted(),
    hasObjects: (cluster) => survivors.some((plan, p) => !rejected.has(p) && writes(plan, cluster)),
    objects: (cluster) => serialized(cluster, (o) => o),
    serialized,
  };
}

/** The plan's objects per cluster with their sort keys, from the cache when the plan and its address are unchanged. */
function translated(plan: FailoverPlan, cache: RenderCache | undefined): Map<string, Translated> {
  const memo = cache?.translations.get(plan.ref);
  // checkMesh copies plans to set the address, so the cached plan is compared through what it was copied from.
  if (memo && memo.address === plan.address && sameBase(memo.plan, plan)) return memo.perCluster;
  const perCluster = new Map<string, Translated>();
  for (const [cluster, objs] of translatePlan(plan)) perCluster.set(cluster, { objects: objs, keys: objs.map(sortKey) });
  cache?.translations.set(plan.ref, { plan, address: plan.address, perCluster });
  return perCluster;
}

/** Two plans made by the same buildPlan call (checkMesh only adds the address): their parts are identical. */
function sameBase(a: FailoverPlan, b: FailoverPlan): boolean {
  return a.fs === b.fs && a.clients === b.clients && a.targets === b.targets;
}

export function hasErrors(messages: readonly Message[]): boolean {
  return messages.some((m) => m.level === 'error');
}
