// The subset of OpenAPI v3 structural schemas (CRD `openAPIV3Schema`) that the double understands:
// validation with kube-style causes, pruning of undeclared fields, and defaulting.
import type { StatusCause } from './errors.ts';
import type { Json } from './json.ts';
import { clone, deepEqual, isObject } from './json.ts';

export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: Json[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  format?: string;
  nullable?: boolean;
  default?: Json;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  not?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
}

/** Reads an `openAPIV3Schema` JSON value as a Schema (shape is trusted; unknown keywords are ignored). */
export function asSchema(v: Json | undefined): Schema | undefined {
  return isObject(v) ? (v as unknown as Schema) : undefined;
}

const ROOT_KEEP = new Set(['apiVersion', 'kind', 'metadata']);

function show(v: Json | undefined): string {
  if (v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return '"null"';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function joinField(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

/** The child schema for a key of an object (undefined: not declared). */
export function propertySchema(s: Schema | undefined, key: string): Schema | undefined {
  if (!s) return undefined;
  const p = s.properties?.[key];
  if (p) return p;
  if (isObject(s.additionalProperties as Json)) return s.additionalProperties as Schema;
  return undefined;
}

function keepsUnknown(s: Schema): boolean {
  return s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true || isObject(s.additionalProperties as Json);
}

/**
 * Removes fields the schema does not declare, in place. Returns the dotted paths that were removed
 * (`spec.foo`, `spec.items[0].bar`), which strict field validation reports as unknown fields.
 * At the root, apiVersion, kind and metadata are always kept (metadata is handled separately).
 */
export function prune(value: Json, s: Schema | undefined, path = '', root = true): string[] {
  const removed: string[] = [];
  if (!s) return removed;
  if (Array.isArray(value)) {
    if (s.items) value.forEach((item, i) => removed.push(...prune(item, s.items, `${path}[${i}]`, false)));
    return removed;
  }
  if (!isObject(value)) return removed;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    if ((root || embedded) && ROOT_KEEP.has(key)) continue;
    const declared = s.properties?.[key];
    const field = joinField(path, key);
    if (declared) {
      removed.push(...prune(value[key] as Json, declared, field, false));
    } else if (isObject(s.additionalProperties as Json)) {
      removed.push(...prune(value[key] as Json, s.additionalProperties as Schema, field, false));
    } else if (!keepsUnknown(s)) {
      delete value[key];
      removed.push(field);
    }
  }
  return removed;
}

/**
 * The first field of a server-side apply configuration the schema does not declare, as kube-apiserver's
 * structured-merge-diff names it: `.spec.bogus`, `.spec.ports[name="a"].bogus`, `.metadata.bogus` (list-map
 * items by their keys, a missing key by its schema default; other list items by index). Undefined when every
 * field is declared. At the root, apiVersion and kind are always declared; `metaKeys` are ObjectMeta's fields.
 */
export function firstUndeclared(value: Json, s: Schema | undefined, metaKeys: ReadonlySet<string>): string | undefined {
  if (!isObject(value)) return undefined;
  for (const key of Object.keys(value)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata') {
      const m = value.metadata;
      if (isObject(m)) for (const mk of Object.keys(m)) if (!metaKeys.has(mk)) return `.metadata.${mk}`;
      continue;
    }
    const found = undeclaredIn(value[key] as Json, s ? declaredChild(s, key) : undefined, `.${key}`, s);
    if (found) return found;
  }
  return undefined;
}

/** The schema of `key` under `s`: a property, additionalProperties, `null` (declared, anything goes) or undefined. */
function declaredChild(s: Schema, key: string): Schema | null | undefined {
  const p = s.properties?.[key];
  if (p) return p;
  if (isObject(s.additionalProperties as Json)) return s.additionalProperties as Schema;
  return keepsUnknown(s) ? null : undefined;
}

function undeclaredIn(value: Json, s: Schema | null | undefined, path: string, parent: Schema | undefined): string | undefined {
  if (s === undefined) return parent ? path : undefined;
  if (s === null || keepsUnknown(s) && !s.properties) return undefined;
  if (Array.isArray(value)) {
    const items = s.items;
    if (!items) return undefined;
    const mapKeys = s['x-kubernetes-list-type'] === 'map' ? (s['x-kubernetes-list-map-keys'] ?? []) : undefined;
    for (const [i, item] of value.entries()) {
      let at = `[${i}]`;
      if (mapKeys && isObject(item)) {
        at = `[${mapKeys.map((k) => `${k}=${JSON.stringify(item[k] ?? items.properties?.[k]?.default ?? null)}`).join(',')}]`;
      }
      const found = undeclaredIn(item, items, `${path}${at}`, s);
      if (found) return found;
    }
    return undefined;
  }
  if (!isObject(value)) return undefined;
  for (const key of Object.keys(value)) {
    const found = undeclaredIn(value[key] as Json, declaredChild(s, key), `${path}.${key}`, s);
    if (found) return found;
  }
  return undefined;
}

/** Applies `default`s in place, for absent properties of objects that exist. */
export function applyDefaults(value: Json, s: Schema | undefined, root = true): void {
  if (!s) return;
  if (Array.isArray(value)) {
    if (s.items) for (const item of value) applyDefaults(item, s.items, false);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, ps] of Object.entries(s.properties ?? {})) {
    if (root && ROOT_KEEP.has(key)) continue;
    if (value[key] === undefined && ps.default !== undefined) value[key] = clone(ps.default);
    if (value[key] !== undefined) applyDefaults(value[key] as Json, ps, false);
  }
  if (isObject(s.additionalProperties as Json)) {
    for (const key of Object.keys(value)) {
      if (!s.properties?.[key]) applyDefaults(value[key] as Json, s.additionalProperties as Schema, false);
    }
  }
}

