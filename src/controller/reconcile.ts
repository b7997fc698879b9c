/**
 * The Reconcile contract (pure; no I/O, no clock):
 *
 *   planReconcile({docs, clusters, memo, renderCache?, planCache?}) -> {render, clusters: ClusterPlan[]}
 *     docs      the management cluster's MeshClusters, MeshWorkloads and FailoverServices (informer caches)
 *     clusters  per member cluster: is its live state trustworthy (`ready`), the objects in it that carry
 *               Spillway's managed-by label, and (optionally) which of them changed since a given epoch
 *     memo      what we last applied per object (the desired object, and the resourceVersion it produced)
 *     caches    optional, kept across reconciles: they change how much work a plan takes, never the plan
 *   Per cluster the plan lists objects to apply (owned and different), objects to probe (not seen with our
 *   labels: the executor GETs them and calls `decide`), objects to prune (ours for this cluster, no longer
 *   desired) and collisions. A cluster that is not ready gets no writes and no prunes at all.
 *
 *   serviceStatus(...) / clusterStatus(...) turn the render outcome and what the executor achieved into the
 *   status subresources; `sameStatus` tells whether a write is needed.
 *
 * The executor (controller.ts) performs the plan: server-side apply with field manager `spillway`, deletes with
 * uid + resourceVersion preconditions, and status merge patches, skipping anything that would change nothing.
 */
import { CHECKED } from '../check/conditions.ts';
import type { CheckCondition, CheckFinding } from '../check/conditions.ts';
import { renderDetailed } from '../core/render.ts';
import type { DetailedRenderResult, RenderBlock, RenderCache, ServiceOutcome } from '../core/render.ts';
import type { Message } from '../analyze/messages.ts';
import { conditionText } from '../api/messages.ts';
import type { KubeObject } from '../api/types.ts';
import { FIELD_MANAGER } from '../api/ownership.ts';
import { desiredHash } from '../core/content-hash.ts';
import { objectKey } from '../kube/resources.ts';
import type { RenderPolicy } from '../model/snapshot.ts';
import { jsonEqual } from './compare.ts';
import { collisionReason, liveFacts, ownerRef } from './slim.ts';

export { collisionReason, ownerRef };

export { FIELD_MANAGER };

export interface LiveCluster {
  /** Every output kind listed since (re)connecting and the watches currently healthy. */
  ready: boolean;
  notReadyReason?: string;
  /**
   * Objects in this cluster carrying `app.kubernetes.io/managed-by=spillway`, by objectKey: compact copies
   * (slim.ts `compactLive`, as the member informers keep them) or whole objects (their facts are then computed).
   */
  labelled: LiveObjects;
  /** Optional change tracking: a counter of changes made to `labelled` (the same map, updated in place). */
  epoch?: number;
  /** The keys changed in `labelled` after `epoch`; undefined when that is no longer known (say, the map was rebuilt). */
  changedSince?(epoch: number): Iterable<string> | undefined;
}

/**
 * Live objects by objectKey: what the planner reads of a Map (a Map is one; a member connection's is a view over its
 * informers' caches, slim.ts LabelledView, so that no second map of 700,000 keys is kept).
 */
export interface LiveObjects {
  get(key: string): KubeObject | undefined;
  has(key: string): boolean;
  readonly size: number;
  keys(): Iterable<string>;
  [Symbol.iterator](): Iterator<[string, KubeObject]>;
  values(): Iterable<KubeObject>;
}

export interface MemoEntry {
  /** desiredHash of the desired object we applied. */
  hash: number;
  resourceVersion: string;
}

/** What we last applied: `cluster` + objectKey -> the desired object and the resourceVersion the apply produced. */
export type ApplyMemo = (cluster: string, key: string) => MemoEntry | undefined;

export interface PlannedObject {
  key: string;
  /** The FailoverService whose block it comes from, when planned from a render. */
  readonly ref?: string;
  /** The desired object; a plan's may be translated when first read (read it once per write). */
  readonly object: KubeObject;
  /** desiredHash(object); computed from the object when absent. */
  hash?: number;
}

export interface Collision {
  key: string;
  /** Why we will not touch it. */
  reason: string;
}

export interface ClusterPlan {
  cluster: string;
  /** Set when the cluster is not ready: nothing is applied or pruned there. */
  skipped?: string;
  /** Objects we own there whose live state differs from the desired one: apply with force. */
  apply: PlannedObject[];
  /** Desired objects not seen with our labels: GET, then `decide`. */
  probe: PlannedObject[];
  /** Objects ours for this cluster and no longer desired: delete with uid/resourceVersion preconditions. */
  prune: KubeObject[];
  collisions: Collision[];
  /**
   * Owned objects found as desired (the hash of what we own of the live object equals the desired hash, or the memo
   * says we applied exactly this onto exactly this version): nothing to do.
   */
  settled: number;
  /**
   * Objects of FailoverServices that exist but are not accepted (an invalid edit): left exactly as they are, the
   * last good configuration. Counted per service ref.
   */
  held: Map<string, number>;
}

