/**
 * The one pipeline behind `render`, `validate`, `simulate` and the controller: documents -> snapshot ->
 * per-service checks -> plans -> mesh-wide checks -> translation -> objects per cluster. Validation is this same
 * run with the objects thrown away, so the two can never disagree. Pure: no I/O.
 */
import type { FailoverService, KubeObject, MeshCluster, MeshWorkload, MeshWorkloadGrant } from '../api/types.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/types.ts';
import { Reporter, cmp, compareMessageObjects, compareMessages } from '../analyze/messages.ts';
import { objectRef } from '../model/naming.ts';
import { globalHostOf } from '../analyze/checks/hostname.ts';
import type { Message } from '../analyze/messages.ts';
import { buildSnapshot, byTimestamp } from '../analyze/snapshot.ts';
import type { SnapshotCache, SourcedDocument } from '../analyze/snapshot.ts';
import type { RenderPolicy, Snapshot } from '../model/snapshot.ts';
import { DEFAULT_POLICY } from '../model/snapshot.ts';
import { resolveContext } from '../model/context.ts';
import type { FailoverContext } from '../model/context.ts';
import { CHECKS } from '../analyze/checks/index.ts';
import { checkMesh, meshSignature, placed } from '../analyze/mesh.ts';
import { translateFor, translatePlan } from '../translate/index.ts';
import { buildPlan } from '../model/plan.ts';
import type { FailoverPlan } from '../model/plan.ts';
import { objectKey } from '../kube/resources.ts';
import { desiredHash } from './content-hash.ts';

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
  /** The refs of the services that exist and are not accepted, when the render kept them (renders with a cache). */
  notAccepted?: ReadonlySet<string>;
  /**
   * Set by a render made as the difference from an earlier one (`since`, a render with the same cache): every service
   * not in `refs` has the very same RenderBlock objects (in every cluster), ServiceOutcome and messages as in `since`, and
   * services came or went only if some are in `refs`. Absent: not known (compare everything). Dropped once the next
   * render is made with the same cache (so that renders do not keep each other alive): read it on the current render.
   */
  changes?: RenderChanges;
}

/** How a render made as a difference differs from the one it was made from. */
export interface RenderChanges {
  since: DetailedRenderResult;
  /** Services whose blocks, outcome or messages may differ from `since` (those that came or went included). */
  refs: ReadonlySet<string>;
  /**
   * Refs whose document was replaced by one that admits to the same content (a status written, say): nothing of
   * theirs in this render changed, but a reader of the documents themselves (status, metadata) sees a new object.
   */
  replaced: ReadonlySet<string>;
  /** The blocks per cluster of each ref in `refs` that is accepted now. */
  blocks: ReadonlyMap<string, ReadonlyMap<string, RenderBlock>>;
  /** Refs in `refs` that no longer exist. */
  gone: ReadonlySet<string>;
  /** A service's place in this render's order (oldest first): blocks in every cluster are in this order. */
  position(ref: string): number;
  /**
   * The document given to this render with this ref (`FailoverService/<ns>/<name>`; one not accepted too), undefined
   * when none: read while this render is the cache's last (the next render's documents are the cache's then).
   */
  document(ref: string): unknown;
}

const KIND_ORDER: Record<string, number> = { ServiceEntry: 0, DestinationRule: 1, EnvoyFilter: 2, Gateway: 3, VirtualService: 4 };
const KIND_COUNT = 5;
/** `NN\0Kind\0`: the start of a sort key, per kind (other kinds sort after ours, as 99). */
const KEY_PREFIX = new Map(Object.entries(KIND_ORDER).map(([kind, n]) => [kind, `${String(n).padStart(2, '0')}\u0000${kind}\u0000`]));

function sortKey(o: KubeObject): string {
  return identityKey(o.kind, o.metadata.namespace ?? '', o.metadata.name);
}

