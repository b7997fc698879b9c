/**
 * OpenAPI v3 "structural schema" engine: the subset of OpenAPI v3 that Kubernetes CustomResourceDefinitions
 * use, with the API server's behaviour for validation, pruning and defaulting.
 *
 * Pure: no I/O. Schemas are compiled once (cached per schema object in a WeakMap) and paths are only
 * turned into strings when an issue is reported.
 *
 * Semantics (as an API server applies them):
 * - `type` is checked strictly: 1.5 is not an integer; `nullable: true` admits `null`; a schema without
 *   `type` admits any value (it is usually `x-kubernetes-preserve-unknown-fields` or int-or-string).
 * - `x-kubernetes-int-or-string` admits an integer or a string.
 * - Objects: `properties` are the declared fields; `additionalProperties` as a schema makes a map;
 *   `x-kubernetes-preserve-unknown-fields` keeps undeclared fields at that node (not below declared ones).
 *   With `closed` (default) any other undeclared field is an issue ("unknown field"), which is how we catch
 *   misspellings that an API server would silently prune. At the root, `apiVersion`, `kind` and `metadata`
 *   are always accepted, as they are inside `x-kubernetes-embedded-resource` objects.
 * - `oneOf` / `anyOf` / `allOf` / `not` are value validations (as in structural schemas): their
 *   sub-schemas are evaluated open (no unknown-field checks) and never drive pruning or defaulting.
 *   Istio writes mutually exclusive fields as `oneOf: [{not: {anyOf: [{required: [a]}, ...]}}, {required: [a]}, ...]`;
 *   that case is reported as "at most one of a, b may be set".
 * - `format`: int32 / int64 ranges on numbers; date-time, date, byte, uuid, ipv4, ipv6, cidr, mac and
 *   hostname on strings. Other formats (double, float, password, uri, ...) are accepted without a check.
 * - `pattern` is an ECMAScript regular expression searched (not anchored) in the string; Kubernetes uses
 *   Go RE2, which agrees on the patterns CRDs use. A pattern that does not compile is ignored.
 * - `x-kubernetes-list-type: set|map` rejects duplicate items / duplicate map keys.
 * - `x-kubernetes-validations` (CEL) rules are evaluated with @bufbuild/cel plus the CEL strings
 *   extension. LIMITATIONS: Kubernetes-only CEL libraries (isURL/url, ip, cidr, quantity, regex `find`,
 *   lists extension, format library, authz) are not bound: a rule that calls one is skipped, not failed.
 *   Transition rules (those referring to `oldSelf`) are skipped: there is no old object here.
 *   `messageExpression`, `fieldPath` and `reason` are ignored. Runtime cost limits are not enforced.
 *   Pass `{ cel: false }` to skip CEL entirely.
 * - prune(): drops fields not declared in the skeleton (properties / additionalProperties / items), keeping
 *   preserve-unknown-fields subtrees and root/embedded `apiVersion`, `kind`, `metadata`. Nulls are kept.
 * - applyDefaults(): sets `default` for absent properties, replaces `null` by the default where the field
 *   is not nullable, removes `null` where the field is not nullable and has no default (the API server
 *   does this before defaulting), and recurses into defaulted values, maps and lists.
 */
// Loading a library is not I/O: CEL and RE2 are required on the first rule that runs, since they cost more
// start-up time than the rest of the CLI (the analyzer checks Spillway's own rules in values.ts instead).
// eslint-disable-next-line no-restricted-imports
import { createRequire } from 'node:module';
import type * as CelLib from '@bufbuild/cel';
import type * as CelExt from '@bufbuild/cel/ext';
import type * as Re2Lib from '@bufbuild/re2';
import type { CelEnv, CelResult } from '@bufbuild/cel';

export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: boolean | JSONSchemaProps;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  uniqueItems?: boolean;
  nullable?: boolean;
  default?: unknown;
  oneOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string }[];
  'x-kubernetes-embedded-resource'?: boolean;
}