export interface ReconcileInput {
  docs: readonly KubeObject[];
  clusters: ReadonlyMap<string, LiveCluster>;
  memo: ApplyMemo;
  /** Reused across reconciles: unchanged services then render to the very objects the memo holds. */
  renderCache?: RenderCache;
  /** Render settings that are not in the documents (allowed host suffixes). */
  policy?: Partial<RenderPolicy>;
  /** Reused across reconciles with the same memo: services settled and unchanged since are not examined again. */
  planCache?: PlanCache;
  /** Clusters whose MeshCluster was deleted while they are still reachable: everything Spillway wrote there goes. */
  drain?: readonly string[];
  /**
   * The last accepted render of each FailoverService, kept across reconciles (updated by planReconcile). While a
   * service is held (not accepted) its last good objects are desired again, so an edit or a deletion made to one of
   * them in a member is repaired. Without it (say, after a restart) held objects are only left as they are.
   */
  lastGood?: LastGoodRenders;
}

/**
 * Per FailoverService (ref), per cluster, the block of its last accepted render (the render's own). Entries
 * go when the service is deleted. What the controller remembers; a restarted controller starts empty.
 */
export class LastGoodRenders {
  private readonly byRef = new Map<string, Map<string, RenderBlock>>();

  private last: DetailedRenderResult | undefined;

  /** @internal Records the accepted services of `render`, forgets deleted ones. */
  update(render: DetailedRenderResult): void {
    const changes = render.changes;
    const last = this.last;
    this.last = render;
    if (render === last) return;
    if (changes && changes.since === last) {
      // Only what changed since the render recorded last.
      for (const ref of changes.refs) {
        if (changes.gone.has(ref)) this.byRef.delete(ref);
        else if (!render.notAccepted?.has(ref)) this.byRef.set(ref, new Map(changes.blocks.get(ref) ?? []));
      }
      return;
    }
    const accepted = new Map<string, Map<string, RenderBlock>>();
    for (const s of render.services) if (s.accepted) accepted.set(s.ref, new Map());
    for (const [cluster, blocks] of render.blocks) for (const b of blocks) accepted.get(b.ref)?.set(cluster, b);
    const present = new Set(render.services.map((s) => s.ref));
    for (const ref of [...this.byRef.keys()]) if (!present.has(ref)) this.byRef.delete(ref);
    for (const [ref, per] of accepted) this.byRef.set(ref, per);
  }

  /** The last good block of `ref` in `cluster`, if any. */
  get(ref: string, cluster: string): RenderBlock | undefined {
    return this.byRef.get(ref)?.get(cluster);
  }

  has(ref: string): boolean {
    return this.byRef.has(ref);
  }
}

export interface ReconcilePlan {
  render: DetailedRenderResult;
  clusters: ClusterPlan[];
}

/**
 * An object Spillway wrote for `cluster`: its labels, its `spillway.dev/owner` annotation and its managedFields
 * (field manager `spillway`) all say so (see src/api/ownership.ts). Only such objects are ever pruned. Reads the
 * verdict a compact live copy carries (computed once, from the whole object: slim.ts).
 */
export function isOwnedBy(o: KubeObject, cluster: string): boolean {
  return liveFacts(o, cluster).verdict === 'owned';
}

/**
 * The FailoverServices whose objects must stay as they are: those that exist but are not accepted. An invalid edit
 * (or inputs that leave no workload available) changes nothing that is live; only deleting the FailoverService
 * removes what it wrote. Stateless, so a restarted controller holds the same objects.
 */
export function heldServices(render: DetailedRenderResult): ReadonlySet<string> {
  return render.notAccepted ?? new Set(render.services.filter((s) => !s.accepted).map((s) => s.ref));
}

export type Decision = 'create' | 'update' | 'settled' | 'collision';

/**
 * Decides what to do with one desired object given what is live (undefined: it does not exist). `settled`: it is in
 * place, because the hash of the live object's projection onto the fields we own equals the desired object's hash
 * (slim.ts says why that means an apply would change nothing), or because the memo says we applied exactly this
 * onto exactly this version (the server changed something inside a field we own, say a default in a list item, and
 * applying again would change nothing). A comparison of two numbers either way: no memo is needed for objects in
 * place, so the memo holds only such exceptions.
 */
export function decide(desired: { key: string; hash?: number; object?: KubeObject }, live: KubeObject | undefined, cluster: string, memo: ApplyMemo): Decision {
  if (!live) return 'create';
  const facts = liveFacts(live, cluster);
  if (facts.verdict !== 'owned') return facts.verdict === 'adopt' ? 'update' : 'collision';
  const hash = desired.hash ?? desiredHash(desired.object as KubeObject);
  const m = memo(cluster, desired.key);
  if (m && m.resourceVersion === live.metadata.resourceVersion && m.hash === hash) return 'settled';
  return facts.hash === hash ? 'settled' : 'update';
}

/** Object keys of a list of desired objects (cached per array), and whether they are distinct. */
const listKeys = new WeakMap<readonly KubeObject[], { keys: string[]; distinct: boolean }>();

export function keysOf(objects: readonly KubeObject[]): { keys: string[]; distinct: boolean } {
  let k = listKeys.get(objects);
  if (!k) {
    const keys = objects.map(objectKey);
    k = { keys, distinct: new Set(keys).size === keys.length };
    listKeys.set(objects, k);
  }
  return k;
}

/** Whether a block's keys are distinct (cached per keys array). */
const distinctKeys = new WeakMap<readonly string[], boolean>();
function distinctOf(keys: readonly string[]): boolean {
  let d = distinctKeys.get(keys);
  if (d === undefined) distinctKeys.set(keys, (d = new Set(keys).size === keys.length));
  return d;
}

