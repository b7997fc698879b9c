/**
 * How Spillway recognises the objects it created. Labels say what an object is for; they are not proof of
 * ownership, because anyone who may label an object can copy them. An emitted object also carries
 * `spillway.dev/owner`, a digest of the cluster it was written for and its own kind, namespace and name, and the
 * controller treats a live object as its own only when that annotation matches the object's identity and the
 * object's managedFields show Spillway's field manager applied it (see `isSpillwayOwned`). A look-alike
 * labelled by someone else, or a copy of one of our objects under another name, is never updated or pruned.
 */
import type { KubeObject } from './types.ts';
import { LABEL_CLUSTER, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from './types.ts';

/** Annotation on every emitted object: see `ownerId`. */
export const ANNOTATION_OWNER = 'spillway.dev/owner';
/** The field manager of every write the controller makes. */
export const FIELD_MANAGER = 'spillway';

/**
 * Two FNV-1a 32-bit digests (different offsets) of `parts` joined by newlines, as 16 hex digits: a stable digest
 * of a short string (pure). Fed part by part, so no joined string is built (it runs once per rendered object).
 */
function digest(parts: readonly string[]): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let p = 0; p < parts.length; p++) {
    if (p > 0) {
      a = Math.imul(a ^ 10, 0x01000193);
      b = Math.imul(b ^ 10, 0x01000193);
    }
    const s = parts[p] as string;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x01000193);
    }
  }
  return hex16(a, b);
}

/** Char codes of the hex digits. */
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * `a` then `b` as 8 hex digits each (unsigned, zero-padded), built in one call: toString(16) and padStart per half
 * cost more than the digest itself, and this runs for every rendered object.
 */
function hex16(a: number, b: number): string {
  const d = HEX;
  return String.fromCharCode(
    d[(a >>> 28) & 15] as number, d[(a >>> 24) & 15] as number, d[(a >>> 20) & 15] as number, d[(a >>> 16) & 15] as number,
    d[(a >>> 12) & 15] as number, d[(a >>> 8) & 15] as number, d[(a >>> 4) & 15] as number, d[a & 15] as number,
    d[(b >>> 28) & 15] as number, d[(b >>> 24) & 15] as number, d[(b >>> 20) & 15] as number, d[(b >>> 16) & 15] as number,
    d[(b >>> 12) & 15] as number, d[(b >>> 8) & 15] as number, d[(b >>> 4) & 15] as number, d[b & 15] as number,
  );
}

/** The owner annotation's value for an object of `kind` named `namespace/name` written for `cluster`. */
export function ownerId(cluster: string, kind: string, namespace: string | undefined, name: string): string {
  return `${cluster}.${digest([cluster, kind, namespace ?? '', name])}`;
}

interface ManagedEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

/** Does `manager` own (through an Apply of the main resource) the annotation `key` of `o`? */
export function appliedAnnotation(o: KubeObject, manager: string, key: string): boolean {
  const entries = (o.metadata as { managedFields?: unknown }).managedFields;
  if (!Array.isArray(entries)) return false;
  return entries.some((e: ManagedEntry) => {
    if (e === null || typeof e !== 'object' || e.manager !== manager || e.operation !== 'Apply' || (e.subresource ?? '') !== '') return false;
    const meta = e.fieldsV1?.['f:metadata'] as Record<string, unknown> | undefined;
    const ann = meta?.['f:annotations'] as Record<string, unknown> | undefined;
    return ann !== undefined && ann !== null && typeof ann === 'object' && `f:${key}` in ann;
  });
}

/** Why a live object is not Spillway's for `cluster`, or undefined when it is. */
export function notOwnedReason(o: KubeObject, cluster: string): string | undefined {
  const l = o.metadata.labels ?? {};
  if (l[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) return 'is not managed by Spillway';
  if (l[LABEL_CLUSTER] !== cluster) return `is labelled for cluster ${l[LABEL_CLUSTER] ?? '(none)'}`;
  const want = ownerId(cluster, o.kind, o.metadata.namespace, o.metadata.name);
  if (o.metadata.annotations?.[ANNOTATION_OWNER] !== want) return `carries Spillway's labels but not its ${ANNOTATION_OWNER} annotation for this object`;
  if (!appliedAnnotation(o, FIELD_MANAGER, ANNOTATION_OWNER)) return `carries Spillway's labels but was not applied by field manager ${FIELD_MANAGER}`;
  return undefined;
}

/** Spillway created this object for `cluster`: labels, owner annotation and managedFields all agree. */
export function isSpillwayOwned(o: KubeObject, cluster: string): boolean {
  return notOwnedReason(o, cluster) === undefined;
}