export interface SchemaIssue {
  /** JSON-path-like location: "spec.ports[0].number"; "" is the root; odd map keys print as `labels["a.b/c"]`. */
  path: string;
  message: string;
  /** The schema keyword that failed ("type", "enum", "unknown", "required", "oneOf", "x-kubernetes-validations", ...). */
  keyword: string;
}

export interface ValidateOptions {
  /** Unknown fields are errors unless the node preserves unknown fields. Default true. */
  closed?: boolean;
  /** Evaluate x-kubernetes-validations (CEL) rules. Default true. */
  cel?: boolean;
}

/** "path: message", or just the message at the root. */
export function formatIssue(issue: SchemaIssue): string {
  return issue.path === '' ? `<root>: ${issue.message}` : `${issue.path}: ${issue.message}`;
}

// ---------------------------------------------------------------------------------------------------------
// Compilation

const T_ANY = 0, T_OBJECT = 1, T_ARRAY = 2, T_STRING = 3, T_INTEGER = 4, T_NUMBER = 5, T_BOOLEAN = 6;
const TYPE_CODES: Record<string, number> = {
  object: T_OBJECT, array: T_ARRAY, string: T_STRING, integer: T_INTEGER, number: T_NUMBER, boolean: T_BOOLEAN,
};

type RuleProgram = (ctx: { self: unknown }) => CelResult;
interface CompiledRule {
  rule: string;
  message: string;
  /** undefined: not compiled yet; null: unsupported (transition rule or parse error), skipped. */
  program: RuleProgram | null | undefined;
  /** Outcome per scalar `self` (rules are pure): true, false, or an error message; bounded. */
  memo: Map<unknown, boolean | string> | undefined;
}

interface Node {
  type: number;
  typeName: string;
  nullable: boolean;
  intOrString: boolean;
  preserve: boolean;
  embedded: boolean;
  props: Map<string, Node> | undefined;
  /** Schema for undeclared keys, true (any), false (none), or undefined (not set). */
  addl: Node | boolean | undefined;
  items: Node | undefined;
  required: string[] | undefined;
  enumPrims: Set<unknown> | undefined;
  enumComplex: unknown[] | undefined;
  enumList: unknown[] | undefined;
  pattern: RegExp | undefined;
  patternSrc: string;
  stringFormat: ((s: string) => boolean) | undefined;
  numberFormat: 'int32' | 'int64' | undefined;
  format: string;
  minimum: number | undefined;
  maximum: number | undefined;
  exclMin: boolean;
  exclMax: boolean;
  multipleOf: number | undefined;
  minLength: number | undefined;
  maxLength: number | undefined;
  minItems: number | undefined;
  maxItems: number | undefined;
  minProps: number | undefined;
  maxProps: number | undefined;
  uniqueItems: boolean;
  listType: string | undefined;
  listMapKeys: string[] | undefined;
  allOf: Node[] | undefined;
  anyOf: Node[] | undefined;
  oneOf: Node[] | undefined;
  /** For Istio's "at most one of" oneOf idiom: the mutually exclusive field names. */
  oneOfExclusive: string[] | undefined;
  not: Node | undefined;
  /** Required-only schema (`{required: [...]}`), used to recognise the oneOf idiom. */
  requiredOnly: string[] | undefined;
  rules: CompiledRule[] | undefined;
  hasDefault: boolean;
  defaultValue: unknown;
  /** True when some node below (skeleton only) has a default or a non-nullable property: defaulting must walk it. */
  needsDefaulting: boolean;
}

const cache = new WeakMap<JSONSchemaProps, Node>();