/** A block over a list of whole objects (tests, and plans made outside a render). */
export function blockOfObjects(ref: string, objects: readonly KubeObject[]): RenderBlock {
  return { ref, keys: keysOf(objects).keys, hashes: Float64Array.from(objects, (o) => desiredHash(o)), objects: () => objects };
}

/**
 * What the planner remembers about each cluster between reconciles, so that a reconcile costs what changed rather
 * than what exists: the services whose objects were all settled (desired object, live object and memo agreeing), and
 * the live-state epoch they were checked at. A service is re-examined when its rendered block is a different array
 * (its render changed) or one of its keys changed live since (LiveCluster.changedSince). Dropping it (`forget`) is
 * always safe: the next plan of that cluster examines every object.
 */
export class PlanCache {
  private readonly clusters = new Map<string, ClusterPlanState>();

  forget(cluster: string): void {
    this.clusters.delete(cluster);
  }

  /** @internal */
  state(cluster: string): ClusterPlanState | undefined {
    return this.clusters.get(cluster);
  }

  /** @internal */
  set(cluster: string, state: ClusterPlanState): void {
    this.clusters.set(cluster, state);
  }
}

/**
 * Which settled service a key of one cluster belongs to. Nearly every object Spillway writes is named after its
 * FailoverService in that service's namespace (`<namespace>/<service>` or `<namespace>/<service>-...`), so its owner is
 * found from the key itself: the candidates it names, confirmed by their settled keys. Only the other keys (an
 * EnvoyFilter in the root namespace, say) are kept in a map: not 140,000 entries per cluster at 10,000 services.
 */
class Owners {
  private readonly others = new Map<string, string>();

  /** `key` (group/Kind/namespace/name) is named after `ref` (FailoverService/namespace/name). */
  private static named(key: string, ref: string): boolean {
    const b = key.indexOf('/', key.indexOf('/') + 1);
    const own = ref.slice(ref.indexOf('/') + 1);
    return key.startsWith(own, b + 1) && (key.length === b + 1 + own.length || key.charCodeAt(b + 1 + own.length) === 45);
  }

  add(ref: string, keys: readonly string[]): void {
    for (const k of keys) if (!Owners.named(k, ref)) this.others.set(k, ref);
  }

  remove(ref: string, keys: readonly string[]): void {
    for (const k of keys) if (this.others.get(k) === ref) this.others.delete(k);
  }

  /** Adds to `out` the settled services `key` belongs to. */
  refsOf(key: string, settled: ReadonlyMap<string, SettledBlock>, out: Set<string>): void {
    const other = this.others.get(key);
    if (other !== undefined) out.add(other);
    const b = key.indexOf('/', key.indexOf('/') + 1);
    const c = key.indexOf('/', b + 1);
    if (b < 0 || c < 0) return;
    const ns = key.slice(b + 1, c);
    for (let i = c + 1; i <= key.length; i++) {
      if (i < key.length && key.charCodeAt(i) !== 45) continue;
      const ref = ['FailoverService', ns, key.slice(c + 1, i)].join('/');
      if (settled.get(ref)?.keys.includes(key)) out.add(ref);
    }
  }
}

interface SettledBlock {
  block: RenderBlock;
  keys: readonly string[];
}

interface ClusterPlanState {
  /** The live map planned against (a new map means a new connection: start over). */
  labelled: LiveObjects;
  epoch: number;
  /** Services whose objects were all settled, by ref. */
  settled: Map<string, SettledBlock>;
  /** Key -> ref, for the keys of settled services (to find which services a live change touches). */
  owner: Owners;
  /** The blocks planned, when they were exactly a render's (no held blocks added): the next plan may be a difference. */
  blocks?: readonly RenderBlock[];
  /** Blocks visited and not all settled: visited again by every plan, with how many of their keys exist live. */
  unsettled: Map<string, { block: RenderBlock; found: number; distinct: boolean }>;
  /** Keys of settled blocks, and desired keys found live in all blocks. */
  settledKeys: number;
  found: number;
}

/**
 * How the blocks of one cluster differ from those the cluster was last planned with (see RenderChanges): with it,
 * a plan visits only the changed services, those a live change touched and those not settled last time.
 */
export interface BlockChanges {
  /** The blocks of this cluster in the render the changes are relative to. */
  since: readonly RenderBlock[] | undefined;
  refs: ReadonlySet<string>;
  /** The block of a changed ref in this cluster, if it has one. */
  block(ref: string): RenderBlock | undefined;
  /** The order of the blocks (visited services are planned in block order). */
  position(ref: string): number;
}

/** What deciding one block's objects found. */
interface Visit {
  keys: readonly string[];
  distinct: boolean;
  /** Every object settled. */
  all: boolean;
  /** Objects that exist live. */
  found: number;
  settled: number;
}

/**
 * A block's objects for a plan: translated when the executor comes to the first of them, and let go once each object
 * planned from the block has been taken. Translated while planning, an empty member's plan (every object probed:
 * 140,000 per cluster at 10,000 services) held every object until its last write. An object read again after that
 * is translated again (the same object: translation is pure).
 */
class LazyObjects {
  private objects: readonly KubeObject[] | undefined;
  untaken = 0;
  constructor(private readonly block: RenderBlock) {}

  get ref(): string {
    return this.block.ref;
  }

  take(i: number, first: boolean): KubeObject {
    const o = (this.objects ??= this.block.objects())[i] as KubeObject;
    if (first && --this.untaken === 0) this.objects = undefined;
    return o;
  }
}