function identityKey(kind: string, namespace: string, name: string): string {
  const prefix = KEY_PREFIX.get(kind) ?? `99\u0000${kind}\u0000`;
  // Joined, not concatenated: a flat string (a concatenation is a tree of parts), kept per object by the cache.
  return [prefix, namespace, '\u0000', name].join('');
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

/**
 * The objects one accepted FailoverService writes into one cluster, compactly: their keys and content hashes are
 * kept, the objects themselves are translated again from the service's plan when asked for (`objects()`), so that a
 * controller holding the render of 10,000 services over five clusters does not hold 700,000 objects.
 */
export interface RenderBlock {
  /** `FailoverService/<namespace>/<name>`. */
  readonly ref: string;
  /**
   * objectKey of each object, in translation order. With a RenderCache, a service whose inputs did not change yields
   * the very same block (and so the same `keys` array) as in the previous render, so callers can skip it by identity.
   */
  readonly keys: readonly string[];
  /** desiredHash (src/core/content-hash.ts) of each object, in the same order. */
  readonly hashes: Float64Array;
  /** The objects, in translation order: exactly those the render made (translated again when not kept). */
  objects(): readonly KubeObject[];
}

interface ServiceMemo {
  /** Fingerprints of everything the service's checks and plan read. */
  key: readonly string[];
  messages: Message[];
  plan?: FailoverPlan;
}

/**
 * One plan's objects in one cluster, as a RenderBlock: their objectKeys and content hashes. With a RenderCache the
 * objects are not kept: `objects()` translates the plan again for this cluster (translation is pure, so they are
 * equal), and the keys of one service that are equal in several clusters are one string, shared with the claims.
 * Without a cache (one-shot renders) the objects are kept, and keys and hashes are made on first use.
 */
class Translated implements RenderBlock {
  private k: readonly string[] | undefined;
  private h: Float64Array | undefined;
  constructor(readonly ref: string, private readonly plan: FailoverPlan, private readonly cluster: string, private readonly objs: KubeObject[] | undefined, keys?: string[], hashes?: Float64Array) {
    this.k = keys;
    this.h = hashes;
  }
  get keys(): readonly string[] {
    return (this.k ??= this.objects().map(objectKey));
  }
  get hashes(): Float64Array {
    return (this.h ??= Float64Array.from(this.objects(), (o) => desiredHash(o)));
  }
  objects(): readonly KubeObject[] {
    return this.objs ?? translatePlan(this.plan, this.cluster).get(this.cluster) ?? [];
  }
  /** The object with sort key `key` (see sortKey). */
  withSortKey(key: string): KubeObject {
    return this.objects().find((o) => sortKey(o) === key) as KubeObject;
  }
}

/**
 * Contested keys as resolveConflicts takes them: claims are by objectKey, conflicts are reported in sort key order
 * (a fresh render's), so each key is turned into the sort key of the object a claimant writes under it.
 */
function bySortKey(cluster: string, key: string, ps: number[], claimant: Translated): Contested {
  return { cluster, key: sortKey(claimant.objects()[claimant.keys.indexOf(key)] as KubeObject), ps };
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
  /** How many renders were made as a difference from the last one (the rest: afresh, or the very same result). */
  incrementalRenders = 0;
  /** @internal The state the next render is applied to as a difference (see IncrementalRender). */
  inc: IncrementalRender | undefined;
}

function sameDocuments(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Which services' translations claim which object keys, per cluster, kept up to date by difference: a render that
 * reuses it re-claims only the services whose translation changed. `contested` lists, per cluster, the keys claimed
 * more than once there. One map over all clusters (a service's key is mostly the same in every cluster it writes to):
 * key -> the services claiming it in some cluster; which clusters is read from their translations when it matters.
 */
class Claims {
  private readonly by = new Map<string, Map<string, Translated>>();
  private readonly keys = new Map<string, string | string[]>();
  /** Per cluster, how many translations claim at least one key there. */
  private readonly writers = new Map<string, number>();
  readonly contested = new Map<string, Set<string>>();

  /** Makes the claims those of exactly these services' translations. */
  update(current: readonly (readonly [string, Map<string, Translated>])[]): void {
    const present = new Set(current.map(([ref]) => ref));
    for (const ref of [...this.by.keys()]) if (!present.has(ref)) this.set(ref, undefined);
    for (const [ref, perCluster] of current) this.set(ref, perCluster);
  }

  /** Makes the claims of `ref` those of this translation (none: undefined). */
  set(ref: string, perCluster: Map<string, Translated> | undefined): void {
    const old = this.by.get(ref);
    if (old === perCluster) return;
    if (old) {
      this.by.delete(ref);
      this.release(ref, old);
    }
    if (perCluster) {
      this.by.set(ref, perCluster);
      this.claim(ref, perCluster);
    }
  }

  /** The translation `ref` claims with, if any. */
  of(ref: string): Map<string, Translated> | undefined {
    return this.by.get(ref);
  }

  clusters(): IterableIterator<string> {
    return this.writers.keys();
  }

  claimants(cluster: string, key: string): readonly string[] | undefined {
    const c = this.keys.get(key);
    if (c === undefined) return undefined;
    const list = (typeof c === 'string' ? [c] : c).filter((ref) => this.claimsIn(ref, cluster, key));
    return list.length > 0 ? list : undefined;
  }

  private claimsIn(ref: string, cluster: string, key: string): boolean {
    return this.by.get(ref)?.get(cluster)?.keys.includes(key) === true;
  }

  /** Each distinct key of a translation, with the clusters it is claimed in. */
  private static keysOf(perCluster: Map<string, Translated>): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [cluster, t] of perCluster) {
      for (const k of t.keys) {
        const cs = out.get(k);
        if (!cs) out.set(k, [cluster]);
        else if (cs[cs.length - 1] !== cluster) cs.push(cluster);
      }
    }
    return out;
  }

  private recount(cluster: string, key: string): void {
    const n = this.claimants(cluster, key)?.length ?? 0;
    let c = this.contested.get(cluster);
    if (n > 1) {
      if (!c) this.contested.set(cluster, (c = new Set()));
      c.add(key);
    } else if (c?.delete(key) && c.size === 0) this.contested.delete(cluster);
  }

  private claim(ref: string, perCluster: Map<string, Translated>): void {
    for (const [cluster, t] of perCluster) if (t.keys.length > 0) this.writers.set(cluster, (this.writers.get(cluster) ?? 0) + 1);
    for (const [k, clusters] of Claims.keysOf(perCluster)) {
      const prior = this.keys.get(k);
      if (prior === undefined) {
        this.keys.set(k, ref);
        continue;
      }
      const list = typeof prior === 'string' ? [prior] : prior;
      if (!list.includes(ref)) list.push(ref);
      this.keys.set(k, list);
      if (list.length > 1) for (const cluster of clusters) this.recount(cluster, k);
    }
  }

  private release(ref: string, perCluster: Map<string, Translated>): void {
    for (const [cluster, t] of perCluster) {
      if (t.keys.length === 0) continue;
      const n = (this.writers.get(cluster) ?? 0) - 1;
      if (n > 0) this.writers.set(cluster, n);
      else this.writers.delete(cluster);
    }
    for (const [k, clusters] of Claims.keysOf(perCluster)) {
      const prior = this.keys.get(k);
      if (prior === ref) this.keys.delete(k);
      else if (Array.isArray(prior)) {
        const rest = prior.filter((r) => r !== ref);
        if (rest.length === 0) this.keys.delete(k);
        else this.keys.set(k, rest.length === 1 ? (rest[0] as string) : rest);
        for (const cluster of clusters) if (this.contested.get(cluster)?.has(k)) this.recount(cluster, k);
      }
    }
  }
}

/**
 * Fingerprints of everything a service's checks read: the service, each listed workload and its cluster. The
 * snapshot cache hands out the same fingerprint strings while documents are unchanged, so comparing is cheap.
 */
function dependencyKey(ctx: FailoverContext, meshKey: () => string, reads?: string[]): string[] {
  const fp = ctx.snapshot.fingerprints;
  const parts = [fp.get(ctx.fs) ?? ''];
  const own = ctx.fs.metadata.namespace ?? 'default';
  const others = new Set<string>();
  for (const w of ctx.listed) {
    const [ns, name] = w.key.split('/') as [string, string];
    parts.push(w.workload ? (fp.get(w.workload) ?? '') : ctx.snapshot.rejected.has(objectRef('MeshWorkload', name, ns)) ? '!rejected' : '!missing');
    reads?.push(`w:${w.key}`);
    if (!w.workload) {
      // A missing `<service>-<cluster>` may leave a client-only cluster (clientOnlyClusters): every cluster its name
      // could end in is read.
      for (let i = name.indexOf('-'); i >= 0; i = name.indexOf('-', i + 1)) {
        const c = ctx.snapshot.clusters.get(name.slice(i + 1));
        parts.push(c ? (fp.get(c) ?? '') : '-');
        reads?.push(`c:${name.slice(i + 1)}`);
      }
    }
    if (w.workload) {
      parts.push(w.cluster ? (fp.get(w.cluster) ?? '') : ctx.snapshot.rejected.has(objectRef('MeshCluster', w.clusterName ?? '')) ? '!rejected' : '!missing');
      reads?.push(`c:${w.clusterName ?? ''}`);
    }
    if (ns !== own) others.add(ns);
    const sns = w.workload?.spec.service.namespace;
    if (sns !== undefined && sns !== own) others.add(sns);
  }
  // The tenancy check reads the grants of every other namespace used; the hostname check, the mesh's cluster
  // domains and the render's host suffixes.
  for (const ns of [...others].sort()) {
    parts.push(`grants:${ns}:${JSON.stringify((ctx.snapshot.grants?.get(ns) ?? []).map((g) => g.spec))}`);
    reads?.push(`g:${ns}`);
  }
  if (ctx.fs.spec.hostname !== undefined) {
    parts.push(meshKey());
    reads?.push('mesh');
  }
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
  const inc = cache.inc?.policyKey === policyKey ? cache.inc : new IncrementalRender(cache, policyKey, policy);
  cache.inc = undefined;
  let result = inc.apply(docs);
  if (result) {
    cache.inc = inc;
    if (result.changes) cache.incrementalRenders++;
  } else result = renderFresh(docs, cache, policy);
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
        contested.push(bySortKey(cluster, key, ps, translations[ps[0] as number]?.get(cluster) as Translated));
      }
    }
    clusterNames = [...new Set([...snapshot.clusters.keys(), ...claims.clusters()])].sort(cmp);
  } else {
    sortedAll = sortByKey(translations);
    for (const [cluster, entries] of sortedAll) contestedIn(cluster, entries, contested);
    clusterNames = [...new Set([...snapshot.clusters.keys(), ...sortedAll.keys()])].sort(cmp);
  }
  const rejected = resolveConflicts(contested, survivors, (p, cluster, key) => (translations[p]?.get(cluster) as Translated).withSortKey(key), reporter);
  const accepted = new Map<string, FailoverPlan>();
  const blocks = new Map<string, RenderBlock[]>();
  for (const name of clusterNames) blocks.set(name, []);
  survivors.forEach((plan, p) => {
    if (rejected.has(p)) return;
    accepted.set(plan.ref, plan);
    for (const [cluster, t] of translations[p] as Map<string, Translated>) (blocks.get(cluster) as RenderBlock[]).push(t);
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
    const outcome = outcomeFor(base, plan);
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

// Shared by every outcome (read-only: frozen).
const CLIENT_AND_RECEIVER = Object.freeze(['client', 'receiver']) as unknown as ('client' | 'receiver')[];
const CLIENT_ONLY = Object.freeze(['client']) as unknown as ('client' | 'receiver')[];

/** The outcome of an accepted service. */
function outcomeFor(base: { ref: string; namespace: string; name: string }, plan: FailoverPlan): ServiceOutcome {
  return {
    ...base,
    accepted: true,
    globalHost: plan.globalHost,
    address: plan.address,
    clusters: [
      ...plan.clients.map((c) => ({
        name: c.local.clusterName,
        roles: CLIENT_AND_RECEIVER,
        failoverOrder: [c.local.clusterName, ...c.remotes.map((r) => r.target.clusterName)],
      })),
      // A client-only cluster: its clients' failover order has no local tier.
      ...plan.clientOnly.map((c) => ({ name: c.local.clusterName, roles: CLIENT_ONLY, failoverOrder: c.remotes.map((r) => r.target.clusterName) })),
    ],
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
      for (const o of t.objects()) sorter.add(sortKey(o), o, p, o.kind);
    }
  });
  return new Map([...byCluster].map(([cluster, sorter]) => [cluster, sorter.sorted()]));
}

