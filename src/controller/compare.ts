/**
 * "Would applying this object change anything?" without asking the server. Server-side apply changes a live
 * object when (a) a field we send differs from the live value, or (b) a field we owned at our last apply is
 * no longer in what we send (apply removes it). (a) is a subset test (the server may add defaults, so extra
 * live fields are fine); (b) walks our field manager's `managedFields` entry. Lists are compared whole
 * (Istio's CRD lists are atomic), element by element as subsets.
 */
import type { KubeObject } from '../api/types.ts';
import { jsonEqual } from '../schema/structural.ts';
import { assertedPart } from '../core/content-hash.ts';

export { jsonEqual };

type Json = unknown;

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every field of `want` is present in `have` with an equal value (objects recursively; arrays same length, elementwise). */
export function isSubset(want: Json, have: Json): boolean {
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return false;
    return want.every((w, i) => isSubset(w, have[i]));
  }
  if (isRecord(want)) {
    if (!isRecord(have)) return false;
    for (const [k, w] of Object.entries(want)) {
      if (w === undefined) continue;
      if (!(k in have)) return false;
      if (!isSubset(w, have[k])) return false;
    }
    return true;
  }
  if (typeof want === 'number' && typeof have === 'number') return want === have;
  return want === have;
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, Json>;
}

/**
 * Paths our manager owns on `live` (main resource, Apply operation) that `desired` no longer has.
 * Walks `f:` keys only; a list (or scalar) in `desired` is a leaf, so `k:`/`v:`/`i:` entries under it are not visited.
 */
export function ownedFieldsMissing(desired: KubeObject, live: KubeObject, manager: string): string[] {
  const entries = (live.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields ?? [];
  const missing: string[] = [];
  for (const e of entries) {
    if (e.manager !== manager || e.operation !== 'Apply' || (e.subresource ?? '') !== '' || !isRecord(e.fieldsV1)) continue;
    walk(e.fieldsV1, desired as unknown as Record<string, Json>, '', missing);
  }
  return missing;
}

function walk(fields: Record<string, Json>, desired: Json, path: string, missing: string[]): void {
  for (const [k, sub] of Object.entries(fields)) {
    if (!k.startsWith('f:')) continue; // '.', and list keys under a leaf we treat as atomic
    const name = k.slice(2);
    if (path === '' && (name === 'apiVersion' || name === 'kind')) continue;
    const p = path ? `${path}.${name}` : name;
    if (!isRecord(desired) || !(name in desired) || desired[name] === undefined) {
      missing.push(p);
      continue;
    }
    const next = desired[name];
    if (isRecord(next) && isRecord(sub)) walk(sub, next, p, missing);
  }
}


/** True when server-side applying `desired` onto `live` would change nothing. */
export function applyIsNoop(desired: KubeObject, live: KubeObject, manager: string): boolean {
  return isSubset(assertedPart(desired), live) && ownedFieldsMissing(desired, live, manager).length === 0;
}