/** One planned object of a block (one small record per object; the object itself comes from LazyObjects). */
class LazyPlanned implements PlannedObject {
  private taken = false;
  constructor(
    readonly key: string,
    readonly hash: number,
    private readonly from: LazyObjects,
    private readonly index: number,
  ) {
    from.untaken++;
  }

  get ref(): string {
    return this.from.ref;
  }

  get object(): KubeObject {
    const first = !this.taken;
    this.taken = true;
    return this.from.take(this.index, first);
  }
}

/** Decides each object of one block into `plan`. */
function visitBlock(plan: ClusterPlan, block: RenderBlock, live: LiveCluster, cluster: string, memo: ApplyMemo): Visit {
  const { keys, hashes } = block;
  const distinct = distinctOf(keys);
  let all = true;
  let found = 0;
  let settled = 0;
  // The block's objects, translated again only if one of them must be written (see LazyObjects).
  let lazy: LazyObjects | undefined;
  const planned = (i: number): PlannedObject => new LazyPlanned(keys[i] as string, hashes[i] as number, (lazy ??= new LazyObjects(block)), i);
  for (let i = 0; i < keys.length; i++) {
    const d = { key: keys[i] as string, hash: hashes[i] as number };
    const l = live.labelled.get(d.key);
    if (!l) {
      plan.probe.push(planned(i));
      all = false;
      continue;
    }
    found++;
    const decision = decide(d, l, cluster, memo);
    if (decision === 'settled') settled++;
    else {
      all = false;
      if (decision === 'update') plan.apply.push(planned(i));
      else plan.collisions.push({ key: d.key, reason: liveFacts(l, cluster).reason ?? 'not Spillway\'s; left untouched' });
    }
  }
  return { keys, distinct, all, found, settled };
}

/**
 * Plans one cluster from the render's blocks. With a PlanCache and a LiveCluster that reports its changes, services
 * found settled last time whose block and live objects did not change since are counted as settled without looking
 * at their objects; every other object goes through `decide`, exactly as without the cache. With `changes` too (the
 * blocks are a render's made as a difference from the render this cluster was last planned with), only the changed
 * services, those a live change touched and those not settled last time are visited at all.
 */
export function planClusterBlocks(cluster: string, blocks: readonly RenderBlock[], live: LiveCluster | undefined, memo: ApplyMemo, cache?: PlanCache, held?: ReadonlySet<string>, changes?: BlockChanges | null): ClusterPlan {
  const plan: ClusterPlan = { cluster, apply: [], probe: [], prune: [], collisions: [], settled: 0, held: new Map() };
  if (!live || !live.ready) {
    plan.skipped = live?.notReadyReason ?? 'not connected';
    return plan;
  }
  const prev = cache?.state(cluster);
  const dirty = prev && prev.labelled === live.labelled && live.epoch !== undefined ? live.changedSince?.(prev.epoch) : undefined;
  const reuse = prev !== undefined && dirty !== undefined;
  const dirtyRefs = new Set<string>();
  if (reuse) {
    for (const k of dirty) {
      prev.owner.refsOf(k, prev.settled, dirtyRefs);
    }
  }
  let state: ClusterPlanState;
  // `changes` null: no difference is known, but `blocks` are a render's own (the next render's difference applies).
  if (reuse && changes && prev.blocks !== undefined && changes.since === prev.blocks) {
    state = planDifference(plan, prev, changes, dirtyRefs, live, cluster, memo);
    state.blocks = blocks;
  } else {
    state = planAllBlocks(plan, blocks, reuse ? prev : undefined, dirtyRefs, live, cluster, memo);
    if (changes !== undefined) state.blocks = blocks;
  }
  // Keys are distinct across blocks (the render rejects two services writing one object); within a block they are
  // checked once per block. Then counting the labelled objects found tells whether any is left over to prune.
  let distinct = true;
  for (const u of state.unsettled.values()) if (!u.distinct) distinct = false;
  if (!distinct || state.found < live.labelled.size) {
    const wanted = new Set<string>();
    for (const block of blocks) for (const k of block.keys) wanted.add(k);
    for (const [key, o] of live.labelled) {
      if (wanted.has(key)) continue;
      const facts = liveFacts(o, cluster);
      if (facts.verdict !== 'owned') continue;
      const owner = held && held.size > 0 ? facts.owner : undefined;
      if (owner !== undefined && held!.has(owner)) plan.held.set(owner, (plan.held.get(owner) ?? 0) + 1);
      else plan.prune.push(o);
    }
  }
  plan.prune.sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1));
  if (cache && live.epoch !== undefined) cache.set(cluster, { ...state, labelled: live.labelled, epoch: live.epoch });
  return plan;
}

