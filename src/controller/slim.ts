/**
 * What the controller keeps of a live Spillway-labelled object in a member cluster. A fleet of 10,000
 * FailoverServices over five clusters is 700,000 such objects, so the informer caches keep, per object, only what the
 * planner, the executor's deletes and the ownership check need (like controller-runtime's cache transforms), computed
 * once when the object arrives (`compactLive`):
 *   - apiVersion, kind, and of the metadata name, namespace, uid and resourceVersion (delete preconditions) and
 *     deletionTimestamp;
 *   - flattened into the same record (`live` is the record itself): the ownership verdict for the cluster the object was read from (owned, adoptable, or not ours and why),
 *     the FailoverService its owner labels name, and a content hash of the object's projection onto the fields field
 *     manager `spillway` owns (`ownedProjection`).
 * The planner compares that hash with the hash of the desired object's asserted part (src/core/content-hash.ts):
 * equal hashes mean server-side applying the desired object would change nothing, so a restart's first plan is one
 * number comparison per object instead of a deep comparison.
 *
 * Why the hash comparison is sound: the projection holds, for every field our Apply entry owns, the live value (a
 * leaf: a scalar, an atomic list, or a map whose owned children are not listed, taken whole), and a marker no desired
 * object can contain for an owned field that has no value. When it equals the desired object's asserted part, every
 * asserted field is live with that very value (so `isSubset` holds) and every owned field is asserted (so no owned
 * field is missing): `applyIsNoop` (compare.ts) holds. The converse holds whenever our Apply entry owns exactly the
 * fields we assert, which is what a server records after our apply and keeps until someone else changes one of them
 * (then that field leaves our entry, and its value changed: both say "apply"). Two cases compare unequal while
 * `applyIsNoop` says no-op, and both plan one apply that makes them equal (or that the apply memo then settles):
 *   - the desired object now asserts a field that is already live with the same value but not owned by us (the apply
 *     takes ownership of it, which is a change of managedFields);
 *   - the server changed a value inside a leaf we own (a default inside a list item; Istio's CRDs declare no
 *     defaults): the apply changes nothing, and the memo records that resourceVersion as settled.
 * test/controller/compact.test.ts checks this against a server-side apply implementation on random objects.
 * Nothing about pruning depends on the hash: prunes are decided by key and the ownership verdict, both exact.
 */
import type { KubeObject } from '../api/types.ts';
import { LABEL_CLUSTER, LABEL_MANAGED_BY, LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE, MANAGED_BY_VALUE } from '../api/types.ts';
import { ANNOTATION_OWNER, FIELD_MANAGER, isSpillwayOwned, notOwnedReason } from '../api/ownership.ts';
import { Absent, canonicalHash } from '../core/content-hash.ts';
import { objectKey } from '../kube/resources.ts';

/** What the planner knows about a live object, computed once from the whole object. */
export interface LiveFacts {
  /** The cluster the verdict is for. */
  cluster: string;
  /**
   * owned: Spillway wrote it for this cluster (labels, owner annotation and managedFields agree);
   * adopt: written by a Spillway from before the owner annotation (our labels in our Apply entry, no annotation):
   *   applying the desired object under its own name adopts it, and it is never pruned;
   * foreign: not ours (`reason` says why): never written to, never pruned.
   */
  verdict: 'owned' | 'adopt' | 'foreign';
  reason?: string;
  /** `FailoverService/<namespace>/<name>` its owner labels name, if any. */
  owner?: string;
  /** canonicalHash of `ownedProjection` (see above). */
  hash: number;
}

/**
 * A live object as the member informers cache it: KubeObject-shaped (deletes read kind, name, uid, resourceVersion),
 * one object: the kept metadata and the facts are its own fields (`metadata` and `live` are the record itself).
 */
export class CompactLive implements LiveFacts {
  [key: string]: unknown;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly deletionTimestamp: string | undefined;
  readonly cluster: string;
  readonly verdict: LiveFacts['verdict'];
  readonly reason: string | undefined;
  readonly owner: string | undefined;
  readonly hash: number;
  constructor(apiVersion: string, kind: string, metadata: Pick<KubeObject['metadata'], 'name' | 'namespace' | 'uid' | 'resourceVersion' | 'deletionTimestamp'>, facts: LiveFacts) {
    this.apiVersion = apiVersion;
    this.kind = kind;
    this.name = metadata.name;
    this.namespace = metadata.namespace;
    this.uid = metadata.uid;
    this.resourceVersion = metadata.resourceVersion;
    this.deletionTimestamp = metadata.deletionTimestamp;
    this.cluster = facts.cluster;
    this.verdict = facts.verdict;
    this.reason = facts.reason;
    this.owner = facts.owner;
    this.hash = facts.hash;
  }
  /** The kept metadata (name, namespace, uid, resourceVersion, deletionTimestamp): fields of this record. */
  get metadata(): KubeObject['metadata'] {
    return this as unknown as KubeObject['metadata'];
  }
  get live(): LiveFacts {
    return this;
  }
  /** What JSON (logs, tests) shows: the object part and its facts, as the record held them before it was flat. */
  toJSON(): Record<string, unknown> {
    const { name, namespace, uid, resourceVersion, deletionTimestamp, cluster, verdict, reason, owner, hash } = this;
    const metadata = { name, ...(namespace !== undefined ? { namespace } : {}), ...(uid !== undefined ? { uid } : {}), ...(resourceVersion !== undefined ? { resourceVersion } : {}), ...(deletionTimestamp !== undefined ? { deletionTimestamp } : {}) };
    return { apiVersion: this.apiVersion, kind: this.kind, metadata, live: { cluster, verdict, ...(reason !== undefined ? { reason } : {}), ...(owner !== undefined ? { owner } : {}), hash } };
  }
}

