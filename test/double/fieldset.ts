// Field sets as server-side apply tracks them, and their `fieldsV1` form in managedFields.
// A path is a list of elements written as in fieldsV1: `f:name` (object field), `k:{"port":80}` (map-list
// item by its keys), `v:"x"` (set-list item). A set holds the member paths, serialized with JSON.
import type { Json, JsonObject } from './json.ts';
import { deepEqual, isObject } from './json.ts';
import type { Schema } from './schema.ts';
import { isGranularMap, listKind, propertySchema } from './schema.ts';

export type Path = string[];
export type FieldSet = Set<string>;

export const key = (p: Path): string => JSON.stringify(p);
export const unkey = (k: string): Path => JSON.parse(k) as Path;

/** metadata fields that are owned through apply/update; the rest is the server's. */
const OWNED_META = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

/** Schema of the metadata fields managers own (shared with ssa.ts). */
export const META_SCHEMA: Schema = {
  type: 'object',
  properties: {
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ownerReferences: {
      type: 'array',
      items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
    },
  },
};

/** A list-map item's key; a key field the item leaves out counts as its schema default (a Service port's protocol: TCP). */
export function keyValue(item: JsonObject, k: string, items: Schema | undefined): Json {
  return item[k] ?? (items?.properties?.[k]?.default as Json | undefined) ?? null;
}

function itemKey(item: JsonObject, keys: string[], items: Schema | undefined): string {
  const o: JsonObject = {};
  for (const k of [...keys].sort()) o[k] = keyValue(item, k, items);
  return `k:${JSON.stringify(o)}`;
}

export interface Scope {
  /** Leave out `status` (main resource of a type with the status subresource). */
  skipStatus?: boolean;
  /** Keep only `status` (the status subresource). */
  onlyStatus?: boolean;
}

/** The member paths of an object, as an applier or updater of the whole object would own them. */
export function fieldsOf(o: JsonObject, s: Schema | undefined, scope: Scope = {}): FieldSet {
  const out: FieldSet = new Set();
  for (const [k, v] of Object.entries(o)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (scope.skipStatus && k === 'status') continue;
    if (scope.onlyStatus && k !== 'status') continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      for (const mk of OWNED_META) {
        if (v[mk] !== undefined) walk(v[mk]!, META_SCHEMA.properties![mk], ['f:metadata', `f:${mk}`], out);
      }
      continue;
    }
    walk(v, propertySchema(s, k), [`f:${k}`], out);
  }
  return out;
}

function walk(v: Json, s: Schema | undefined, path: Path, out: FieldSet): void {
  if (isObject(v) && isGranularMap(s)) {
    const keys = Object.keys(v);
    if (keys.length === 0) out.add(key(path));
    for (const k of keys) walk(v[k]!, propertySchema(s, k), [...path, `f:${k}`], out);
    return;
  }
  if (Array.isArray(v)) {
    const lk = listKind(s);
    if (lk.type === 'map' && v.every(isObject)) {
      for (const item of v as JsonObject[]) {
        const p = [...path, itemKey(item, lk.keys, s?.items)];
        out.add(key([...p, '.']));
        for (const [k, iv] of Object.entries(item)) walk(iv, propertySchema(s?.items, k), [...p, `f:${k}`], out);
      }
      if (v.length === 0) out.add(key(path));
      return;
    }
    if (lk.type === 'set') {
      for (const item of v) out.add(key([...path, `v:${JSON.stringify(item)}`]));
      if (v.length === 0) out.add(key(path));
      return;
    }
  }
  out.add(key(path));
}

/** The value at a path (undefined when absent). A `.` element names the node itself. */
export function getPath(o: Json | undefined, path: Path): Json | undefined {
  let cur: Json | undefined = o;
  for (const el of path) {
    if (cur === undefined) return undefined;
    if (el === '.') continue;
    if (el.startsWith('f:')) {
      cur = isObject(cur) ? cur[el.slice(2)] : undefined;
    } else if (el.startsWith('k:')) {
      const want = JSON.parse(el.slice(2)) as JsonObject;
      cur = Array.isArray(cur) ? cur.find((x) => isObject(x) && Object.entries(want).every(([k, v]) => deepEqual(x[k] ?? null, v))) : undefined;
    } else if (el.startsWith('v:')) {
      const want = JSON.parse(el.slice(2)) as Json;
      cur = Array.isArray(cur) ? cur.find((x) => deepEqual(x, want)) : undefined;
    } else return undefined;
  }
  return cur;
}