/** Every block visited (but settled blocks that did not change skipped), as without a difference to go by. */
function planAllBlocks(plan: ClusterPlan, blocks: readonly RenderBlock[], prev: ClusterPlanState | undefined, dirtyRefs: ReadonlySet<string>, live: LiveCluster, cluster: string, memo: ApplyMemo): ClusterPlanState {
  const settled = new Map<string, SettledBlock>();
  const unsettled = new Map<string, { block: RenderBlock; found: number; distinct: boolean }>();
  let found = 0;
  let settledKeys = 0;
  for (const block of blocks) {
    const last = prev?.settled.get(block.ref);
    if (last && last.keys === block.keys && !dirtyRefs.has(block.ref)) {
      settledKeys += last.keys.length;
      found += last.keys.length;
      settled.set(block.ref, last);
      continue;
    }
    const v = visitBlock(plan, block, live, cluster, memo);
    found += v.found;
    plan.settled += v.settled;
    if (v.all && v.distinct) {
      settled.set(block.ref, { block, keys: v.keys });
      settledKeys += v.keys.length;
      plan.settled -= v.settled;
    } else unsettled.set(block.ref, { block, found: v.found, distinct: v.distinct });
  }
  plan.settled += settledKeys;
  // Keep the key -> service index in step with the settled services (changes only, not every key every time).
  const owner = prev ? prev.owner : new Owners();
  if (prev) {
    for (const [ref, b] of prev.settled) {
      if (settled.get(ref) === b) continue;
      owner.remove(ref, b.keys);
    }
  }
  for (const [ref, b] of settled) {
    if (prev && prev.settled.get(ref) === b) continue;
    owner.add(ref, b.keys);
  }
  return { labelled: live.labelled, epoch: live.epoch ?? 0, settled, owner, unsettled, settledKeys, found };
}

/** Only the blocks that changed, that a live change touched or that were not settled: the rest stay as they were. */
function planDifference(plan: ClusterPlan, prev: ClusterPlanState, changes: BlockChanges, dirtyRefs: ReadonlySet<string>, live: LiveCluster, cluster: string, memo: ApplyMemo): ClusterPlanState {
  const { settled, owner, unsettled } = prev;
  let { found, settledKeys } = prev;
  const visit = [...new Set([...changes.refs, ...dirtyRefs, ...unsettled.keys()])].sort((a, b) => changes.position(a) - changes.position(b));
  for (const ref of visit) {
    const s = settled.get(ref);
    const u = unsettled.get(ref);
    const block = changes.refs.has(ref) ? changes.block(ref) : (u?.block ?? s?.block);
    if (s) {
      settled.delete(ref);
      settledKeys -= s.keys.length;
      found -= s.keys.length;
      owner.remove(ref, s.keys);
    }
    if (u) {
      unsettled.delete(ref);
      found -= u.found;
    }
    if (!block) continue;
    if (s && block.keys === s.keys && !dirtyRefs.has(ref)) {
      // Changed elsewhere (another cluster, its outcome): here the same objects, still settled.
      settled.set(ref, s);
      settledKeys += s.keys.length;
      found += s.keys.length;
      owner.add(ref, s.keys);
      continue;
    }
    const v = visitBlock(plan, block, live, cluster, memo);
    found += v.found;
    if (v.all && v.distinct) {
      settled.set(ref, { block, keys: v.keys });
      settledKeys += v.keys.length;
      owner.add(ref, v.keys);
    } else {
      unsettled.set(ref, { block, found: v.found, distinct: v.distinct });
      plan.settled += v.settled;
    }
  }
  plan.settled += settledKeys;
  return { labelled: live.labelled, epoch: live.epoch ?? 0, settled, owner, unsettled, settledKeys, found };
}

/** Plans one cluster from a flat list of desired objects (no cache). */
export function planCluster(cluster: string, desiredObjects: readonly KubeObject[], live: LiveCluster | undefined, memo: ApplyMemo): ClusterPlan {
  return planClusterBlocks(cluster, [blockOfObjects('', desiredObjects)], live, memo);
}

/**
 * The remembered last good blocks of held services in one cluster, minus any whose objects another (accepted) service
 * now renders under the same name: the accepted render wins, the held object is not fought over.
 */
function heldBlocks(cluster: string, blocks: readonly RenderBlock[], refs: readonly string[], lastGood: LastGoodRenders): RenderBlock[] {
  const out: RenderBlock[] = [];
  let taken: Set<string> | undefined;
  for (const ref of refs) {
    const block = lastGood.get(ref, cluster);
    if (!block || block.keys.length === 0) continue;
    taken ??= new Set(blocks.flatMap((b) => b.keys));
    if (block.keys.some((k) => taken!.has(k))) continue;
    out.push(block);
  }
  return out;
}

export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const render = renderDetailed(input.docs, input.renderCache, input.policy);
  const held = heldServices(render);
  const remembered = input.lastGood ? [...held].filter((ref) => input.lastGood!.has(ref)) : [];
  const changes = render.changes;
  const clusters = [...render.blocks].map(([name, blocks]) => {
    const extra = remembered.length ? heldBlocks(name, blocks, remembered, input.lastGood!) : [];
    const diff: BlockChanges | null | undefined =
      extra.length > 0 ? undefined : changes ? { since: changes.since.blocks.get(name), refs: changes.refs, block: (ref) => changes.blocks.get(ref)?.get(name), position: (ref) => changes.position(ref) } : null;
    const plan = planClusterBlocks(name, extra.length ? [...blocks, ...extra] : blocks, input.clusters.get(name), input.memo, input.planCache, held, diff);
    // Desired again (so repaired), and still what is served for a service that is not accepted.
    for (const b of extra) plan.held.set(b.ref, b.keys.length);
    return plan;
  });
  input.lastGood?.update(render);
  // A deregistered cluster still reachable: nothing is desired there any more, nothing there is held.
  for (const name of input.drain ?? []) if (!render.blocks.has(name)) clusters.push(planClusterBlocks(name, [], input.clusters.get(name), input.memo));
  return { render, clusters };
}

// ---------------------------------------------------------------------------------------------------------------
// Status

export type SyncState = 'Synced' | 'Pending' | 'Failed';

