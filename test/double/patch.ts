// JSON patch (RFC 6902), JSON merge patch (RFC 7386) and an approximation of strategic merge patch
// (merge patch, except that lists the schema declares as map-lists merge by key and set-lists merge by value).
import type { Json, JsonObject } from './json.ts';
import { clone, deepEqual, isObject } from './json.ts';
import type { Schema } from './schema.ts';
import { listKind, propertySchema } from './schema.ts';

export class PatchError extends Error {}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map(unescape);
}

function index(arr: Json[], tok: string, forAdd: boolean): number {
  if (tok === '-' && forAdd) return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(tok)) throw new PatchError(`invalid array index "${tok}"`);
  const i = Number(tok);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

function parentOf(doc: Json, toks: string[], path: string): Json {
  let cur: Json = doc;
  for (const t of toks.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[index(cur, t, false)]!;
    else if (isObject(cur) && t in cur) cur = cur[t]!;
    else throw new PatchError(`doc is missing path: "${path}"`);
  }
  return cur;
}

function getAt(doc: Json, path: string): Json {
  let cur: Json = doc;
  for (const t of tokens(path)) {
    if (Array.isArray(cur)) cur = cur[index(cur, t, false)]!;
    else if (isObject(cur) && t in cur) cur = cur[t]!;
    else throw new PatchError(`doc is missing path: "${path}"`);
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const toks = tokens(path);
  if (toks.length === 0) throw new PatchError('cannot remove the whole document');
  const parent = parentOf(doc, toks, path);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(parent)) return parent.splice(index(parent, last, false), 1)[0]!;
  if (isObject(parent) && last in parent) {
    const v = parent[last]!;
    delete parent[last];
    return v;
  }
  throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const toks = tokens(path);
  if (toks.length === 0) return value;
  const parent = parentOf(doc, toks, path);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(parent)) {
    const i = index(parent, last, !replace);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw new PatchError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    parent[last] = value;
  } else throw new PatchError(`doc is missing path: "${path}"`);
  return doc;
}

export function applyJsonPatch(doc: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw new PatchError('json patch must be an array of operations');
  let out = clone(doc);
  for (const op of patch) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new PatchError('invalid json patch operation');
    const path = op.path;
    switch (op.op) {
      case 'add':
        out = addAt(out, path, clone(op.value ?? null), false);
        break;
      case 'remove':
        removeAt(out, path);
        break;
      case 'replace':
        out = addAt(out, path, clone(op.value ?? null), true);
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw new PatchError('move operation requires "from"');
        const v = removeAt(out, op.from);
        out = addAt(out, path, v, false);
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError('copy operation requires "from"');
        out = addAt(out, path, clone(getAt(out, op.from)), false);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(out, path), op.value ?? null)) throw new PatchError(`testing value ${path} failed: test failed`);
        break;
      default:
        throw new PatchError(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
}

export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge patch, approximated: a merge patch whose lists merge by the schema's list-map keys
 * (`x-kubernetes-list-type: map`) or as sets; other lists are replaced. Supports `$patch: delete` on
 * map-list items and `$patch: replace` on objects; other directives are dropped.
 */
export function applyStrategicMergePatch(target: Json | undefined, patch: Json, s: Schema | undefined): Json {
  if (Array.isArray(patch)) {
    const lk = listKind(s);
    const base = Array.isArray(target) ? clone(target) : [];
    if (lk.type === 'map') {
      for (const item of patch) {
        if (!isObject(item)) continue;
        const same = (x: Json) => isObject(x) && lk.keys.every((k) => deepEqual(x[k], item[k]));
        const at = base.findIndex(same);
        if (item.$patch === 'delete') {
          if (at >= 0) base.splice(at, 1);
          continue;
        }
        if (at >= 0) base[at] = applyStrategicMergePatch(base[at], item, s?.items);
        else base.push(applyStrategicMergePatch(undefined, item, s?.items));
      }
      return base;
    }
    if (lk.type === 'set') {
      for (const item of patch) if (!base.some((x) => deepEqual(x, item))) base.push(clone(item));
      return base;
    }
    return clone(patch);
  }
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const rest = clone(patch);
    delete rest.$patch;
    return rest;
  }
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = applyStrategicMergePatch(out[k], v, propertySchema(s, k));
  }
  return out;
}