/** Validates a value against a schema; returns kube-style causes (empty when valid). */
export function validate(value: Json | undefined, s: Schema | undefined, path = '', root = true): StatusCause[] {
  const out: StatusCause[] = [];
  if (!s || value === undefined) return out;
  const here = path || '<root>';
  if (value === null) {
    if (s.nullable || s['x-kubernetes-preserve-unknown-fields'] === true && !s.type) return out;
    if (!s.type) return out;
    out.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: "null": ${here} in body must be of type ${s.type}: "null"` });
    return out;
  }
  const t = typeOf(value);
  if (s['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string') {
      out.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: ${show(value)}: ${here} in body must be of type integer or string: ${show(t)}` });
      return out;
    }
  } else if (s.type) {
    const ok = s.type === t || (s.type === 'number' && t === 'integer');
    if (!ok) {
      out.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: ${show(value)}: ${here} in body must be of type ${s.type}: ${show(t)}` });
      return out;
    }
  }
  if (s.enum && !s.enum.some((e) => deepEqual(e, value))) {
    out.push({
      reason: 'FieldValueNotSupported',
      field: path,
      message: `Unsupported value: ${show(value)}: supported values: ${s.enum.map((e) => show(e)).join(', ')}`,
    });
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? value <= s.minimum : value < s.minimum)) {
      out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${here} in body should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}` });
    }
    if (s.maximum !== undefined && (s.exclusiveMaximum ? value >= s.maximum : value > s.maximum)) {
      out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${here} in body should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}` });
    }
    if (s.multipleOf !== undefined && value % s.multipleOf !== 0) {
      out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${here} in body should be a multiple of ${s.multipleOf}` });
    }
  }
  if (typeof value === 'string') {
    const len = [...value].length;
    if (s.maxLength !== undefined && len > s.maxLength) {
      out.push({ reason: 'FieldValueTooLong', field: path, message: `Too long: may not be more than ${s.maxLength} bytes` });
    }
    if (s.minLength !== undefined && len < s.minLength) {
      out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${here} in body should be at least ${s.minLength} chars long` });
    }
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) {
      out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${here} in body should match '${s.pattern}'` });
    }
  }
  if (Array.isArray(value)) {
    if (s.maxItems !== undefined && value.length > s.maxItems) {
      out.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${value.length}: must have at most ${s.maxItems} items` });
    }
    if (s.minItems !== undefined && value.length < s.minItems) {
      out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value.length}: ${here} in body should have at least ${s.minItems} items` });
    }
    const listType = s['x-kubernetes-list-type'];
    if (s.uniqueItems || listType === 'set') {
      value.forEach((v, i) => {
        if (value.findIndex((w) => deepEqual(v, w)) < i) {
          out.push({ reason: 'FieldValueDuplicate', field: `${path}[${i}]`, message: `Duplicate value: ${show(v)}` });
        }
      });
    }
    if (listType === 'map') {
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      value.forEach((v, i) => {
        if (!isObject(v)) return;
        const k = JSON.stringify(keys.map((key) => v[key] ?? null));
        if (seen.has(k)) {
          out.push({ reason: 'FieldValueDuplicate', field: `${path}[${i}]`, message: `Duplicate value: ${JSON.stringify(Object.fromEntries(keys.map((key) => [key, v[key] ?? null])))}` });
        }
        seen.add(k);
      });
    }
    if (s.items) value.forEach((v, i) => out.push(...validate(v, s.items, `${path}[${i}]`, false)));
  }
  if (isObject(value)) {
    for (const r of s.required ?? []) {
      if (value[r] === undefined) out.push({ reason: 'FieldValueRequired', field: joinField(path, r), message: 'Required value' });
    }
    const n = Object.keys(value).length;
    if (s.maxProperties !== undefined && n > s.maxProperties) {
      out.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${n}: must have at most ${s.maxProperties} items` });
    }
    if (s.minProperties !== undefined && n < s.minProperties) {
      out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${n}: ${here} in body should have at least ${s.minProperties} properties` });
    }
    for (const [key, v] of Object.entries(value)) {
      if (root && ROOT_KEEP.has(key)) continue;
      const ps = propertySchema(s, key);
      if (ps) out.push(...validate(v, ps, joinField(path, key), false));
    }
  }
  for (const sub of s.allOf ?? []) out.push(...validate(value, { ...sub, type: sub.type }, path, root));
  if (s.anyOf && !s.anyOf.some((sub) => validate(value, sub, path, root).length === 0)) {
    out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${here} in body must match at least one schema (anyOf)` });
  }
  if (s.oneOf && s.oneOf.filter((sub) => validate(value, sub, path, root).length === 0).length !== 1) {
    out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${here} in body must match exactly one schema (oneOf)` });
  }
  if (s.not && validate(value, s.not, path, root).length === 0) {
    out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${here} in body must not match the schema (not)` });
  }
  return out;
}

/** List semantics for server-side apply and strategic merge: 'atomic', 'set' or 'map' (with keys). */
export function listKind(s: Schema | undefined): { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: string[] } {
  const t = s?.['x-kubernetes-list-type'];
  if (t === 'map') return { type: 'map', keys: s?.['x-kubernetes-list-map-keys'] ?? [] };
  if (t === 'set') return { type: 'set' };
  return { type: 'atomic' };
}

/** True when a schema describes an object whose fields are owned one by one (not an atomic map). */
export function isGranularMap(s: Schema | undefined): boolean {
  return s?.['x-kubernetes-map-type'] !== 'atomic';
}