/** Render warnings that mean a listed tier is not served (its workload or cluster is gone; one cluster left). */
export const DEGRADED_CODES: ReadonlySet<string> = new Set(['SPW127', 'SPW128', 'SPW160', 'SPW161']);

/** What the executor achieved in one cluster during one reconcile. */
export interface ClusterOutcome {
  cluster: string;
  state: SyncState;
  /** Cluster-level problem (not connected, list failed, apply errors), when not Synced. */
  message?: string;
  /** Per objectKey: why the object is not as desired (collision, write error). */
  objectErrors: ReadonlyMap<string, string>;
  applied: number;
  pruned: number;
  /** Writes that failed (retried with backoff). */
  writeFailures?: number;
  /** The longest Retry-After a failed write was answered with: the retry waits at least that long. */
  retryAfterMs?: number;
  /**
   * Pending because writes still run in the background: the services they write (or prune) objects of, and those
   * whose objects changed since they began (planned once they end). Every other service is in sync there, and its
   * status says so: one slow write does not turn every FailoverService Pending and back.
   */
  pendingServices?: ReadonlySet<string>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason: string;
  message: string;
  /** `Checked` only: its failures and warnings as data (src/check/conditions.ts). */
  findings?: CheckFinding[];
}

const servicesIndex = new WeakMap<DetailedRenderResult, Map<string, Map<string, readonly string[]>>>();

/** Object keys per (service ref, cluster), from the render's blocks (the same arrays while a service is unchanged). */
export function objectsByService(render: DetailedRenderResult): ReadonlyMap<string, ReadonlyMap<string, readonly string[]>> {
  // A render reused for the same documents (RenderCache.last) is the same object: so is this index of it.
  const known = servicesIndex.get(render);
  if (known) return known;
  const out = new Map<string, Map<string, readonly string[]>>();
  servicesIndex.set(render, out);
  for (const [cluster, blocks] of render.blocks) {
    for (const b of blocks) {
      let per = out.get(b.ref);
      if (!per) out.set(b.ref, (per = new Map()));
      per.set(cluster, b.keys);
    }
  }
  return out;
}

/** A degraded-tier message (SPW127, SPW128) is about `cluster`: its params name it, or its workload `<service>-<cluster>` does. */
function namesCluster(m: Message, cluster: string, named: RegExp): boolean {
  if (m.code === 'SPW128') return m.params.cluster === cluster || named.test(m.params.workload);
  if (m.code === 'SPW127') return named.test(m.params.workload);
  return false;
}

/** A message as `status.messages` holds it: the object is the FailoverService itself. */
const statusMessage = (m: Message): Record<string, unknown> => ({ code: m.code, level: m.level, ...(m.path !== undefined ? { path: m.path } : {}), params: m.params, message: m.message });

function withTransition(next: Omit<Condition, 'lastTransitionTime'>, prev: readonly Condition[] | undefined, now: string): Condition {
  const p = prev?.find((c) => c.type === next.type);
  return { ...next, lastTransitionTime: p && p.status === next.status && p.lastTransitionTime ? p.lastTransitionTime : now };
}

function prevConditions(status: Record<string, unknown> | undefined): Condition[] | undefined {
  const c = status?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : undefined;
}

export interface ServiceStatusInput {
  generation: number | undefined;
  outcome: ServiceOutcome;
  /** Render messages about this FailoverService. */
  messages: readonly Message[];
  /** Object keys of this service per cluster. */
  objects: ReadonlyMap<string, readonly string[]> | undefined;
  outcomes: ReadonlyMap<string, ClusterOutcome>;
  prev: Record<string, unknown> | undefined;
  now: string;
  /** Clusters holding this (not accepted) service's last good objects, left in place. */
  held?: readonly string[];
  /** The continuous checks' condition (checks.ts); null: none (not checked); absent before their first run: the previous one is kept. */
  check?: CheckCondition | null;
}

interface StatusCluster {
  name: string;
  roles: string[];
  failoverOrder: string[];
  syncState: string;
  message?: string;
}

function prevClusters(status: Record<string, unknown> | undefined): StatusCluster[] {
  const c = status?.clusters;
  return Array.isArray(c) ? (c as StatusCluster[]).filter((x) => x && typeof x.name === 'string') : [];
}