/** Removes the node at a path, in place; empty objects left behind by the removal are removed too. */
export function removePath(o: JsonObject, path: Path): void {
  const els = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  if (els.length === 0) return;
  const parents: Json[] = [];
  let cur: Json | undefined = o;
  for (const el of els.slice(0, -1)) {
    parents.push(cur!);
    cur = getPath(cur, [el]);
    if (cur === undefined) return;
  }
  const last = els[els.length - 1]!;
  if (last.startsWith('f:') && isObject(cur)) delete cur[last.slice(2)];
  else if (Array.isArray(cur)) {
    const item = getPath(cur, [last]);
    const i = cur.indexOf(item as Json);
    if (i >= 0) cur.splice(i, 1);
  } else return;
  // Drop objects emptied by the removal, from the deepest up (never the root or metadata).
  for (let depth = els.length - 2; depth >= 1; depth--) {
    const node = getPath(o, els.slice(0, depth + 1));
    if (!isObject(node) || Object.keys(node).length > 0) break;
    if (els[0] === 'f:metadata' && depth === 0) break;
    const parent = getPath(o, els.slice(0, depth));
    const el = els[depth]!;
    if (el.startsWith('f:') && isObject(parent)) delete parent[el.slice(2)];
    else break;
  }
  const top = els[0]!;
  if (els.length > 1 && top !== 'f:metadata' && top.startsWith('f:')) {
    const t = o[top.slice(2)];
    if (isObject(t) && Object.keys(t).length === 0) delete o[top.slice(2)];
  }
}

/** True when `p` is a strict prefix of `q`. */
export function isPrefix(p: Path, q: Path): boolean {
  const base = p[p.length - 1] === '.' ? p.slice(0, -1) : p;
  return base.length < q.length && base.every((el, i) => el === q[i]);
}

interface Node {
  member: boolean;
  children: Map<string, Node>;
}

export function toFieldsV1(set: FieldSet): JsonObject {
  const root: Node = { member: false, children: new Map() };
  for (const k of [...set].sort()) {
    let n = root;
    for (const el of unkey(k)) {
      if (el === '.') {
        n.member = true;
        continue;
      }
      let c = n.children.get(el);
      if (!c) {
        c = { member: false, children: new Map() };
        n.children.set(el, c);
      }
      n = c;
    }
    if (unkey(k).at(-1) !== '.') n.member = true;
  }
  const emit = (n: Node): JsonObject => {
    const o: JsonObject = {};
    if (n.member && n.children.size > 0) o['.'] = {};
    for (const [el, c] of [...n.children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) o[el] = emit(c);
    return o;
  };
  return emit(root);
}

export function fromFieldsV1(tree: Json | undefined): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: Json, path: Path): void => {
    if (!isObject(node)) return;
    for (const [el, c] of Object.entries(node)) {
      if (el === '.') continue;
      const p = [...path, el];
      if (!isObject(c)) continue;
      const keys = Object.keys(c);
      if (keys.length === 0) out.add(key(el.startsWith('k:') ? [...p, '.'] : p));
      else {
        if ('.' in c) out.add(key(el.startsWith('k:') || el.startsWith('v:') ? [...p, '.'] : p));
        visit(c, p);
      }
    }
  };
  visit(tree ?? {}, []);
  return out;
}

/** A path as server-side apply prints it in conflict messages: `.spec.ports[port=80,protocol="TCP"].name`. */
export function describe(path: Path): string {
  let s = '';
  for (const el of path) {
    if (el === '.') continue;
    if (el.startsWith('f:')) s += `.${el.slice(2)}`;
    else if (el.startsWith('k:')) {
      const o = JSON.parse(el.slice(2)) as JsonObject;
      s += `[${Object.entries(o).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    } else if (el.startsWith('v:')) s += `[=${el.slice(2)}]`;
  }
  return s;
}
