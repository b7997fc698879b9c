/**
 * What the controller keeps of a live Spillway-labelled object in a member cluster. A fleet of 10,000
 * FailoverServices over five clusters is 700,000 such objects, so the informer caches keep only what the planner,
 * the ownership check and the executor read (like controller-runtime's cache transforms):
 *   - metadata: name, namespace, uid and resourceVersion (delete preconditions), generation, labels, annotations,
 *     deletionTimestamp; of managedFields only field manager `spillway`'s Apply entries (ownership and "would an
 *     apply remove a field", see compare.ts), without their timestamps, and with identical field sets shared
 *     between objects (they are the same for every object of a shape);
 *   - the content fields (spec and any other top-level field but status, which istiod and others write).
 * Everything the decisions read is kept exactly, so a plan made from slim objects equals one made from whole ones
 * (test/controller/slim.test.ts).
 */
import type { KubeObject } from '../api/types.ts';
import { FIELD_MANAGER } from '../api/ownership.ts';

const KEPT_METADATA = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'labels', 'annotations', 'deletionTimestamp'] as const;

interface ManagedEntry {
  manager?: unknown;
  operation?: unknown;
  subresource?: unknown;
  apiVersion?: unknown;
  fieldsType?: unknown;
  fieldsV1?: unknown;
}

/** Shares equal field sets between objects. Bounded: past `max` distinct sets, new ones are kept unshared. */
export class FieldSetInterner {
  private readonly sets = new Map<string, unknown>();
  constructor(private readonly max = 10_000) {}

  intern(fields: unknown): unknown {
    if (fields === null || typeof fields !== 'object') return fields;
    const k = JSON.stringify(fields);
    const hit = this.sets.get(k);
    if (hit !== undefined) return hit;
    if (this.sets.size < this.max) this.sets.set(k, fields);
    return fields;
  }

  get size(): number {
    return this.sets.size;
  }
}

/** The parts of `o` the controller reads (see above); `o` itself is not modified. */
export function slimOwnedObject(o: KubeObject, interner?: FieldSetInterner): KubeObject {
  const src = o.metadata as unknown as Record<string, unknown>;
  const metadata: Record<string, unknown> = {};
  for (const k of KEPT_METADATA) if (src[k] !== undefined) metadata[k] = src[k];
  const entries = src.managedFields;
  if (Array.isArray(entries)) {
    const ours: ManagedEntry[] = [];
    for (const e of entries as ManagedEntry[]) {
      if (e === null || typeof e !== 'object' || e.manager !== FIELD_MANAGER || e.operation !== 'Apply') continue;
      ours.push({
        manager: e.manager,
        operation: e.operation,
        ...(e.subresource !== undefined ? { subresource: e.subresource } : {}),
        ...(e.apiVersion !== undefined ? { apiVersion: e.apiVersion } : {}),
        ...(e.fieldsType !== undefined ? { fieldsType: e.fieldsType } : {}),
        ...(e.fieldsV1 !== undefined ? { fieldsV1: interner ? interner.intern(e.fieldsV1) : e.fieldsV1 } : {}),
      });
    }
    metadata.managedFields = ours;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'metadata' || k === 'status') continue;
    out[k] = v;
  }
  out.metadata = metadata;
  return out as unknown as KubeObject;
}