/**
 * Objects known by identity only (kind, namespace, name, the plan that writes them), put in output order: by the
 * same key as `sortKey` (kind order, kind, namespace, name), then plan, then the order added. Compares the parts
 * where `sortKey` would build a string per object (names hold no NUL, so the order is the same).
 */
class IdentitySorter {
  readonly kind: number[] = [];
  readonly namespace: string[] = [];
  readonly name: string[] = [];
  readonly plan: number[] = [];
  readonly payload: number[] = [];

  add(kind: number, namespace: string, name: string, plan: number, payload: number): void {
    this.kind.push(kind);
    this.namespace.push(namespace);
    this.name.push(name);
    this.plan.push(plan);
    this.payload.push(payload);
  }

  /** Entry indexes in output order. `kinds`: kind names by code. */
  sorted(kinds: readonly string[]): number[] {
    const rank = kinds.map((k) => KIND_ORDER[k] ?? 99);
    // Kind by kind (kinds in their order), each in the order added.
    const byKind = kinds.map((_, c) => c).sort((a, b) => (rank[a] as number) - (rank[b] as number) || cmp(kinds[a] as string, kinds[b] as string));
    const buckets: number[][] = kinds.map(() => []);
    for (let e = 0; e < this.kind.length; e++) (buckets[this.kind[e] as number] as number[]).push(e);
    const { namespace, name, plan } = this;
    // Within a kind: by namespace, name, plan, then the order added.
    const order = (a: number, b: number): number => {
      const na = namespace[a] as string;
      const nb = namespace[b] as string;
      if (na !== nb) return na < nb ? -1 : 1;
      const ma = name[a] as string;
      const mb = name[b] as string;
      if (ma !== mb) return ma < mb ? -1 : 1;
      return (plan[a] as number) - (plan[b] as number) || a - b;
    };
    const out: number[] = [];
    for (const c of byKind) {
      const bucket = buckets[c] as number[];
      // A plan's objects of one kind are neighbours (added plan by plan): put each such run in order (a few objects,
      // insertion sort). Plans come by namespace and name, and most objects are named after their plan, so a kind
      // is then usually in order already: one pass checks it, and only otherwise is it sorted.
      let inOrder = true;
      for (let start = 0; start < bucket.length; ) {
        const p = plan[bucket[start] as number];
        let end = start + 1;
        while (end < bucket.length && plan[bucket[end] as number] === p) end++;
        for (let i = start + 1; i < end; i++) {
          const e = bucket[i] as number;
          let j = i - 1;
          for (; j >= start && order(bucket[j] as number, e) > 0; j--) bucket[j + 1] = bucket[j] as number;
          bucket[j + 1] = e;
        }
        if (start > 0 && order(bucket[start - 1] as number, bucket[start] as number) > 0) inOrder = false;
        start = end;
      }
      if (!inOrder) bucket.sort(order);
      for (const e of bucket) out.push(e);
    }
    return out;
  }

  /** Keys claimed by more than one plan, from entries in output order (claims of one key are neighbours). */
  contested(sorted: readonly number[], kinds: readonly string[], cluster: string, out: Contested[]): void {
    const { kind, namespace, name, plan } = this;
    const same = (a: number, b: number) => kind[a] === kind[b] && namespace[a] === namespace[b] && name[a] === name[b];
    for (let i = 0; i + 1 < sorted.length; i++) {
      const e = sorted[i] as number;
      if (!same(e, sorted[i + 1] as number)) continue;
      const ps = [plan[e] as number];
      for (; i + 1 < sorted.length && same(e, sorted[i + 1] as number); i++) {
        const p = plan[sorted[i + 1] as number] as number;
        if (p !== ps[ps.length - 1]) ps.push(p);
      }
      if (ps.length > 1) out.push({ cluster, key: identityKey(kinds[kind[e] as number] as string, namespace[e] as string, name[e] as string), ps });
    }
  }
}

/** A one-shot render taken cluster by cluster: see `renderByCluster`. */
export interface ClusterRender {
  /** Every valid MeshCluster and every cluster a service writes to, sorted: the keys of `render().clusters`. */
  clusterNames: readonly string[];
  messages: Message[];
  /** The cluster's objects: exactly `render().clusters[cluster]`, translated anew (nothing is kept between calls). */
  objects(cluster: string): KubeObject[];
  /**
   * Calls `f` with the objects of `objects(cluster)`, one at a time, in the same order: each is translated when it is
   * reached, so a caller that serializes and drops each holds nothing (a large render's objects die young, cheap for
   * the garbage collector).
   */
  each(cluster: string, f: (o: KubeObject) => void): void;
  /** How many objects `each(cluster)` gives. */
  count(cluster: string): number;
  /** The cluster gets objects (an accepted service writes to it). */
  hasObjects(cluster: string): boolean;
}

