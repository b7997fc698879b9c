/**
 * Discovery writing: applies the discovered MeshWorkloads `discoverWorkloads` wants and deletes the ones whose
 * Service went away. Hand-written MeshWorkloads (without the discovery labels) are never touched.
 */
import type { KubeObject } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import type { Informer } from '../kube/informer.ts';
import { applyObject, deleteObject } from '../kube/ops.ts';
import { objectKey } from '../kube/resources.ts';
import { desiredHash } from '../core/content-hash.ts';
import { applyIsNoop } from './compare.ts';
import { isDiscovered } from './discovery.ts';
import type { ApplyMemos } from './executor.ts';
import type { Logger } from './log.ts';
import { NotLeaderError, pool } from './pool.ts';
import type { WriteGate } from './pool.ts';
import { FIELD_MANAGER } from './reconcile.ts';

/** The memo key under which discovered MeshWorkloads are remembered. */
export const MANAGEMENT_MEMO = '(management)';

export interface WorkloadWriterDeps {
  management: KubeClient;
  /** The MeshWorkloads informer (our writes are fed back into it). */
  workloads: Informer;
  memos: ApplyMemos;
  gate: WriteGate;
  log: Logger;
}

/**
 * Per informer: the desired list last found entirely in place, at which informer version. The same list (discovery
 * returns its last result again while its inputs are the same objects) against an unchanged informer needs no look.
 */
const settledLists = new WeakMap<Informer, { desired: readonly KubeObject[]; version: number }>();
/** Per desired MeshWorkload object: the informer's copy it was last found in place against (no write needed). */
const settledObjects = new WeakMap<KubeObject, KubeObject>();

/** Returns the number of writes made. Failures are logged and retried by the next reconcile. */
export async function writeWorkloads(d: WorkloadWriterDeps, desired: readonly KubeObject[], remove: readonly KubeObject[]): Promise<number> {
  const settled = settledLists.get(d.workloads);
  if (remove.length === 0 && settled && settled.desired === desired && settled.version === d.workloads.version) return 0;
  let writes = 0;
  const tasks: (() => Promise<void>)[] = [];
  const memo = d.memos.for(MANAGEMENT_MEMO);
  const version = d.workloads.version;
  for (const w of desired) {
    const cur = d.workloads.get(w.metadata.namespace, w.metadata.name);
    if (cur && !isDiscovered(cur)) continue;
    // Found in place last time against this very copy: still in place (neither object changed since).
    if (cur && settledObjects.get(w) === cur) continue;
    const key = objectKey(w);
    const m = memo.get(key);
    const hash = desiredHash(w);
    if (cur && ((m && m.resourceVersion === cur.metadata.resourceVersion && m.hash === hash) || applyIsNoop(w, cur, FIELD_MANAGER))) {
      memo.set(key, { hash, resourceVersion: cur.metadata.resourceVersion ?? '' });
      settledObjects.set(w, cur);
      continue;
    }
    tasks.push(async () => {
      d.gate.guard();
      try {
        const res = await applyObject(d.management, w, { fieldManager: FIELD_MANAGER, force: cur !== undefined });
        d.workloads.observe(res);
        memo.set(key, { hash, resourceVersion: res.metadata.resourceVersion ?? '' });
        writes++;
      } catch (e) {
        if (e instanceof NotLeaderError) throw e;
        d.log.warn('could not write discovered MeshWorkload', { workload: `${w.metadata.namespace}/${w.metadata.name}`, error: describeError(e) });
      }
    });
  }
  for (const r of remove) {
    tasks.push(async () => {
      d.gate.guard();
      try {
        const res = await deleteObject(d.management, r);
        if (res !== 'changed') d.workloads.observeDeleted(r.metadata.namespace, r.metadata.name);
        writes++;
      } catch (e) {
        if (e instanceof NotLeaderError) throw e;
        d.log.warn('could not delete discovered MeshWorkload', { workload: `${r.metadata.namespace}/${r.metadata.name}`, error: describeError(e) });
      }
    });
  }
  if (tasks.length === 0) settledLists.set(d.workloads, { desired, version });
  await pool(tasks, d.gate.concurrency);
  return writes;
}