function compile(s: JSONSchemaProps): Node {
  const hit = cache.get(s);
  if (hit) return hit;
  const type = s.type === undefined ? T_ANY : (TYPE_CODES[s.type] ?? T_ANY);
  const n: Node = {
    type,
    typeName: s.type ?? '',
    nullable: s.nullable === true,
    intOrString: s['x-kubernetes-int-or-string'] === true,
    preserve: s['x-kubernetes-preserve-unknown-fields'] === true,
    embedded: s['x-kubernetes-embedded-resource'] === true,
    props: undefined,
    addl: undefined,
    items: undefined,
    required: s.required && s.required.length > 0 ? s.required : undefined,
    enumPrims: undefined,
    enumComplex: undefined,
    enumList: undefined,
    pattern: undefined,
    patternSrc: s.pattern ?? '',
    stringFormat: undefined,
    numberFormat: s.format === 'int32' || s.format === 'int64' ? s.format : undefined,
    format: s.format ?? '',
    minimum: s.minimum,
    maximum: s.maximum,
    exclMin: s.exclusiveMinimum === true,
    exclMax: s.exclusiveMaximum === true,
    multipleOf: s.multipleOf,
    minLength: s.minLength,
    maxLength: s.maxLength,
    minItems: s.minItems,
    maxItems: s.maxItems,
    minProps: s.minProperties,
    maxProps: s.maxProperties,
    uniqueItems: s.uniqueItems === true,
    listType: s['x-kubernetes-list-type'],
    listMapKeys: s['x-kubernetes-list-map-keys'],
    allOf: undefined,
    anyOf: undefined,
    oneOf: undefined,
    oneOfExclusive: undefined,
    not: undefined,
    requiredOnly: undefined,
    rules: undefined,
    hasDefault: s.default !== undefined,
    defaultValue: s.default,
    needsDefaulting: false,
  };
  cache.set(s, n); // before recursing: shared sub-schemas compile once
  if (s.properties) {
    n.props = new Map();
    for (const [k, v] of Object.entries(s.properties)) n.props.set(k, compile(v));
  }
  if (s.additionalProperties !== undefined) {
    n.addl = typeof s.additionalProperties === 'boolean' ? s.additionalProperties : compile(s.additionalProperties);
  }
  if (s.items) n.items = compile(s.items);
  if (s.enum) {
    n.enumList = s.enum;
    for (const e of s.enum) {
      if (e !== null && typeof e === 'object') (n.enumComplex ??= []).push(e);
      else (n.enumPrims ??= new Set()).add(e);
    }
  }
  if (s.pattern !== undefined) n.pattern = compilePattern(s.pattern);
  if (s.format !== undefined) n.stringFormat = STRING_FORMATS[s.format];
  if (s.allOf?.length) n.allOf = s.allOf.map(compile);
  if (s.anyOf?.length) n.anyOf = s.anyOf.map(compile);
  if (s.oneOf?.length) n.oneOf = s.oneOf.map(compile);
  if (s.not) n.not = compile(s.not);
  if (n.required && isRequiredOnly(s)) n.requiredOnly = n.required;
  if (n.oneOf) n.oneOfExclusive = exclusiveNames(n.oneOf);
  const rules = s['x-kubernetes-validations'];
  if (rules?.length) {
    n.rules = rules.map((r) => ({ rule: r.rule, message: r.message ?? `failed rule: ${r.rule}`, program: undefined, memo: undefined }));
  }
  let needs = false;
  if (n.props) for (const p of n.props.values()) if (p.hasDefault || !p.nullable || p.needsDefaulting) needs = true;
  if (typeof n.addl === 'object' && (!n.addl.nullable || n.addl.hasDefault || n.addl.needsDefaulting)) needs = true;
  if (n.items && (n.items.hasDefault || n.items.needsDefaulting)) needs = true;
  n.needsDefaulting = needs;
  return n;
}

function isRequiredOnly(s: JSONSchemaProps): boolean {
  for (const k of Object.keys(s)) if (k !== 'required' && k !== 'description') return false;
  return true;
}

/** Recognise `oneOf: [{not: {anyOf: [{required:[a]}, {required:[b]}]}}, {required:[a]}, {required:[b]}]` (and without the `not`). */
function exclusiveNames(branches: Node[]): string[] | undefined {
  const names: string[] = [];
  for (const b of branches) {
    if (b.requiredOnly && b.requiredOnly.length === 1) { names.push(b.requiredOnly[0] as string); continue; }
    if (b.not && b.not.anyOf && b.not.anyOf.every((x) => x.requiredOnly) && b.type === T_ANY && !b.props) continue;
    return undefined;
  }
  return names.length > 0 ? names : undefined;
}