/**
 * The same render as `render`, for one-shot commands with large inputs: rather than holding every cluster's
 * objects at once (10k services over 5 clusters is 650,000 objects), it translates the plans one cluster at a time,
 * first to find objects two services would both write (so the conflicts, and the messages, are known before any
 * output) and each cluster's output order, then again for each cluster that is asked for. Memory stays near one
 * cluster's objects (none at all when they are streamed: see `each`), at the price of translating twice.
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
  // First pass, a cluster at a time, from outlines (identities only) dropped at once: the output order of the
  // cluster's objects, as (plan, kind, index among the plan's objects of that kind) triples, and the keys more than one
  // plan claims. Only the order is kept (8 bytes an object); the second pass needs neither keys nor a sort.
  const contested: Contested[] = [];
  const orders = new Map<string, Int32Array>();
  const kinds: string[] = [];
  const kindCode = new Map<string, number>();
  const codeOf = (kind: string): number => {
    let c = kindCode.get(kind);
    if (c === undefined) kindCode.set(kind, (c = kinds.push(kind) - 1));
    return c;
  };
  // Plans visited by namespace and name, so that each kind's objects arrive in (nearly) sorted runs for the sort.
  const visit = survivors.map((_, p) => p);
  const primary = (p: number) => (survivors[p] as FailoverPlan).primaryService;
  visit.sort((a, b) => cmp(primary(a).namespace, primary(b).namespace) || cmp(primary(a).name, primary(b).name) || a - b);
  const rank = (c: number): number => KIND_ORDER[kinds[c] as string] ?? 99;
  for (const cluster of clusterNames) {
    // Per kind code: 0 not seen yet, 1 in order so far, 2 out of order. While a kind's objects arrive in output order
    // (each plan's few objects of the kind put in order, then compared with the last identity of the plans before),
    // its order is the (plan, payload) pairs as they come, and only the last identity is kept. A kind that leaves
    // that order (or where two plans write the same object) is collected again and sorted (IdentitySorter).
    const state: number[] = [];
    const pairs: number[][] = [];
    const lastNs: string[] = [];
    const lastName: string[] = [];
    const local: number[] = [];
    for (const p of visit) {
      const plan = survivors[p] as FailoverPlan;
      if (!writes(plan, cluster)) continue;
      const objs = translateFor(plan, cluster, true);
      // The plan's objects by kind, each kind's by namespace and name (then translation order): insertion sort.
      const seen: number[] = [];
      local.length = 0;
      for (let i = 0; i < objs.length; i++) {
        const o = objs[i] as KubeObject;
        const c = codeOf(o.kind);
        const j = seen[c] ?? 0;
        seen[c] = j + 1;
        // Kind code (low 8 bits) and index in one number: a plan writes a few objects of a kind per cluster.
        local.push((j << 8) | c);
      }
      const ns = (k: number): string => (objs[k] as KubeObject).metadata.namespace ?? '';
      const nm = (k: number): string => (objs[k] as KubeObject).metadata.name;
      const idx: number[] = objs.map((_, i) => i);
      const before = (a: number, b: number): boolean => {
        const ca = (local[a] as number) & 0xff;
        const cb = (local[b] as number) & 0xff;
        if (ca !== cb) return ca < cb;
        const na = ns(a);
        const nb = ns(b);
        if (na !== nb) return na < nb;
        const ma = nm(a);
        const mb = nm(b);
        if (ma !== mb) return ma < mb;
        return a < b;
      };
      for (let i = 1; i < idx.length; i++) {
        const e = idx[i] as number;
        let k = i - 1;
        for (; k >= 0 && before(e, idx[k] as number); k--) idx[k + 1] = idx[k] as number;
        idx[k + 1] = e;
      }
      for (let i = 0; i < idx.length; i++) {
        const e = idx[i] as number;
        const c = (local[e] as number) & 0xff;
        const first = i === 0 || (((local[idx[i - 1] as number] as number) & 0xff) !== c);
        if (first) {
          if ((state[c] ?? 0) === 0) {
            state[c] = 1;
            pairs[c] = [];
          } else if (state[c] === 1) {
            const n = ns(e);
            const m = nm(e);
            const ln = lastNs[c] as string;
            if (!(ln < n || (ln === n && (lastName[c] as string) < m))) {
              state[c] = 2;
              pairs[c] = [];
            }
          }
        }
        if (state[c] !== 1) continue;
        (pairs[c] as number[]).push(p, local[e] as number);
        lastNs[c] = ns(e);
        lastName[c] = nm(e);
      }
    }
    const present = kinds.map((_, c) => c).filter((c) => (state[c] ?? 0) !== 0);
    present.sort((a, b) => rank(a) - rank(b) || cmp(kinds[a] as string, kinds[b] as string));
    const parts: number[][] = [];
    for (const c of present) {
      if (state[c] === 1) {
        parts.push(pairs[c] as number[]);
        continue;
      }
      // Out of order: that kind's identities again, sorted by key, then plan, then translation order (the conflicts do
      // not depend on map order).
      const sorter = new IdentitySorter();
      for (const p of visit) {
        const plan = survivors[p] as FailoverPlan;
        if (!writes(plan, cluster)) continue;
        const objs = translateFor(plan, cluster, true, kinds[c]);
        for (let j = 0; j < objs.length; j++) {
          const o = objs[j] as KubeObject;
          sorter.add(c, o.metadata.namespace ?? '', o.metadata.name, p, (j << 8) | c);
        }
      }
      const sorted = sorter.sorted(kinds);
      sorter.contested(sorted, kinds, cluster, contested);
      const list: number[] = [];
      for (const e of sorted) list.push(sorter.plan[e] as number, sorter.payload[e] as number);
      parts.push(list);
    }
    const order = new Int32Array(parts.reduce((n, l) => n + l.length, 0));
    let at = 0;
    for (const l of parts) {
      order.set(l, at);
      at += l.length;
    }
    orders.set(cluster, order);
  }
  const rejected = resolveConflicts(contested, survivors, (p, cluster, key) => {
    return translateFor(survivors[p] as FailoverPlan, cluster).find((o) => sortKey(o) === key) as KubeObject;
  }, reporter);
  // Second pass: the accepted plans' objects in output order, each made when it is reached and dropped by the caller.
  // Output order is kind by kind, and a plan's objects of one kind are (nearly always) neighbours: each plan is
  // translated once per kind it writes, only that kind's objects, and nothing is held but the current plan's.
  // A callback per object rather than a generator: 650,000 objects at 10k x 5, each a suspend and resume less.
  function each(cluster: string, f: (o: KubeObject) => void): void {
    const order = orders.get(cluster);
    if (!order) return;
    let lastP = -1;
    let lastKind = -1;
    let objs: KubeObject[] = [];
    for (let k = 0; k < order.length; k += 2) {
      const p = order[k] as number;
      if (rejected.size > 0 && rejected.has(p)) continue;
      const o = order[k + 1] as number;
      const c = o & 0xff;
      if (p !== lastP || c !== lastKind) {
        objs = translateFor(survivors[p] as FailoverPlan, cluster, false, kinds[c]);
        lastP = p;
        lastKind = c;
      }
      f(objs[o >>> 8] as KubeObject);
    }
  }
  const count = (cluster: string): number => {
    const order = orders.get(cluster);
    if (!order) return 0;
    if (rejected.size === 0) return order.length / 2;
    let n = 0;
    for (let k = 0; k < order.length; k += 2) if (!rejected.has(order[k] as number)) n++;
    return n;
  };
  return {
    clusterNames,
    messages: reporter.sorted(),
    hasObjects: (cluster) => survivors.some((plan, p) => !rejected.has(p) && writes(plan, cluster)),
    objects: (cluster) => {
      const out: KubeObject[] = [];
      each(cluster, (o) => out.push(o));
      return out;
    },
    each,
    count,
  };
}

/** The plan's objects per cluster with their sort keys, from the cache when the plan and its address are unchanged. */
function translated(plan: FailoverPlan, cache: RenderCache | undefined): Map<string, Translated> {
  const memo = cache?.translations.get(plan.ref);
  // checkMesh copies plans to set the address, so the cached plan is compared through what it was copied from.
  if (memo && memo.address === plan.address && sameBase(memo.plan, plan)) return memo.perCluster;
  const perCluster = new Map<string, Translated>();
  // The same key in several clusters (the global ServiceEntry, a remote tier's objects): one string.
  const interned = cache ? new Map<string, string>() : undefined;
  const intern = (k: string): string => {
    const hit = interned?.get(k);
    if (hit !== undefined) return hit;
    interned?.set(k, k);
    return k;
  };
  const all = translatePlan(plan);
  // Kept across renders with a cache: keys and hashes only (the objects are translated again when they must be
  // written); the hashes of all clusters in one buffer, each block a view of its part.
  let total = 0;
  if (cache) for (const objs of all.values()) total += objs.length;
  const buffer = cache ? new Float64Array(total) : undefined;
  let at = 0;
  for (const [cluster, objs] of all) {
    if (!buffer) {
      perCluster.set(cluster, new Translated(plan.ref, plan, cluster, objs));
      continue;
    }
    const hashes = buffer.subarray(at, at + objs.length);
    for (let i = 0; i < objs.length; i++) hashes[i] = desiredHash(objs[i] as KubeObject);
    at += objs.length;
    perCluster.set(cluster, new Translated(plan.ref, plan, cluster, undefined, objs.map((o) => intern(objectKey(o))), hashes));
  }
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

// ---------------------------------------------------------------------------------------------------------------
// Incremental render (the controller's): one change costs what changed.

const NO_MESSAGES: readonly Message[] = Object.freeze([]);

/** One input document as the incremental render keeps it. */
interface DocEntry {
  raw: object;
  kind: string;
  ref: string;
  mapKey: string;
  namespace: string | undefined;
  /** The admitted object; undefined when the document was rejected. */
  obj?: KubeObject;
  fingerprint: string;
  /** What admitting it reported (all about `ref`). */
  messages: readonly Message[];
}

interface MeshOutcome {
  sig: string;
  /** The survivor (the plan with its address), when the mesh-wide checks kept it. */
  placed?: FailoverPlan;
  messages: readonly Message[];
}


function sameMessages(a: readonly Message[] | undefined, b: readonly Message[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return (a?.length ?? 0) === 0 && (b?.length ?? 0) === 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Message;
    const y = b[i] as Message;
    if (x !== y && (x.code !== y.code || x.level !== y.level || x.message !== y.message || x.path !== y.path || x.object !== y.object || JSON.stringify(x.params) !== JSON.stringify(y.params))) return false;
  }
  return true;
}

/** Index of the first element of `xs` not ordered before the probe (`before(x)`: x sorts before it). */
function lowerBound<T>(xs: readonly T[], before: (x: T) => boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(xs[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The state of the last render, kept to apply the next one as a difference: the documents by identity, a snapshot
 * updated in place of a rebuild (copy on write: an earlier result's snapshot never changes), who reads what (workload
 * key, cluster name, granting namespace, the mesh's domains -> FailoverService refs), the mesh-wide outcome of each
 * plan, the claims of each translation and the output (blocks, outcomes, messages) patched for the refs that changed.
 * Only documents of Spillway's kinds with the served apiVersion, each object once, are handled: anything else makes
 * `apply` return undefined and the caller render afresh.
 */
class IncrementalRender {
  private docs: readonly unknown[] = [];
  private readonly entries = new Map<object, DocEntry>();
  private readonly byRef = new Map<string, DocEntry>();
  private clusters = new Map<string, MeshCluster>();
  private workloads = new Map<string, MeshWorkload>();
  private readonly grantsByNs = new Map<string, Map<string, MeshWorkloadGrant>>();
  private grants = new Map<string, MeshWorkloadGrant[]>();
  private readonly services = new Map<string, FailoverService>();
  private ordered: FailoverService[] = [];
  private orderedRefs: string[] = [];
  private ordIdx: Map<string, number> | undefined;
  private rejected = new Set<string>();
  private readonly fingerprints = new Map<KubeObject, string>();
  private meshKey = '';
  /** Who reads what: most things (a workload, a grant) have one reader, kept as the ref itself. */
  private readonly readers = new Map<string, string | Set<string>>();
  private readonly reads = new Map<string, readonly string[]>();
  private readonly mesh = new Map<string, MeshOutcome>();
  private readonly claims = new Claims();
  private conflicts = new Map<string, Message[]>();
  private outcomes: ServiceOutcome[] = [];
  private readonly outcomeByRef = new Map<string, ServiceOutcome>();
  private readonly blocksOf = new Map<string, Map<string, RenderBlock>>();
  private blocks = new Map<string, RenderBlock[]>();
  private notAccepted = new Set<string>();
  private messages: Message[] = [];
  private result: DetailedRenderResult | undefined;
  private readonly policy: RenderPolicy;
  // Copy-on-write marks for one apply.
  private copied = new Set<string>();

  constructor(private readonly cache: RenderCache, readonly policyKey: string, policy: Partial<RenderPolicy> | undefined) {
    this.policy = { ...DEFAULT_POLICY, ...policy };
  }

  /** Copy on write: the maps of the snapshot an earlier result holds are never changed. */
  private cow(what: 'clusters' | 'workloads' | 'grants' | 'rejected' | 'ordered'): void {
    if (this.copied.has(what)) return;
    this.copied.add(what);
    if (what === 'clusters') this.clusters = new Map(this.clusters);
    else if (what === 'workloads') this.workloads = new Map(this.workloads);
    else if (what === 'grants') this.grants = new Map(this.grants);
    else if (what === 'rejected') this.rejected = new Set(this.rejected);
    else {
      this.ordered = this.ordered.slice();
      this.orderedRefs = this.orderedRefs.slice();
    }
  }

  private wClusters(): Map<string, MeshCluster> {
    this.cow('clusters');
    return this.clusters;
  }

  private wWorkloads(): Map<string, MeshWorkload> {
    this.cow('workloads');
    return this.workloads;
  }

  private wGrants(): Map<string, MeshWorkloadGrant[]> {
    this.cow('grants');
    return this.grants;
  }

  private wRejected(): Set<string> {
    this.cow('rejected');
    return this.rejected;
  }

  private wOrdered(): FailoverService[] {
    this.cow('ordered');
    return this.ordered;
  }

  /** What buildSnapshot makes of one document on its own, or undefined for one this render does not handle. */
  private admit(raw: object): DocEntry | undefined {
    if (isSourced(raw)) return undefined;
    const reporter = new Reporter();
    const s = buildSnapshot([{ value: raw }], reporter, this.cache.snapshot);
    const known = this.cache.snapshot.docs.get(raw);
    const clean = known?.clean;
    if (!known || !clean) return undefined;
    const obj = s.rejected.has(clean.ref) ? undefined : known.obj;
    if (!obj && !s.rejected.has(clean.ref)) return undefined;
    return { raw, kind: clean.kind, ref: clean.ref, mapKey: clean.mapKey, namespace: clean.namespace, ...(obj ? { obj } : {}), fingerprint: known.fingerprint, messages: reporter.messages.length > 0 ? reporter.messages : NO_MESSAGES };
  }

  private fsBefore(fs: FailoverService, ref: string): (i: number) => boolean {
    return (i) => {
      const o = this.ordered[i] as FailoverService;
      return (byTimestamp(o, fs) || cmp(this.orderedRefs[i] as string, ref)) < 0;
    };
  }

  private indexOfService(fs: FailoverService, ref: string): number {
    const before = this.fsBefore(fs, ref);
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(mid)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private order(ref: string): number {
    if (!this.ordIdx) {
      this.ordIdx = new Map();
      this.orderedRefs.forEach((r, i) => this.ordIdx!.set(r, i));
    }
    return this.ordIdx.get(ref) as number;
  }

  private setReads(ref: string, reads: readonly string[] | undefined): void {
    for (const t of this.reads.get(ref) ?? []) {
      const r = this.readers.get(t);
      if (r === ref) this.readers.delete(t);
      else if (typeof r === 'object') {
        r.delete(ref);
        if (r.size === 1) this.readers.set(t, r.values().next().value as string);
      }
    }
    if (!reads) {
      this.reads.delete(ref);
      return;
    }
    this.reads.set(ref, reads);
    for (const t of reads) {
      const r = this.readers.get(t);
      if (r === undefined) this.readers.set(t, ref);
      else if (typeof r === 'string') {
        if (r !== ref) this.readers.set(t, new Set([r, ref]));
      } else r.add(ref);
    }
  }

  /** Applies `docs` as the difference from the last documents; undefined when they cannot be (render afresh). */
  apply(docs: readonly unknown[]): DetailedRenderResult | undefined {
    this.copied = new Set();
    const since = this.result;
    const prev = this.docs;
    const added: unknown[] = [];
    const gone: unknown[] = [];
    for (let i = 0; i < docs.length || i < prev.length; i++) {
      const a = docs[i];
      const b = prev[i];
      if (a === b) continue;
      if (i < docs.length) added.push(a);
      if (i < prev.length) gone.push(b);
    }
    const addedSet = new Set(added);
    const goneSet = new Set(gone);
    const removedEntries: DocEntry[] = [];
    for (const d of gone) {
      if (addedSet.has(d)) continue; // moved
      const e = this.entries.get(d as object);
      if (!e) return undefined;
      removedEntries.push(e);
    }
    const newDocs: object[] = [];
    for (const d of added) {
      if (goneSet.has(d)) continue;
      if (typeof d !== 'object' || d === null || this.entries.has(d)) return undefined;
      newDocs.push(d);
    }
    // A document replaced by one that admits to the same content (same fingerprint: identity, creationTimestamp and
    // spec; same messages) changes nothing a render reads. The controller writes statuses: a MeshCluster's on every
    // change it makes in that cluster (lastSyncTime), and every FailoverService's after a restart or a member's
    // first sync. Each such echo must not re-check, re-plan and report changed the services it touches (10,000
    // status echoes re-rendered a whole fleet, with the old render still held). The new document takes over the old
    // entry, whose admitted object (the one plans and fingerprints refer to) stays; whoever reads status or
    // server metadata reads the live objects, not the render's.
    const takeover = new Map<object, DocEntry>();
    const kept = new Set<DocEntry>();
    const admitted = new Map<object, DocEntry | undefined>();
    const removedByRef = new Map<string, DocEntry>();
    for (const e of removedEntries) if (e.obj) removedByRef.set(e.ref, e);
    if (removedByRef.size > 0) {
      for (const d of newDocs) {
        const e = this.admit(d);
        admitted.set(d, e);
        const old = e?.obj ? removedByRef.get(e.ref) : undefined;
        if (!e || !old || kept.has(old) || old.fingerprint !== e.fingerprint || !sameMessages(old.messages, e.messages)) continue;
        kept.add(old);
        takeover.set(d, { ...old, raw: d });
      }
    }

    const dirty = new Set<string>();
    const touchedRefs = new Set<string>(); // documents whose admission (and messages) changed
    const reads = new Set<string>();
    const fsGone = new Map<string, FailoverService>();
    const fsCame = new Map<string, FailoverService>();
    const grantNs = new Set<string>();
    let clustersChanged = false;
    const note = (e: DocEntry): void => {
      touchedRefs.add(e.ref);
      if (e.kind === 'FailoverService') dirty.add(e.ref);
      else if (e.kind === 'MeshWorkload') reads.add(`w:${e.mapKey}`);
      else if (e.kind === 'MeshCluster') {
        reads.add(`c:${e.mapKey}`);
        clustersChanged = true;
      } else {
        reads.add(`g:${e.namespace ?? 'default'}`);
        grantNs.add(e.namespace ?? 'default');
      }
    };
    for (const e of removedEntries) {
      this.entries.delete(e.raw);
      if (kept.has(e)) continue;
      if (this.byRef.get(e.ref) === e) this.byRef.delete(e.ref);
      note(e);
      if (!e.obj) {
        this.wRejected().delete(e.ref);
        continue;
      }
      this.fingerprints.delete(e.obj);
      if (e.kind === 'MeshCluster') this.wClusters().delete(e.mapKey);
      else if (e.kind === 'MeshWorkload') this.wWorkloads().delete(e.mapKey);
      else if (e.kind === 'MeshWorkloadGrant') this.grantsByNs.get(e.namespace ?? 'default')?.delete(e.ref);
      else {
        fsGone.set(e.ref, e.obj as FailoverService);
        this.services.delete(e.ref);
      }
    }
    const replacedRefs = new Set<string>();
    for (const d of newDocs) {
      const same = takeover.get(d);
      if (same) {
        this.entries.set(d, same);
        this.byRef.set(same.ref, same);
        replacedRefs.add(same.ref);
        continue;
      }
      const e = admitted.has(d) ? admitted.get(d) : this.admit(d);
      if (!e || this.byRef.has(e.ref)) return undefined;
      this.entries.set(d, e);
      this.byRef.set(e.ref, e);
      note(e);
      if (!e.obj) {
        this.wRejected().add(e.ref);
        continue;
      }
      this.fingerprints.set(e.obj, e.fingerprint);
      if (e.kind === 'MeshCluster') this.wClusters().set(e.mapKey, e.obj as MeshCluster);
      else if (e.kind === 'MeshWorkload') this.wWorkloads().set(e.mapKey, e.obj as MeshWorkload);
      else if (e.kind === 'MeshWorkloadGrant') {
        const ns = e.namespace ?? 'default';
        let m = this.grantsByNs.get(ns);
        if (!m) this.grantsByNs.set(ns, (m = new Map()));
        m.set(e.ref, e.obj as MeshWorkloadGrant);
      } else {
        fsCame.set(e.ref, e.obj as FailoverService);
        this.services.set(e.ref, e.obj as FailoverService);
      }
    }
    this.docs = [...docs];

    // The order of the FailoverServices (oldest first): replaced in place while the age stays, else moved.
    const moved = new Set<string>();
    for (const [ref, old] of fsGone) {
      const neu = fsCame.get(ref);
      if (neu && byTimestamp(old, neu) === 0 && (old.metadata.creationTimestamp ?? '') === (neu.metadata.creationTimestamp ?? '')) {
        const i = this.indexOfService(old, ref);
        this.wOrdered()[i] = neu;
        fsCame.delete(ref);
        continue;
      }
      const i = this.indexOfService(old, ref);
      this.wOrdered().splice(i, 1);
      this.orderedRefs.splice(i, 1);
      moved.add(ref);
    }
    for (const [ref, fs] of fsCame) {
      const i = this.indexOfService(fs, ref);
      this.wOrdered().splice(i, 0, fs);
      this.orderedRefs.splice(i, 0, ref);
      moved.add(ref);
    }
    if (moved.size > 0) this.ordIdx = undefined;

    for (const ns of grantNs) {
      const list = [...(this.grantsByNs.get(ns)?.values() ?? [])].sort((x, y) => cmp(x.metadata.name, y.metadata.name));
      if (list.length === 0) {
        this.grantsByNs.delete(ns);
        this.wGrants().delete(ns);
      } else this.wGrants().set(ns, list);
    }
    if (clustersChanged || since === undefined) {
      const key = `mesh:${[...new Set([...this.clusters.values()].map((c) => c.spec.clusterDomain ?? ''))].sort().join(',')}:${(this.policy.hostSuffixes ?? []).join(',')}`;
      if (key !== this.meshKey) reads.add('mesh');
      this.meshKey = key;
    }
    for (const t of reads) {
      const r = this.readers.get(t);
      if (typeof r === 'string') dirty.add(r);
      else for (const ref of r ?? []) dirty.add(ref);
    }

    const snapshot: Snapshot = { clusters: this.clusters, workloads: this.workloads, grants: this.grants, policy: this.policy, services: this.ordered, rejected: this.rejected, fingerprints: this.fingerprints };

    // Per-service checks and plans of the services that read anything that changed.
    const planChanged = new Set<string>();
    const messagesChanged = new Set<string>(touchedRefs);
    for (const ref of dirty) {
      const memo = this.cache.services.get(ref);
      const fs = this.services.get(ref);
      if (!fs) {
        if (memo) {
          this.cache.services.delete(ref);
          if (memo.plan) planChanged.add(ref);
        }
        this.cache.translations.delete(ref);
        this.setReads(ref, undefined);
        messagesChanged.add(ref);
        continue;
      }
      const ctx = resolveContext(fs, snapshot);
      const r: string[] = [];
      const key = dependencyKey(ctx, () => this.meshKey, r);
      this.setReads(ref, r);
      if (memo && sameKey(memo.key, key)) continue;
      const reporter = new Reporter();
      for (const check of CHECKS) check.run(ctx, reporter);
      const plan = reporter.hasErrors(ctx.ref) ? undefined : buildPlan(ctx);
      this.cache.services.set(ref, { key, messages: reporter.messages, ...(plan ? { plan } : {}) });
      if (memo?.plan !== plan) planChanged.add(ref);
      if (!sameMessages(memo?.messages, reporter.messages)) messagesChanged.add(ref);
    }

    // Mesh-wide checks: kept while no plan that changed claims other hosts, services or addresses, or moved.
    const survivorChanged = new Set<string>();
    let slow = since === undefined;
    for (const ref of moved) if (this.mesh.has(ref) || this.cache.services.get(ref)?.plan) slow = true;
    const sigs = new Map<string, string>();
    if (!slow) {
      for (const ref of planChanged) {
        const plan = this.cache.services.get(ref)?.plan;
        const old = this.mesh.get(ref);
        if (!plan || !old) {
          slow = true;
          break;
        }
        const sig = meshSignature(plan);
        sigs.set(ref, sig);
        if (sig !== old.sig) {
          slow = true;
          break;
        }
      }
    }
    if (!slow) {
      for (const ref of planChanged) {
        const plan = this.cache.services.get(ref)?.plan as FailoverPlan;
        const old = this.mesh.get(ref) as MeshOutcome;
        const p = old.placed ? placed(plan, old.placed.address) : undefined;
        this.mesh.set(ref, { sig: sigs.get(ref) as string, ...(p ? { placed: p } : {}), messages: old.messages });
        if (p !== old.placed) survivorChanged.add(ref);
      }
    } else {
      const plans: FailoverPlan[] = [];
      for (const ref of this.orderedRefs) {
        const plan = this.cache.services.get(ref)?.plan;
        if (plan) plans.push(plan);
      }
      const reporter = new Reporter();
      const survivors = checkMesh(plans, reporter);
      const byRef = new Map<string, Message[]>();
      for (const m of reporter.messages) {
        const list = byRef.get(m.object);
        if (list) list.push(m);
        else byRef.set(m.object, [m]);
      }
      const kept = new Map(survivors.map((p) => [p.ref, p]));
      const present = new Set<string>();
      for (const plan of plans) {
        present.add(plan.ref);
        const old = this.mesh.get(plan.ref);
        const p = kept.get(plan.ref);
        const messages = byRef.get(plan.ref) ?? [];
        const same = sameMessages(old?.messages, messages);
        this.mesh.set(plan.ref, { sig: meshSignature(plan), ...(p ? { placed: p } : {}), messages: same && old ? old.messages : messages });
        if (p !== old?.placed) survivorChanged.add(plan.ref);
        if (!same) messagesChanged.add(plan.ref);
      }
      for (const [ref, old] of [...this.mesh]) {
        if (present.has(ref)) continue;
        this.mesh.delete(ref);
        if (old.placed) survivorChanged.add(ref);
        if (old.messages.length > 0) messagesChanged.add(ref);
      }
    }

    // Translations of the survivors that changed, and the object keys they claim.
    for (const ref of survivorChanged) {
      const p = this.mesh.get(ref)?.placed;
      this.claims.set(ref, p ? translated(p, this.cache) : undefined);
    }
    // Objects two survivors write: the newer is rejected whole (only the services claiming a contested key take part).
    const conflicts = new Map<string, Message[]>();
    if (this.claims.contested.size > 0) {
      const involved = new Set<string>();
      for (const [cluster, keys] of this.claims.contested) for (const k of keys) for (const ref of this.claims.claimants(cluster, k) ?? []) involved.add(ref);
      const local = [...involved].sort((a, b) => this.order(a) - this.order(b));
      const index = new Map(local.map((ref, i) => [ref, i]));
      const contested: Contested[] = [];
      const claimant = (p: number, cluster: string): Translated => this.claims.of(local[p] as string)?.get(cluster) as Translated;
      for (const [cluster, keys] of this.claims.contested) {
        for (const key of keys) {
          const ps = (this.claims.claimants(cluster, key) as string[]).map((ref) => index.get(ref) as number).sort((a, b) => a - b);
          contested.push(bySortKey(cluster, key, ps, claimant(ps[0] as number, cluster)));
        }
      }
      const plans = local.map((ref) => this.mesh.get(ref)?.placed as FailoverPlan);
      const reporter = new Reporter();
      resolveConflicts(contested, plans, (p, cluster, key) => claimant(p, cluster).withSortKey(key), reporter);
      for (const m of reporter.messages) {
        const list = conflicts.get(m.object);
        if (list) list.push(m);
        else conflicts.set(m.object, [m]);
      }
    }
    const changed = new Set<string>([...dirty, ...survivorChanged]);
    // A service whose mesh-wide messages changed (its plan kept) is changed too: consumers read its messages with it.
    for (const ref of messagesChanged) if (this.services.has(ref)) changed.add(ref);
    for (const ref of new Set([...conflicts.keys(), ...this.conflicts.keys()])) {
      const a = this.conflicts.get(ref);
      const b = conflicts.get(ref);
      if (a && b && sameMessages(a, b)) {
        conflicts.set(ref, a);
        continue;
      }
      changed.add(ref);
      messagesChanged.add(ref);
    }
    this.conflicts = conflicts;

    // The output, patched for the refs that changed (rebuilt when services came, went or moved).
    const acceptedPlan = (ref: string): FailoverPlan | undefined => (this.conflicts.has(ref) ? undefined : this.mesh.get(ref)?.placed);
    const newBlocks = (ref: string): Map<string, RenderBlock> | undefined => {
      const plan = acceptedPlan(ref);
      if (!plan) return undefined;
      const old = this.blocksOf.get(ref);
      const out = new Map<string, RenderBlock>();
      for (const [cluster, t] of this.claims.of(ref) ?? []) {
        const b = old?.get(cluster);
        out.set(cluster, b && b.keys === t.keys ? b : t);
      }
      return out;
    };
    const outcomeOf = (ref: string, fs: FailoverService): ServiceOutcome => {
      const plan = acceptedPlan(ref);
      const base = { ref, namespace: fs.metadata.namespace ?? 'default', name: fs.metadata.name };
      if (!plan) return { ...base, accepted: false, clusters: [] };
      const memo = this.cache.translations.get(ref);
      if (memo?.outcome && memo.plan === plan) return memo.outcome;
      const outcome = outcomeFor(base, plan);
      if (memo?.plan === plan) memo.outcome = outcome;
      return outcome;
    };
    const names = [...new Set([...this.clusters.keys(), ...this.claims.clusters()])].sort(cmp);
    const rebuild = moved.size > 0 || since === undefined;
    for (const ref of changed) {
      const fs = this.services.get(ref);
      if (fs) this.outcomeByRef.set(ref, outcomeOf(ref, fs));
      else this.outcomeByRef.delete(ref);
    }
    if (rebuild) {
      this.outcomes = this.ordered.map((fs, i) => {
        const ref = this.orderedRefs[i] as string;
        let o = this.outcomeByRef.get(ref);
        if (!o) this.outcomeByRef.set(ref, (o = outcomeOf(ref, fs)));
        return o;
      });
      const blocks = new Map<string, RenderBlock[]>(names.map((n) => [n, []]));
      for (const ref of this.orderedRefs) {
        const b = changed.has(ref) ? newBlocks(ref) : this.blocksOf.get(ref);
        if (b && b.size > 0) this.blocksOf.set(ref, b);
        else this.blocksOf.delete(ref);
        for (const [cluster, block] of b ?? []) (blocks.get(cluster) as RenderBlock[]).push(block);
      }
      for (const ref of [...this.blocksOf.keys()]) if (!this.services.has(ref)) this.blocksOf.delete(ref);
      this.blocks = blocks;
    } else {
      const outcomes = changed.size > 0 ? this.outcomes.slice() : this.outcomes;
      const blocks = new Map<string, RenderBlock[]>(names.map((n) => [n, this.blocks.get(n) ?? []]));
      const writable = new Set<string>();
      for (const ref of changed) {
        const fs = this.services.get(ref);
        if (fs) outcomes[this.order(ref)] = this.outcomeByRef.get(ref) as ServiceOutcome;
        const old = this.blocksOf.get(ref);
        const neu = fs ? newBlocks(ref) : undefined;
        if (neu && neu.size > 0) this.blocksOf.set(ref, neu);
        else this.blocksOf.delete(ref);
        const at = this.order(ref);
        for (const cluster of new Set([...(old?.keys() ?? []), ...(neu?.keys() ?? [])])) {
          const a = old?.get(cluster);
          const b = neu?.get(cluster);
          // A cluster no longer named (its MeshCluster gone, nothing claims a key there) has no blocks left.
          if (a === b || !blocks.has(cluster)) continue;
          if (!writable.has(cluster)) {
            writable.add(cluster);
            blocks.set(cluster, [...(blocks.get(cluster) ?? [])]);
          }
          const list = blocks.get(cluster) as RenderBlock[];
          const i = lowerBound(list, (x) => this.order(x.ref) < at);
          if (a) {
            if (b) list[i] = b;
            else list.splice(i, 1);
          } else if (b) list.splice(i, 0, b);
        }
      }
      this.outcomes = outcomes;
      this.blocks = blocks;
    }
    let held = this.notAccepted;
    for (const ref of changed) {
      const out = this.services.has(ref) && !acceptedPlan(ref);
      if (out !== held.has(ref)) {
        if (held === this.notAccepted) held = new Set(held);
        if (out) held.add(ref);
        else held.delete(ref);
      }
    }
    this.notAccepted = held;

    // Messages: each object's own, in place in the sorted list.
    if (messagesChanged.size > 0) {
      const all = this.messages.slice();
      for (const object of [...messagesChanged].sort(compareMessageObjects)) {
        const own: Message[] = [...(this.byRef.get(object)?.messages ?? [])];
        if (this.services.has(object)) own.push(...(this.cache.services.get(object)?.messages ?? []), ...(this.mesh.get(object)?.messages ?? []), ...(this.conflicts.get(object) ?? []));
        own.sort(compareMessages);
        const lo = lowerBound(all, (m) => compareMessageObjects(m.object, object) < 0);
        let hi = lo;
        while (hi < all.length && (all[hi] as Message).object === object) hi++;
        all.splice(lo, hi - lo, ...own);
      }
      this.messages = all;
    }

    const blocks = this.blocks;
    let flat: Record<string, KubeObject[]> | undefined;
    const result: DetailedRenderResult = {
      get clusters() {
        return (flat ??= flatten(names, blocks));
      },
      messages: this.messages,
      services: this.outcomes,
      snapshot,
      blocks,
      notAccepted: this.notAccepted,
      ...(since ? { changes: this.changesSince(since, changed, replacedRefs) } : {}),
    };
    // The previous result's own `changes` would keep the render before it alive, and that one the render before it,
    // back to the first: every render since the start. Consumers read the current render's changes only.
    if (since) delete (since as { changes?: RenderChanges }).changes;
    this.result = result;
    return result;
  }

  private changesSince(since: DetailedRenderResult, refs: ReadonlySet<string>, replaced: ReadonlySet<string>): RenderChanges {
    const blocks = new Map<string, ReadonlyMap<string, RenderBlock>>();
    const gone = new Set<string>();
    for (const ref of refs) {
      if (!this.services.has(ref)) gone.add(ref);
      const b = this.blocksOf.get(ref);
      if (b) blocks.set(ref, b);
    }
    this.order(''); // built now: the map is replaced, never changed, when the order changes
    const positions = this.ordIdx as Map<string, number>;
    return { since, refs, replaced, blocks, gone, position: (ref) => positions.get(ref) ?? -1, document: (ref) => this.byRef.get(ref)?.raw };
  }
}

/** Every cluster's objects in output order, from the blocks (the order renderFresh sorts into). */
function flatten(names: readonly string[], blocks: ReadonlyMap<string, readonly RenderBlock[]>): Record<string, KubeObject[]> {
  const out: Record<string, KubeObject[]> = {};
  for (const name of names) {
    const sorter = new EntrySorter();
    (blocks.get(name) ?? []).forEach((b, p) => {
      for (const o of b.objects()) sorter.add(sortKey(o), o, p, o.kind);
    });
    out[name] = sorter.sorted().map((e) => e.o);
  }
  return out;
}