export function serviceStatus(i: ServiceStatusInput): Record<string, unknown> {
  const prev = prevConditions(i.prev);
  const gen = i.generation;
  const errors = i.messages.filter((m) => m.level === 'error');
  const notes = i.messages.filter((m) => m.level !== 'error');
  const accepted = i.outcome.accepted
    ? withTransition({ type: 'Accepted', status: 'True', observedGeneration: gen, reason: notes.length ? 'AcceptedWithWarnings' : 'Accepted', message: notes.length ? conditionText('Accepted', 'AcceptedWithWarnings', { notes }) : conditionText('Accepted', 'Accepted', {}) }, prev, i.now)
    : withTransition({ type: 'Accepted', status: 'False', observedGeneration: gen, reason: errors[0]?.code ?? 'Invalid', message: conditionText('Accepted', 'Rejected', { messages: errors.length ? errors : i.messages, held: i.held ?? [] }) }, prev, i.now);

  const degraded = i.messages.filter((m) => DEGRADED_CODES.has(m.code));
  const held = i.held ?? [];
  const clusters: StatusCluster[] = i.outcome.clusters.map((c) => {
    const out = i.outcomes.get(c.name);
    const keys = i.objects?.get(c.name) ?? [];
    const objErrors = keys.map((k) => out?.objectErrors.get(k)).filter((e): e is string => e !== undefined);
    let syncState: SyncState;
    let message: string | undefined;
    if (!out) {
      syncState = 'Pending';
      message = conditionText('Sync', 'NotConnected', {});
    } else if (objErrors.length > 0) {
      syncState = 'Failed';
      message = conditionText('Sync', 'ObjectErrors', { errors: objErrors });
    } else if (out.state !== 'Synced' && !(out.state === 'Pending' && out.pendingServices && !out.pendingServices.has(i.outcome.ref))) {
      syncState = out.state;
      message = out.message;
    } else syncState = 'Synced';
    // A client-only cluster says why it hosts no tier, whatever its sync state.
    const clientOnly = c.roles.includes('receiver') ? undefined : degraded.find((m) => m.code === 'SPW161' && m.params.cluster === c.name);
    if (clientOnly) message = conditionText('Sync', 'ClientOnly', { note: clientOnly, ...(message ? { sync: message } : {}) });
    return { name: c.name, roles: c.roles, failoverOrder: c.failoverOrder, syncState, ...(message ? { message } : {}) };
  });
  const previous = prevClusters(i.prev);
  // A tier that dropped out stays listed, as Unavailable, while the service still lists a workload that is gone:
  // the status keeps saying which cluster left (the render only knows the missing workload's name).
  const gone = degraded.filter((m) => m.code === 'SPW127' || m.code === 'SPW128');
  if (i.outcome.accepted && gone.length > 0) {
    for (const p of previous) {
      if (clusters.some((c) => c.name === p.name)) continue;
      // The warnings naming this cluster (a discovered workload is `<service>-<cluster>`), else all of them.
      const named = new RegExp(`(^|[^a-z0-9])${p.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z0-9]|$)`);
      const mine = gone.filter((m) => namesCluster(m, p.name, named));
      clusters.push({ name: p.name, roles: [], failoverOrder: [], syncState: 'Unavailable', message: conditionText('Sync', 'LeftOut', { gone: mine.length ? mine : gone }) });
    }
  }
  if (!i.outcome.accepted && held.length > 0) {
    // Not accepted: what is live stays, as the status said it was.
    for (const p of previous) if (held.includes(p.name)) clusters.push(p);
  }

  const serving = clusters.filter((c) => c.syncState !== 'Unavailable').map((c) => c.name);
  let programmed: Omit<Condition, 'lastTransitionTime'>;
  if (!i.outcome.accepted) {
    programmed = held.length
      ? { type: 'Programmed', status: 'True', observedGeneration: gen, reason: 'LastGoodServed', message: conditionText('Programmed', 'LastGoodServed', { held }) }
      : { type: 'Programmed', status: 'False', observedGeneration: gen, reason: 'NotAccepted', message: conditionText('Programmed', 'NotAccepted', {}) };
  } else {
    const failed = clusters.filter((c) => c.syncState === 'Failed');
    const pending = clusters.filter((c) => c.syncState === 'Pending');
    if (failed.length) programmed = { type: 'Programmed', status: 'False', observedGeneration: gen, reason: 'SyncFailed', message: conditionText('Programmed', 'SyncFailed', { failed }) };
    else if (pending.length) programmed = { type: 'Programmed', status: 'False', observedGeneration: gen, reason: 'Pending', message: conditionText('Programmed', 'Pending', { pending }) };
    else programmed = { type: 'Programmed', status: 'True', observedGeneration: gen, reason: 'Programmed', message: conditionText('Programmed', 'Programmed', { clusters: serving }) };
  }
  let degradedCond: Omit<Condition, 'lastTransitionTime'>;
  if (!i.outcome.accepted) degradedCond = { type: 'Degraded', status: 'Unknown', observedGeneration: gen, reason: 'NotAccepted', message: conditionText('Degraded', 'NotAccepted', { held }) };
  else if (degraded.length) {
    const left = clusters.filter((c) => c.syncState === 'Unavailable').map((c) => c.name);
    const clientsOnly = clusters.filter((c) => c.syncState !== 'Unavailable' && !c.roles.includes('receiver')).map((c) => c.name);
    const tiers = serving.filter((n) => !clientsOnly.includes(n));
    degradedCond = {
      type: 'Degraded',
      status: 'True',
      observedGeneration: gen,
      reason: degraded[0]!.code,
      message: conditionText('Degraded', 'Degraded', { left, clientsOnly, tiers, degraded }),
    };
  } else degradedCond = { type: 'Degraded', status: 'False', observedGeneration: gen, reason: 'AllTiersServing', message: conditionText('Degraded', 'AllTiersServing', {}) };
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    conditions: [accepted, withTransition(programmed, prev, i.now), withTransition(degradedCond, prev, i.now), ...checkedCondition(i.check, prev, gen, i.now)],
    clusters,
    ...(i.messages.length > 0 ? { messages: i.messages.map(statusMessage) } : {}),
    // Live tier shares are written by serving.ts on their own schedule: kept as they are.
    ...(Array.isArray(i.prev?.['serving']) ? { serving: i.prev['serving'] } : {}),
  };
}

/**
 * The `Checked` condition: the continuous checks' latest, or (before their first run after a restart) the one the
 * status already has, so that a restart rewrites nothing.
 */
