// Plain JSON values and the few helpers the double needs to handle them without `any`.

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A deep copy of a JSON value. Written out rather than `structuredClone`, which spends most of a large load or list
 * in its serializer: this walks plain JSON only (every value the double stores came from JSON or from these types).
 */
export function clone<T extends Json>(v: T): T {
  return copy(v) as T;
}

function copy(v: Json): Json {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out: Json[] = new Array<Json>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copy(v[i]!);
    return out;
  }
  const out: JsonObject = {};
  for (const k of Object.keys(v)) {
    // An own "__proto__" key (JSON.parse makes one) stays a key; assigning it would set the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: copy(v[k]!), enumerable: true, writable: true, configurable: true });
    else out[k] = copy(v[k]!);
  }
  return out;
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Returns obj[key] as an object, creating it when absent. */
export function child(obj: JsonObject, key: string): JsonObject {
  const v = obj[key];
  if (isObject(v)) return v;
  const made: JsonObject = {};
  obj[key] = made;
  return made;
}

export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function obj(v: Json | undefined): JsonObject | undefined {
  return isObject(v) ? v : undefined;
}

/** Parses a JSON text; throws SyntaxError on bad input. */
export function parseJson(text: string): Json {
  return JSON.parse(text) as Json;
}