function compilePattern(p: string): RegExp | undefined {
  try {
    return new RegExp(p, 'u');
  } catch {
    try {
      return new RegExp(p);
    } catch {
      return undefined;
    }
  }
}

// --- formats --------------------------------------------------------------------------------------------

const RE_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RE_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const RE_BYTE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RE_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RE_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const RE_MAC = /^(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/;
const RE_HOSTNAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= (days[m - 1] as number);
}

function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  let str = s;
  let groupsWanted = 8;
  const lastColon = str.lastIndexOf(':');
  if (str.indexOf('.') !== -1) {
    if (!RE_IPV4.test(str.slice(lastColon + 1))) return false;
    str = str.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = str.indexOf('::');
  if (dbl !== str.lastIndexOf('::')) return false;
  const parts = (x: string): string[] => (x === '' ? [] : x.split(':'));
  const okGroup = (g: string): boolean => /^[0-9A-Fa-f]{1,4}$/.test(g);
  if (dbl === -1) {
    const gs = parts(str);
    return gs.length === groupsWanted && gs.every(okGroup);
  }
  const head = parts(str.slice(0, dbl));
  const tail = parts(str.slice(dbl + 2));
  groupsWanted -= 1;
  return head.length + tail.length <= groupsWanted && head.every(okGroup) && tail.every(okGroup);
}

const STRING_FORMATS: Record<string, (s: string) => boolean> = {
  'date-time': (s) => {
    const m = RE_DATE_TIME.exec(s);
    return !!m && validDate(+(m[1] as string), +(m[2] as string), +(m[3] as string)) && +(m[4] as string) < 24 && +(m[5] as string) < 60 && +(m[6] as string) < 61;
  },
  date: (s) => {
    const m = RE_DATE.exec(s);
    return !!m && validDate(+(m[1] as string), +(m[2] as string), +(m[3] as string));
  },
  byte: (s) => RE_BYTE.test(s),
  uuid: (s) => RE_UUID.test(s),
  ipv4: (s) => RE_IPV4.test(s),
  ipv6: isIPv6,
  cidr: (s) => {
    const slash = s.indexOf('/');
    if (slash < 0 || !/^\d{1,3}$/.test(s.slice(slash + 1))) return false;
    const ip = s.slice(0, slash);
    const bits = +s.slice(slash + 1);
    if (RE_IPV4.test(ip)) return bits <= 32;
    return isIPv6(ip) && bits <= 128;
  },
  mac: (s) => RE_MAC.test(s),
  hostname: (s) => RE_HOSTNAME.test(s),
};
STRING_FORMATS.datetime = STRING_FORMATS['date-time'] as (s: string) => boolean;

// ---------------------------------------------------------------------------------------------------------
// Validation

interface Ctx {
  issues: SchemaIssue[];
  /** Path segments: strings are keys, numbers are array indexes. Pushed and popped; stringified only on error. */
  stack: (string | number)[];
  closed: boolean;
  cel: boolean;
  /** >0 while evaluating junctor branches: issues are counted, not recorded. */
  silent: number;
  errors: number;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function pathOf(stack: readonly (string | number)[]): string {
  let out = '';
  for (const seg of stack) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function report(ctx: Ctx, keyword: string, message: string, extra?: string | number): void {
  ctx.errors++;
  if (ctx.silent > 0) return;
  if (extra !== undefined) ctx.stack.push(extra);
  ctx.issues.push({ path: pathOf(ctx.stack), message, keyword });
  if (extra !== undefined) ctx.stack.pop();
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string': return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number': return `number ${v}`;
    case 'boolean': return `boolean ${v}`;
    case 'object': return 'object';
    default: return typeof v;
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 60) + '…' : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeOk(type: number, v: unknown): boolean {
  switch (type) {
    case T_OBJECT: return typeof v === 'object' && v !== null && !Array.isArray(v);
    case T_ARRAY: return Array.isArray(v);
    case T_STRING: return typeof v === 'string';
    case T_INTEGER: return typeof v === 'number' && Number.isInteger(v);
    case T_NUMBER: return typeof v === 'number' && Number.isFinite(v);
    case T_BOOLEAN: return typeof v === 'boolean';
    default: return true;
  }
}

/** Code-point length, computing it only when the UTF-16 length could differ. */
function cpLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) { n--; i++; }
  }
  return n;
}