function checkedCondition(check: CheckCondition | null | undefined, prev: readonly Condition[] | undefined, gen: number | undefined, now: string): Condition[] {
  if (check === null) return [];
  if (check) return [withTransition({ ...check, observedGeneration: gen }, prev, now)];
  const kept = prev?.find((c) => c.type === CHECKED);
  return kept ? [kept] : [];
}

export interface ClusterStatusInput {
  generation: number | undefined;
  /** Connection health: reachable and the last error talking to it. */
  reachable: boolean;
  connectionError?: string;
  /** Expiry of the member credentials (RFC 3339), when known. */
  credentialsExpireAt?: string;
  /** SPW214 when the credentials expire within the warning window. */
  credentialsWarning?: string;
  outcome: ClusterOutcome | undefined;
  prev: Record<string, unknown> | undefined;
  now: string;
  /** The continuous checks' condition for this cluster (null: none; absent before their first run: the previous one is kept). */
  check?: CheckCondition | null;
}

/**
 * MeshCluster.status. `lastSyncTime` moves when a reconcile changed something in the cluster, or when it became
 * synced again: an idle resync never bumps it, so idle resyncs write nothing.
 */
export function clusterStatus(i: ClusterStatusInput): Record<string, unknown> {
  const synced = i.outcome?.state === 'Synced';
  const wasSynced = i.prev?.reachable === true && i.prev?.lastError === undefined && typeof i.prev?.lastSyncTime === 'string';
  const changed = (i.outcome?.applied ?? 0) + (i.outcome?.pruned ?? 0) > 0;
  const prevSync = typeof i.prev?.lastSyncTime === 'string' ? i.prev.lastSyncTime : undefined;
  const lastSyncTime = synced && (changed || !wasSynced) ? i.now : prevSync;
  const lastError = i.connectionError ?? (i.outcome && i.outcome.state !== 'Synced' ? i.outcome.message : undefined);
  return {
    ...(i.generation !== undefined ? { observedGeneration: i.generation } : {}),
    reachable: i.reachable,
    ...(lastSyncTime ? { lastSyncTime } : {}),
    ...(lastError ? { lastError } : {}),
    ...(i.credentialsExpireAt ? { credentialsExpireAt: i.credentialsExpireAt } : {}),
    ...(i.credentialsWarning ? { credentialsWarning: i.credentialsWarning } : {}),
    ...conditionsKey(checkedCondition(i.check, prevConditions(i.prev), i.generation, i.now)),
  };
}

const conditionsKey = (c: Condition[]): { conditions?: Condition[] } => (c.length > 0 ? { conditions: c } : {});

/**
 * Whether two status inputs give the same `serviceStatus` for the same `prev` (whatever `now` is, as long as the
 * result was equal to `prev`: then no condition took `now`). `outcomes` are compared by the caller as a whole.
 */
export function sameServiceStatusInput(a: Omit<ServiceStatusInput, 'outcomes' | 'now'>, b: Omit<ServiceStatusInput, 'outcomes' | 'now'>): boolean {
  if (a.prev !== b.prev || a.generation !== b.generation) return false;
  if ((a.held ?? []).join(',') !== (b.held ?? []).join(',')) return false;
  if (a.check !== b.check) return false;
  if (!sameOutcome(a.outcome, b.outcome)) return false;
  if (a.messages.length !== b.messages.length) return false;
  for (let j = 0; j < a.messages.length; j++) {
    const x = a.messages[j]!;
    const y = b.messages[j]!;
    if (x !== y && (x.level !== y.level || x.code !== y.code || x.message !== y.message || x.path !== y.path)) return false;
  }
  if (a.objects === b.objects) return true;
  if (!a.objects || !b.objects || a.objects.size !== b.objects.size) return false;
  for (const [cluster, keys] of a.objects) {
    const other = b.objects.get(cluster);
    if (other === keys) continue;
    if (!other || other.length !== keys.length) return false;
    for (let j = 0; j < keys.length; j++) if (keys[j] !== other[j]) return false;
  }
  return true;
}

function sameOutcome(a: ServiceOutcome, b: ServiceOutcome): boolean {
  if (a === b) return true;
  if (a.accepted !== b.accepted || a.clusters.length !== b.clusters.length) return false;
  for (let j = 0; j < a.clusters.length; j++) {
    const x = a.clusters[j]!;
    const y = b.clusters[j]!;
    if (x.name !== y.name || x.roles.length !== y.roles.length || x.failoverOrder.length !== y.failoverOrder.length) return false;
    for (let k = 0; k < x.roles.length; k++) if (x.roles[k] !== y.roles[k]) return false;
    for (let k = 0; k < x.failoverOrder.length; k++) if (x.failoverOrder[k] !== y.failoverOrder[k]) return false;
  }
  return true;
}

/** Everything `serviceStatus` reads from the cluster outcomes, as one string. */
export function outcomesSignature(outcomes: ReadonlyMap<string, ClusterOutcome>): string {
  const parts: string[] = [];
  for (const [name, o] of outcomes) {
    parts.push(name, o.state, o.message ?? '\u0002');
    if (o.pendingServices) parts.push([...o.pendingServices].sort().join(' '));
    for (const [k, e] of o.objectErrors) parts.push(k, e);
    parts.push('\u0003');
  }
  return parts.join('\u0001');
}

/** Whether writing `next` over `prev` would change anything. */
export function sameStatus(prev: unknown, next: unknown): boolean {
  return jsonEqual(prev ?? {}, next);
}
