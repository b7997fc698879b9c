/**
 * Plan execution: carries out one cluster's ClusterPlan (server-side apply, probe-then-create, preconditioned
 * prune) and remembers what it applied (the apply memo). Writes go only to objects with our labels, or to names
 * nobody holds. The decisions are reconcile.ts's; this module only performs them and reports the outcome.
 */
import { conditionText } from '../api/messages.ts';
import type { KubeObject } from '../api/types.ts';
import { desiredHash } from '../core/content-hash.ts';
import { ownedHash } from './slim.ts';
import { describeError, isKubeApiError, retryAfterOf } from '../kube/errors.ts';
import { applyObject, deleteObject, getObject } from '../kube/ops.ts';
import { objectKey, typeOfObject } from '../kube/resources.ts';
import type { ClusterConnection } from './connection.ts';
import type { ControllerMetrics } from './metrics.ts';
import { NotLeaderError, pool } from './pool.ts';
import type { WriteGate } from './pool.ts';
import type { ClusterOutcome, ClusterPlan, MemoEntry, PlannedObject } from './reconcile.ts';
import { FIELD_MANAGER, collisionReason, decide } from './reconcile.ts';

/** Per cluster, per objectKey: what we last applied (see MemoEntry). Dropped whenever a cluster's connection is replaced. */
export class ApplyMemos {
  private readonly memo = new Map<string, Map<string, MemoEntry>>();

  for(cluster: string): Map<string, MemoEntry> {
    let m = this.memo.get(cluster);
    if (!m) this.memo.set(cluster, (m = new Map()));
    return m;
  }

  get(cluster: string, key: string): MemoEntry | undefined {
    return this.memo.get(cluster)?.get(key);
  }

  forget(cluster: string): void {
    this.memo.delete(cluster);
  }
}

export interface ExecuteTarget {
  /** The cluster's connection, when there is one. */
  conn: ClusterConnection | undefined;
  /** Why the cluster cannot be connected to (bad kubeconfig, missing Secret). */
  error: string | undefined;
}

const hashOf = (p: PlannedObject, object: KubeObject): number => p.hash ?? desiredHash(object);

/** Carries out one cluster's plan. */
export async function executePlan(plan: ClusterPlan, target: ExecuteTarget, memos: ApplyMemos, gate: WriteGate, metrics: ControllerMetrics): Promise<ClusterOutcome> {
  const { conn, error } = target;
  const objectErrors = new Map<string, string>();
  if (plan.skipped !== undefined || !conn) {
    const message = error ?? (conn ? `not synced: ${plan.skipped}` : 'not connected');
    const failed = error !== undefined || (conn !== undefined && (conn.everReady || conn.error !== undefined));
    return { cluster: plan.cluster, state: failed ? 'Failed' : 'Pending', message, objectErrors, applied: 0, pruned: 0 };
  }
  for (const c of plan.collisions) objectErrors.set(c.key, c.reason);
  const memo = memos.for(plan.cluster);
  let applied = 0;
  let pruned = 0;
  const writeErrors: string[] = [];
  let retryAfterMs = 0;
  const fail = (key: string, e: unknown): void => {
    if (e instanceof NotLeaderError) throw e;
    retryAfterMs = Math.max(retryAfterMs, retryAfterOf(e));
    const msg = describeError(e);
    objectErrors.set(key, msg);
    writeErrors.push(msg);
    metrics.clusterErrors.inc({ cluster: plan.cluster });
  };
  // Each task reads its planned object once (a plan translates its objects when first read, and lets them go after:
  // only the objects being written are held, not the whole plan's).
  const apply = async (p: PlannedObject, force: boolean, object = p.object): Promise<void> => {
    gate.guard();
    try {
      const res = await applyObject(conn.client, object, { fieldManager: FIELD_MANAGER, force });
      // Remembered only when what the server kept of it differs from what we sent (a default inside a list item we
      // own): the next plan then knows this version is as applied. Otherwise the hashes say so.
      const hash = hashOf(p, object);
      if (ownedHash(res) !== hash) memo.set(p.key, { hash, resourceVersion: res.metadata.resourceVersion ?? '' });
      else memo.delete(p.key);
      conn.observe(object.kind, res);
      applied++;
      metrics.applied.inc({ cluster: plan.cluster });
    } catch (e) {
      if (!force && isKubeApiError(e) && e.conflict) {
        // Created by someone else since we looked: never force fields onto an object that is not ours.
        objectErrors.set(p.key, `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name} in cluster ${plan.cluster} conflicts with another field manager; left untouched`);
        return;
      }
      fail(p.key, e);
    }
  };
  const probe = async (p: PlannedObject): Promise<void> => {
    const object = p.object;
    let liveObj: KubeObject | undefined;
    try {
      liveObj = await getObject(conn.client, typeOfObject(object), object.metadata.namespace, object.metadata.name);
    } catch (e) {
      return fail(p.key, e);
    }
    const d = decide(p, liveObj, plan.cluster, (_c, k) => memo.get(k));
    if (d === 'create') return apply(p, false, object);
    if (d === 'update') return apply(p, true, object);
    if (d === 'collision') {
      objectErrors.set(p.key, collisionReason(liveObj!, plan.cluster));
      return;
    }
    if (liveObj) conn.observe(object.kind, liveObj);
  };
  const prune = async (o: KubeObject): Promise<void> => {
    gate.guard();
    try {
      const r = await deleteObject(conn.client, o);
      if (r !== 'changed') conn.observeDeleted(o.kind, o.metadata.namespace, o.metadata.name);
      if (r === 'deleted') {
        pruned++;
        metrics.pruned.inc({ cluster: plan.cluster });
      }
      memo.delete(objectKey(o));
    } catch (e) {
      fail(`prune:${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, e);
    }
  };
  await pool([...plan.apply.map((p) => () => apply(p, true)), ...plan.probe.map((p) => () => probe(p)), ...plan.prune.map((o) => () => prune(o))], gate.concurrency);
  if (writeErrors.length) {
    return { cluster: plan.cluster, state: 'Failed', message: conditionText('Sync', 'WriteErrors', { count: writeErrors.length, first: writeErrors[0]! }), objectErrors, applied, pruned, writeFailures: writeErrors.length, ...(retryAfterMs > 0 ? { retryAfterMs } : {}) };
  }
  return { cluster: plan.cluster, state: 'Synced', objectErrors, applied, pruned };
}