function validateNode(ctx: Ctx, n: Node, v: unknown, root: boolean, open: boolean): void {
  if (v === null) {
    if (n.nullable || (n.type === T_ANY && !n.intOrString)) return;
    report(ctx, 'nullable', 'must not be null');
    return;
  }
  if (n.intOrString) {
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) {
      report(ctx, 'type', `expected integer or string, got ${describe(v)}`);
      return;
    }
  } else if (n.type !== T_ANY && !typeOk(n.type, v)) {
    report(ctx, 'type', `expected ${n.typeName}, got ${describe(v)}`);
    return;
  }

  if (n.enumList !== undefined && !enumHas(n, v)) {
    const opts = n.enumList.map(show);
    report(ctx, 'enum', `unsupported value ${show(v)}: expected one of ${opts.length > 12 ? opts.slice(0, 12).join(', ') + ', …' : opts.join(', ')}`);
  }

  if (typeof v === 'string') {
    if (n.maxLength !== undefined && v.length > n.maxLength && cpLength(v) > n.maxLength) {
      report(ctx, 'maxLength', `must be at most ${n.maxLength} characters long`);
    }
    if (n.minLength !== undefined && (v.length < n.minLength || cpLength(v) < n.minLength)) {
      report(ctx, 'minLength', `must be at least ${n.minLength} characters long`);
    }
    if (n.pattern !== undefined && !n.pattern.test(v)) {
      report(ctx, 'pattern', `${show(v)} does not match pattern ${n.patternSrc}`);
    }
    if (n.stringFormat !== undefined && !n.stringFormat(v)) {
      report(ctx, 'format', `${show(v)} is not a valid ${n.format}`);
    }
  } else if (typeof v === 'number') {
    if (n.minimum !== undefined && (n.exclMin ? v <= n.minimum : v < n.minimum)) {
      report(ctx, 'minimum', `must be ${n.exclMin ? 'greater than' : 'greater than or equal to'} ${n.minimum}`);
    }
    if (n.maximum !== undefined && (n.exclMax ? v >= n.maximum : v > n.maximum)) {
      report(ctx, 'maximum', `must be ${n.exclMax ? 'less than' : 'less than or equal to'} ${n.maximum}`);
    }
    if (n.multipleOf !== undefined && n.multipleOf > 0) {
      const q = v / n.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9) report(ctx, 'multipleOf', `must be a multiple of ${n.multipleOf}`);
    }
    if (n.numberFormat === 'int32' && Number.isInteger(v) && (v < -2147483648 || v > 2147483647)) {
      report(ctx, 'format', `${v} is out of range for int32`);
    } else if (n.numberFormat === 'int64' && Number.isInteger(v) && (v < -9223372036854775808 || v >= 9223372036854775808)) {
      report(ctx, 'format', `${v} is out of range for int64`);
    }
  } else if (Array.isArray(v)) {
    validateArray(ctx, n, v, open);
  } else if (typeof v === 'object') {
    validateObject(ctx, n, v as Record<string, unknown>, root, open);
  }

  if (n.allOf !== undefined) for (const b of n.allOf) validateNode(ctx, b, v, false, true);
  if (n.anyOf !== undefined) {
    // int-or-string nodes carry anyOf [{type: integer}, {type: string}], which passes for any value admitted above.
    let ok = false;
    for (const b of n.anyOf) if (matches(ctx, b, v)) { ok = true; break; }
    if (!ok) report(ctx, 'anyOf', 'must match at least one of the anyOf schemas');
  }
  if (n.oneOf !== undefined) {
    let count = 0;
    for (const b of n.oneOf) if (matches(ctx, b, v)) count++;
    if (count !== 1) {
      if (n.oneOfExclusive !== undefined && isPlainObject(v)) {
        const set = n.oneOfExclusive.filter((k) => k in v);
        report(ctx, 'oneOf', `at most one of ${n.oneOfExclusive.join(', ')} may be set (found ${set.join(', ')})`);
      } else {
        report(ctx, 'oneOf', `must match exactly one of the oneOf schemas (matched ${count})`);
      }
    }
  }
  if (n.not !== undefined && matches(ctx, n.not, v)) {
    report(ctx, 'not', 'must not match the "not" schema');
  }
  if (n.rules !== undefined && ctx.cel && ctx.silent === 0) runRules(ctx, n, v);
}