interface ManagedEntry {
  manager?: unknown;
  operation?: unknown;
  subresource?: unknown;
  fieldsV1?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasFieldChildren(fields: Record<string, unknown>): boolean {
  for (const k in fields) if (k.startsWith('f:')) return true;
  return false;
}

/** Copies the owned part of `live` (per `fields`, a fieldsV1 node) into `out`. */
function project(fields: Record<string, unknown>, live: unknown, out: Record<string, unknown>, path: string): void {
  for (const [k, sub] of Object.entries(fields)) {
    if (!k.startsWith('f:')) continue; // '.', and k:/v:/i: entries under a list we take whole
    const name = k.slice(2);
    const p = path ? `${path}.${name}` : name;
    const v = isRecord(live) ? live[name] : undefined;
    if (v === undefined) {
      out[name] = new Absent(p);
      continue;
    }
    if (isRecord(sub) && hasFieldChildren(sub) && isRecord(v)) {
      const prior = out[name];
      const into = isRecord(prior) && !(prior instanceof Absent) ? prior : {};
      out[name] = into;
      project(sub, v, into, p);
    } else out[name] = v;
  }
}

/**
 * The fields of `o` that `manager` owns through its Apply entries of the main resource, shaped as the desired
 * object's asserted part is (src/core/content-hash.ts `assertedPart`): no apiVersion or kind; of the metadata,
 * labels and annotations (name and namespace are the key; any other owned metadata field is an Absent marker, as
 * the desired object never asserts one).
 */
export function ownedProjection(o: KubeObject, manager = FIELD_MANAGER): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const entries = (o.metadata as { managedFields?: unknown }).managedFields;
  if (Array.isArray(entries)) {
    for (const e of entries as ManagedEntry[]) {
      if (e === null || typeof e !== 'object' || e.manager !== manager || e.operation !== 'Apply' || (e.subresource ?? '') !== '' || !isRecord(e.fieldsV1)) continue;
      for (const [k, sub] of Object.entries(e.fieldsV1)) {
        if (!k.startsWith('f:')) continue;
        const name = k.slice(2);
        if (name === 'apiVersion' || name === 'kind') continue;
        if (name !== 'metadata') {
          project({ [k]: sub }, o, out, '');
          continue;
        }
        const meta = isRecord(out.metadata) ? out.metadata : (out.metadata = {});
        if (!isRecord(sub)) continue;
        for (const [mk, msub] of Object.entries(sub)) {
          if (!mk.startsWith('f:')) continue;
          const mname = mk.slice(2);
          if (mname === 'name' || mname === 'namespace') continue;
          if (mname === 'labels' || mname === 'annotations') project({ [mk]: msub }, o.metadata, meta, 'metadata');
          else meta[mname] = new Absent(`metadata.${mname}`);
        }
      }
    }
  }
  // The desired object's asserted part always has a metadata member (possibly empty).
  if (!isRecord(out.metadata)) out.metadata = {};
  return out;
}

/** canonicalHash of the projection of `o` onto the fields `manager` owns. */
export function ownedHash(o: KubeObject, manager = FIELD_MANAGER): number {
  return canonicalHash(ownedProjection(o, manager));
}

/**
 * An object with our labels for `cluster` that field manager `spillway` applied (its labels are in our Apply
 * entry) but that has no owner annotation yet: written by a Spillway from before the annotation. When it is
 * desired under its own name, applying the desired object adopts it (adds the annotation); it is never pruned.
 */
