// Server-side apply and managedFields bookkeeping for updates.
import type { StatusCause } from './errors.ts';
import type { FieldSet, Path, Scope } from './fieldset.ts';
import { META_SCHEMA, describe, fieldsOf, fromFieldsV1, getPath, isPrefix, keyValue, removePath, toFieldsV1, unkey } from './fieldset.ts';
import type { Json, JsonObject } from './json.ts';
import { clone, deepEqual, isObject } from './json.ts';
import type { Schema } from './schema.ts';
import { isGranularMap, listKind, propertySchema } from './schema.ts';

export interface ManagedEntry {
  manager: string;
  operation: string;
  apiVersion: string;
  time: string;
  subresource?: string;
  fields: FieldSet;
}

const META_LIST: Record<string, Schema> = META_SCHEMA.properties as Record<string, Schema>;

export function readManaged(o: JsonObject | undefined): ManagedEntry[] {
  const meta = o?.metadata;
  const mf = isObject(meta) ? meta.managedFields : undefined;
  if (!Array.isArray(mf)) return [];
  const out: ManagedEntry[] = [];
  for (const e of mf) {
    if (!isObject(e) || typeof e.manager !== 'string') continue;
    const entry: ManagedEntry = {
      manager: e.manager,
      operation: typeof e.operation === 'string' ? e.operation : 'Update',
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      time: typeof e.time === 'string' ? secondsRFC3339(e.time) : '',
      fields: fromFieldsV1(e.fieldsV1),
    };
    if (typeof e.subresource === 'string' && e.subresource) entry.subresource = e.subresource;
    out.push(entry);
  }
  return out;
}

/** metav1.Time has second precision: clients that send milliseconds get them dropped. */
function secondsRFC3339(t: string): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function writeManaged(entries: ManagedEntry[]): Json[] {
  return entries
    .filter((e) => e.fields.size > 0)
    .map((e) => {
      const o: JsonObject = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, time: e.time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(e.fields) };
      if (e.subresource) o.subresource = e.subresource;
      return o;
    });
}

const same = (e: ManagedEntry, manager: string, operation: string, subresource: string | undefined): boolean =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');

function setsEqual(a: FieldSet, b: FieldSet): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function mergeValue(live: Json | undefined, applied: Json, s: Schema | undefined): Json {
  if (isObject(applied) && isObject(live) && isGranularMap(s)) {
    const out = clone(live);
    for (const [k, v] of Object.entries(applied)) out[k] = mergeValue(live[k], v, propertySchema(s, k));
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const lk = listKind(s);
    if (lk.type === 'map') {
      const out = clone(live);
      for (const item of applied) {
        const at = isObject(item) ? out.findIndex((x) => isObject(x) && lk.keys.every((k) => deepEqual(keyValue(x, k, s?.items), keyValue(item, k, s?.items)))) : -1;
        if (at >= 0) out[at] = mergeValue(out[at], item, s?.items);
        else out.push(clone(item));
      }
      return out;
    }
    if (lk.type === 'set') {
      const out = clone(live);
      for (const item of applied) if (!out.some((x) => deepEqual(x, item))) out.push(clone(item));
      return out;
    }
  }
  return clone(applied);
}

/** Merges an applied configuration into the live object (fields only; ownership is handled by the caller). */
function mergeApplied(live: JsonObject, applied: JsonObject, s: Schema | undefined, scope: Scope): JsonObject {
  const out = clone(live);
  for (const [k, v] of Object.entries(applied)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (scope.skipStatus && k === 'status') continue;
    if (scope.onlyStatus && k !== 'status') continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      const meta = isObject(out.metadata) ? out.metadata : (out.metadata = {});
      for (const [mk, ms] of Object.entries(META_LIST)) if (v[mk] !== undefined) meta[mk] = mergeValue(meta[mk], v[mk]!, ms);
      continue;
    }
    out[k] = mergeValue(out[k], v, propertySchema(s, k));
  }
  return out;
}

export interface ApplyInput {
  live: JsonObject;
  applied: JsonObject;
  schema: Schema | undefined;
  manager: string;
  force: boolean;
  apiVersion: string;
  subresource?: string;
  scope: Scope;
  now: string;
}

export interface ApplyResult {
  object: JsonObject;
  conflicts: StatusCause[];
  conflictMessage: string;
}

/**
 * Applies a configuration: the manager's Apply entry becomes exactly the applied field set; fields it
 * owned before and no longer applies are removed unless someone else owns them; changing a field another
 * manager owns is a conflict unless `force`, which takes the field over.
 */