/** Does v satisfy branch b? Evaluated open and silently. */
function matches(ctx: Ctx, b: Node, v: unknown): boolean {
  const before = ctx.errors;
  ctx.silent++;
  try {
    validateNode(ctx, b, v, false, true);
  } finally {
    ctx.silent--;
  }
  const ok = ctx.errors === before;
  ctx.errors = before;
  return ok;
}

function enumHas(n: Node, v: unknown): boolean {
  if (v !== null && typeof v === 'object') {
    if (n.enumComplex === undefined) return false;
    for (const e of n.enumComplex) if (jsonEqual(e, v)) return true;
    return false;
  }
  return n.enumPrims !== undefined && n.enumPrims.has(v);
}

/** Deep equality of JSON values; key order is ignored and a key whose value is undefined counts as absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let n = 0;
  for (const k in ra) {
    if (ra[k] === undefined) continue;
    n++;
    if (!jsonEqual(ra[k], rb[k])) return false;
  }
  for (const k in rb) if (rb[k] !== undefined) n--;
  return n === 0;
}

function validateArray(ctx: Ctx, n: Node, v: unknown[], open: boolean): void {
  if (n.minItems !== undefined && v.length < n.minItems) report(ctx, 'minItems', `must have at least ${n.minItems} items`);
  if (n.maxItems !== undefined && v.length > n.maxItems) report(ctx, 'maxItems', `must have at most ${n.maxItems} items`);
  if (n.uniqueItems || n.listType === 'set') {
    const kw = n.uniqueItems ? 'uniqueItems' : 'x-kubernetes-list-type';
    outer: for (let i = 1; i < v.length; i++) {
      for (let j = 0; j < i; j++) {
        if (jsonEqual(v[i], v[j])) { report(ctx, kw, `duplicate value ${show(v[i])}`, i); break outer; }
      }
    }
  } else if (n.listType === 'map' && n.listMapKeys !== undefined && n.listMapKeys.length > 0) {
    const seen = new Set<string>();
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      if (!isPlainObject(item)) continue;
      const key = JSON.stringify(n.listMapKeys.map((k) => item[k] ?? null));
      if (seen.has(key)) report(ctx, 'x-kubernetes-list-map-keys', `duplicate entry for key ${n.listMapKeys.join(', ')} = ${key}`, i);
      else seen.add(key);
    }
  }
  const items = n.items;
  if (items !== undefined) {
    const stack = ctx.stack;
    for (let i = 0; i < v.length; i++) {
      stack.push(i);
      validateNode(ctx, items, v[i], false, open);
      stack.pop();
    }
  }
}

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function validateObject(ctx: Ctx, n: Node, v: Record<string, unknown>, root: boolean, open: boolean): void {
  if (n.minProps !== undefined || n.maxProps !== undefined) {
    const count = Object.keys(v).length;
    if (n.minProps !== undefined && count < n.minProps) report(ctx, 'minProperties', `must have at least ${n.minProps} properties`);
    if (n.maxProps !== undefined && count > n.maxProps) report(ctx, 'maxProperties', `must have at most ${n.maxProps} properties`);
  }
  if (n.required !== undefined) {
    for (const k of n.required) {
      if (!Object.prototype.hasOwnProperty.call(v, k) || v[k] === undefined) report(ctx, 'required', 'required field is missing', k);
    }
  }
  const props = n.props;
  const addl = n.addl;
  // Unknown keys are rejected only when closed, on a node that declares its shape, outside junctors.
  const rejectUnknown = addl === false || (!open && ctx.closed && !n.preserve && addl === undefined && n.type === T_OBJECT);
  const allowMeta = root || n.embedded;
  const stack = ctx.stack;
  for (const k in v) {
    const child = v[k];
    if (child === undefined) continue;
    const p = props?.get(k);
    if (p !== undefined) {
      stack.push(k);
      validateNode(ctx, p, child, false, open);
      stack.pop();
    } else if (typeof addl === 'object') {
      stack.push(k);
      validateNode(ctx, addl, child, false, open);
      stack.pop();
    } else if (rejectUnknown && !(allowMeta && ROOT_FIELDS.has(k))) {
      report(ctx, 'unknown', 'unknown field', k);
    } else if (allowMeta && k === 'metadata' && !n.preserve && child !== null && !isPlainObject(child)) {
      report(ctx, 'type', `expected object, got ${describe(child)}`, k);
    }
  }
}

// --- CEL ------------------------------------------------------------------------------------------------

interface Cel {
  lib: typeof CelLib;
  env: CelEnv;
}
let cel: Cel | undefined;

function loadCel(): Cel {
  if (cel === undefined) {
    const require = createRequire(import.meta.url);
    const lib = require('@bufbuild/cel') as typeof CelLib;
    const ext = require('@bufbuild/cel/ext') as typeof CelExt;
    const { RE2JS } = require('@bufbuild/re2') as typeof Re2Lib;
    /** The default `matches` compiles its pattern on every call; rules use a handful of constant patterns. */
    const re2Cache = new Map<string, { test(text: string): boolean }>();
    const cachedRe2 = {
      compile(pattern: string): { test(text: string): boolean } {
        let m = re2Cache.get(pattern);
        if (m === undefined) {
          const re = RE2JS.compile(pattern);
          m = { test: (text: string) => re.test(text) };
          if (re2Cache.size < MEMO_LIMIT) re2Cache.set(pattern, m);
        }
        return m;
      },
    };
    cel = { lib, env: lib.celEnv({ funcs: ext.strings, re2: cachedRe2 }) };
  }
  return cel;
}
const OLD_SELF = /\boldSelf\b/;
const MEMO_LIMIT = 4096;