export function appliedBeforeOwnerAnnotation(o: KubeObject, cluster: string): boolean {
  const l = o.metadata.labels ?? {};
  if (l[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE || l[LABEL_CLUSTER] !== cluster || o.metadata.annotations?.[ANNOTATION_OWNER] !== undefined) return false;
  const entries = (o.metadata as { managedFields?: unknown }).managedFields;
  return Array.isArray(entries) && entries.some((e: { manager?: string; operation?: string; subresource?: string; fieldsV1?: Record<string, Record<string, Record<string, unknown>>> }) =>
    e?.manager === FIELD_MANAGER && e.operation === 'Apply' && (e.subresource ?? '') === '' && e.fieldsV1?.['f:metadata']?.['f:labels']?.[`f:${LABEL_MANAGED_BY}`] !== undefined);
}

/** `FailoverService/<namespace>/<name>` of the service that wrote `o` (its owner labels), if it says. */
export function ownerRef(o: KubeObject): string | undefined {
  const l = o.metadata.labels ?? {};
  const name = l[LABEL_OWNER_NAME];
  return name === undefined ? undefined : ['FailoverService', l[LABEL_OWNER_NAMESPACE] ?? 'default', name].join('/');
}

export function collisionReason(o: KubeObject, cluster: string): string {
  const what = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
  const l = o.metadata.labels ?? {};
  if (l[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) return `${what} already exists in cluster ${cluster} and is not managed by Spillway; left untouched`;
  return `${what} in cluster ${cluster} ${notOwnedReason(o, cluster) ?? 'is not Spillway\'s'}; left untouched`;
}

/** Shares equal strings (owner refs, namespaces, kinds) between a cluster's compact objects. Bounded. */
export class StringInterner {
  private readonly strings = new Map<string, string>();
  constructor(private readonly max = 200_000) {}
  intern(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    if (this.strings.size < this.max) this.strings.set(s, s);
    return s;
  }
}

/** The facts of a whole object `o` read from `cluster`. */
export function factsOf(o: KubeObject, cluster: string, interner?: StringInterner): LiveFacts {
  const owned = isSpillwayOwned(o, cluster);
  const verdict = owned ? 'owned' : appliedBeforeOwnerAnnotation(o, cluster) ? 'adopt' : 'foreign';
  const owner = ownerRef(o);
  return {
    cluster,
    verdict,
    ...(verdict === 'foreign' ? { reason: collisionReason(o, cluster) } : {}),
    ...(owner !== undefined ? { owner: interner ? interner.intern(owner) : owner } : {}),
    hash: ownedHash(o),
  };
}

/**
 * A compact copy of `o` (see above), read from `cluster`; `o` itself is not modified. With an interner, the strings
 * several objects (and clusters, when the interner is shared) hold equal are one: names, namespaces, kinds, owners.
 */
export function compactLive(o: KubeObject, cluster: string, interner?: StringInterner): CompactLive {
  if (o instanceof CompactLive && o.cluster === cluster) return o;
  const m = o.metadata;
  const shared = (v: string): string => (interner ? interner.intern(v) : v);
  const metadata = {
    name: shared(m.name),
    namespace: m.namespace !== undefined ? shared(m.namespace) : undefined,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    deletionTimestamp: (m as { deletionTimestamp?: string }).deletionTimestamp,
  };
  return new CompactLive(shared(o.apiVersion), shared(o.kind), metadata, factsOf(o, cluster, interner));
}

const computed = new WeakMap<KubeObject, LiveFacts>();

/**
 * The facts of a live object for `cluster`: those a compact copy carries, or (a whole object: a probe's GET, tests)
 * computed from it.
 */
export function liveFacts(o: KubeObject, cluster: string): LiveFacts {
  if (o instanceof CompactLive && o.cluster === cluster) return o;
  let c = computed.get(o);
  if (!c || c.cluster !== cluster) computed.set(o, (c = factsOf(o, cluster)));
  return c;
}

/** One kind's live objects by namespace and name: an informer's cache. */
export interface LiveStore {
  readonly type: { readonly group: string; readonly kind: string };
  get(namespace: string | undefined, name: string): KubeObject | undefined;
  list(): readonly KubeObject[];
  readonly size: number;
}

/**
 * The live objects of some stores (one per kind) by objectKey (`group/Kind/namespace/name`), read through to the
 * stores: the informers' caches are the only index of a member's 140,000 objects, not also a map of their keys.
 */
export class LabelledView {
  constructor(private readonly stores: () => Iterable<LiveStore>) {}

  get(key: string): KubeObject | undefined {
    for (const s of this.stores()) {
      const { group, kind } = s.type;
      const k = group.length + 1;
      const n = k + kind.length + 1;
      if (key.charCodeAt(group.length) !== 47 || key.charCodeAt(n - 1) !== 47 || !key.startsWith(group) || !key.startsWith(kind, k)) continue;
      const slash = key.indexOf('/', n);
      if (slash < 0) return undefined;
      return s.get(key.slice(n, slash), key.slice(slash + 1));
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  get size(): number {
    let n = 0;
    for (const s of this.stores()) n += s.size;
    return n;
  }

  *keys(): IterableIterator<string> {
    for (const s of this.stores()) for (const o of s.list()) yield objectKey(o);
  }

  *values(): IterableIterator<KubeObject> {
    for (const s of this.stores()) yield* s.list();
  }

  *[Symbol.iterator](): IterableIterator<[string, KubeObject]> {
    for (const s of this.stores()) for (const o of s.list()) yield [objectKey(o), o];
  }
}