export function apply(inp: ApplyInput): ApplyResult {
  const entries = readManaged(inp.live);
  const mine = entries.find((e) => same(e, inp.manager, 'Apply', inp.subresource));
  const before = mine?.fields ?? new Set<string>();
  const applied = fieldsOf(inp.applied, inp.schema, inp.scope);

  let next = mergeApplied(inp.live, inp.applied, inp.schema, inp.scope);

  // Conflicts: another manager owns a field whose value the apply changes.
  const others = entries.filter((e) => e !== mine);
  const conflicts: { manager: string; apiVersion: string; path: Path }[] = [];
  for (const k of applied) {
    const p = unkey(k);
    const changed = p.at(-1) === '.' ? getPath(inp.live, p) === undefined : !deepEqual(getPath(inp.live, p), getPath(next, p));
    if (!changed) continue;
    for (const o of others) {
      if (!o.fields.has(k)) continue;
      if (inp.force) o.fields.delete(k);
      else conflicts.push({ manager: o.manager, apiVersion: o.apiVersion, path: p });
    }
  }
  if (conflicts.length > 0) {
    const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: describe(c.path) }));
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const label = `"${c.manager}" using ${c.apiVersion}`;
      byManager.set(label, [...(byManager.get(label) ?? []), describe(c.path)]);
    }
    const parts = [...byManager.entries()].map(([label, paths]) =>
      paths.length === 1 ? `conflict with ${label}: ${paths[0]}` : `conflicts with ${label}:\n${paths.map((p) => `- ${p}`).join('\n')}`,
    );
    const n = conflicts.length;
    return { object: inp.live, conflicts: causes, conflictMessage: `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}` };
  }

  // Fields this manager dropped: removed unless still owned by someone or still (partly) applied.
  const stillOwned = [...others.flatMap((o) => [...o.fields]), ...applied].map(unkey);
  for (const k of before) {
    if (applied.has(k) || others.some((o) => o.fields.has(k))) continue;
    const p = unkey(k);
    if (stillOwned.some((q) => isPrefix(p, q))) continue;
    removePath(next, p);
  }
  next = clone(next);

  const changedObject = !deepEqual(stripMeta(inp.live), stripMeta(next));
  const nextEntries = others.map((o) => ({ ...o }));
  const mineNext: ManagedEntry = {
    manager: inp.manager,
    operation: 'Apply',
    apiVersion: inp.apiVersion,
    time: mine && setsEqual(before, applied) && !changedObject ? mine.time : inp.now,
    fields: applied,
  };
  if (inp.subresource) mineNext.subresource = inp.subresource;
  const at = mine ? entries.indexOf(mine) : -1;
  if (at >= 0) nextEntries.splice(at, 0, mineNext);
  else nextEntries.push(mineNext);
  setManaged(next, nextEntries);
  return { object: next, conflicts: [], conflictMessage: '' };
}

function stripMeta(o: JsonObject): JsonObject {
  const c = clone(o);
  if (isObject(c.metadata)) delete c.metadata.managedFields;
  return c;
}

export function setManaged(o: JsonObject, entries: ManagedEntry[]): void {
  const meta = isObject(o.metadata) ? o.metadata : (o.metadata = {});
  const mf = writeManaged(entries);
  if (mf.length > 0) meta.managedFields = mf;
  else delete meta.managedFields;
}

export interface UpdateInput {
  old: JsonObject | undefined;
  next: JsonObject;
  /** Entries to start from (the stored ones, or the ones the request carried). */
  entries: ManagedEntry[];
  schema: Schema | undefined;
  manager: string;
  apiVersion: string;
  subresource?: string;
  scope: Scope;
  now: string;
}

/** Records a non-apply write: the updater takes over every field it changed; removed fields are forgotten. */
export function recordUpdate(inp: UpdateInput): void {
  const oldSet = inp.old ? fieldsOf(inp.old, inp.schema, inp.scope) : new Set<string>();
  const newSet = fieldsOf(inp.next, inp.schema, inp.scope);
  const changed = new Set<string>();
  for (const k of newSet) {
    const p = unkey(k);
    if (!oldSet.has(k) || !deepEqual(getPath(inp.old, p), getPath(inp.next, p))) changed.add(k);
  }
  const removed = [...oldSet].filter((k) => !newSet.has(k));
  const entries = inp.entries.map((e) => ({ ...e, fields: new Set(e.fields) }));
  for (const e of entries) {
    for (const k of removed) e.fields.delete(k);
    for (const k of changed) e.fields.delete(k);
    // A removed parent takes its children's ownership with it.
    for (const k of [...e.fields]) if (!newSet.has(k) && removed.some((r) => isPrefix(unkey(r), unkey(k)))) e.fields.delete(k);
  }
  if (changed.size > 0) {
    let mine = entries.find((e) => same(e, inp.manager, 'Update', inp.subresource));
    if (!mine) {
      mine = { manager: inp.manager, operation: 'Update', apiVersion: inp.apiVersion, time: inp.now, fields: new Set() };
      if (inp.subresource) mine.subresource = inp.subresource;
      entries.push(mine);
    }
    mine.apiVersion = inp.apiVersion;
    mine.time = inp.now;
    for (const k of changed) mine.fields.add(k);
  }
  setManaged(inp.next, entries);
}