function compileRule(r: CompiledRule): RuleProgram | null {
  if (OLD_SELF.test(r.rule)) return null;
  const { lib, env } = loadCel();
  try {
    return lib.plan(env, lib.parse(r.rule)) as RuleProgram;
  } catch {
    return null;
  }
}

/** JSON value -> CEL input: integers become CEL ints (bigint) unless the schema says `number`; objects become maps. */
function toCel(v: unknown, n: Node | undefined): unknown {
  if (typeof v === 'number') return Number.isInteger(v) && n?.type !== T_NUMBER ? BigInt(v) : v;
  if (Array.isArray(v)) {
    const items = n?.items;
    return v.map((x) => toCel(x, items));
  }
  if (v !== null && typeof v === 'object') {
    const out = new Map<string, unknown>();
    for (const k in v) {
      const child = (v as Record<string, unknown>)[k];
      if (child === undefined) continue;
      const p = n?.props?.get(k) ?? (typeof n?.addl === 'object' ? n.addl : undefined);
      out.set(k, toCel(child, p));
    }
    return out;
  }
  return v;
}

const SKIP = /unbound function|no such overload|no matching overload|unsupported/i;

/** true: passed; false: failed; string: evaluation error; undefined: skipped (a library we do not bind). */
function evalRule(r: CompiledRule, self: unknown): boolean | string | undefined {
  const res = (r.program as RuleProgram)({ self });
  if ((cel as Cel).lib.isCelError(res)) return SKIP.test(res.message) ? undefined : res.message;
  return res === true;
}

function runRules(ctx: Ctx, n: Node, v: unknown): void {
  const scalar = v === null || typeof v !== 'object';
  let self: unknown;
  let converted = false;
  for (const r of n.rules as CompiledRule[]) {
    if (r.program === undefined) r.program = compileRule(r);
    if (r.program === null) continue;
    let out: boolean | string | undefined;
    if (scalar) {
      const memo = (r.memo ??= new Map());
      out = memo.get(v);
      if (out === undefined && !memo.has(v)) {
        out = evalRule(r, toCel(v, n));
        if (memo.size < MEMO_LIMIT) memo.set(v, out as boolean | string);
      }
    } else {
      if (!converted) { self = toCel(v, n); converted = true; }
      out = evalRule(r, self);
    }
    if (out === undefined || out === true) continue;
    if (out === false) report(ctx, 'x-kubernetes-validations', r.message);
    else report(ctx, 'x-kubernetes-validations', `rule ${show(r.rule)} failed to evaluate: ${out}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Public API

/** Validate value against schema. Returns every issue found (empty when valid). */
export function validate(schema: JSONSchemaProps, value: unknown, opts?: ValidateOptions): SchemaIssue[] {
  const ctx: Ctx = {
    issues: [],
    stack: [],
    closed: opts?.closed ?? true,
    cel: opts?.cel ?? true,
    silent: 0,
    errors: 0,
  };
  validateNode(ctx, compile(schema), value, true, false);
  return ctx.issues;
}

function cloneJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneJson);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k in v) {
      const c = (v as Record<string, unknown>)[k];
      if (c !== undefined) out[k] = cloneJson(c);
    }
    return out;
  }
  return v;
}

function pruneNode(n: Node, v: unknown, root: boolean, stack: (string | number)[], pruned: string[]): unknown {
  if (Array.isArray(v)) {
    const items = n.items;
    if (items === undefined) return cloneJson(v);
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      stack.push(i);
      out[i] = pruneNode(items, v[i], false, stack, pruned);
      stack.pop();
    }
    return out;
  }
  if (v === null || typeof v !== 'object') return v;
  const obj = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const allowMeta = root || n.embedded;
  const keepUnknown = n.preserve || n.addl === true;
  for (const k in obj) {
    const child = obj[k];
    if (child === undefined) continue;
    const p = n.props?.get(k);
    if (p !== undefined) {
      stack.push(k);
      out[k] = pruneNode(p, child, false, stack, pruned);
      stack.pop();
    } else if (typeof n.addl === 'object') {
      stack.push(k);
      out[k] = pruneNode(n.addl, child, false, stack, pruned);
      stack.pop();
    } else if (keepUnknown || (allowMeta && ROOT_FIELDS.has(k))) {
      out[k] = cloneJson(child);
    } else {
      stack.push(k);
      pruned.push(pathOf(stack));
      stack.pop();
    }
  }
  return out;
}

/** Drop fields the schema does not declare, as an API server does. Returns a copy and the dropped paths. */
export function prune(schema: JSONSchemaProps, value: unknown): { value: unknown; pruned: string[] } {
  const pruned: string[] = [];
  const out = pruneNode(compile(schema), value, true, [], pruned);
  return { value: out, pruned };
}

function defaultNode(n: Node, v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = n.items;
    if (items === undefined || !(items.needsDefaulting || items.hasDefault)) return cloneJson(v);
    return v.map((x) => (x === null && items.hasDefault && !items.nullable ? cloneJson(items.defaultValue) : defaultNode(items, x)));
  }
  if (v === null || typeof v !== 'object') return v;
  const obj = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const addl = typeof n.addl === 'object' ? n.addl : undefined;
  for (const k in obj) {
    const child = obj[k];
    if (child === undefined) continue;
    const p = n.props?.get(k) ?? addl;
    if (p === undefined) { out[k] = cloneJson(child); continue; }
    if (child === null && !p.nullable) {
      if (p.hasDefault) out[k] = defaultNode(p, cloneJson(p.defaultValue));
      // non-nullable null without a default: dropped
      continue;
    }
    out[k] = defaultNode(p, child);
  }
  if (n.props) {
    for (const [k, p] of n.props) {
      // absent (or undefined) only: a null was handled above (kept when nullable, else defaulted or dropped)
      if (p.hasDefault && obj[k] === undefined) out[k] = defaultNode(p, cloneJson(p.defaultValue));
    }
  }
  return out;
}

/** Apply schema defaults like an API server. Returns a copy; never mutates value. */
export function applyDefaults(schema: JSONSchemaProps, value: unknown): unknown {
  return defaultNode(compile(schema), value);
}
