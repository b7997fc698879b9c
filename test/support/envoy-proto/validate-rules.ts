// A checker for the protoc-gen-validate (PGV) rules that Envoy's API protos carry as
// `(validate.rules)` / `(validate.required)` options and that Envoy enforces when it loads config.
// A strict JSON parse cannot see them: an aggregate ClusterConfig with an empty `clusters` list, or a
// cluster with `connect_timeout: "0s"`, parses fine and is then rejected by Envoy.
//
// Supported (PGV semantics): message.required, oneof required, message-level disabled; repeated
// min_items/max_items/unique/items; map min_pairs/max_pairs; string const/len/min_len/max_len/
// min_bytes/max_bytes/prefix/suffix/contains/not_contains/in/not_in/pattern/well_known_regex/ignore_empty;
// bytes const/len/min_len/max_len; all numeric const/lt/lte/gt/gte/in/not_in (also through wrapper
// types); bool const; enum const/defined_only/in/not_in; duration required/const/lt/lte/gt/gte;
// any required/in/not_in. Other rule kinds (well-known string formats such as `hostname`, timestamps)
// are not checked. Any values are unpacked and checked too; a TypedStruct's payload is checked by the
// caller-supplied callback against the message its type_url names.
import { getOption, toJson } from '@bufbuild/protobuf';
import type { DescEnum, DescExtension, DescField, DescMessage, DescOneof, JsonObject, JsonValue, Message, Registry } from '@bufbuild/protobuf';
import { reflect } from '@bufbuild/protobuf/reflect';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Any } from '@bufbuild/protobuf/wkt';

export type PayloadCheck = (typeName: string, json: JsonValue) => { ok: true } | { ok: false; error: string };

const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

// Retired v2 types whose v3 successor has the same JSON shape, for TypedStruct payloads.
const V2_SUCCESSORS: Record<string, string> = {
  'envoy.config.cluster.aggregate.v2alpha.ClusterConfig': 'envoy.extensions.clusters.aggregate.v3.ClusterConfig',
};

/** The registered message a TypedStruct type_url stands for, or undefined. */
export function typedStructTarget(registry: Registry, typeUrl: string): string | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (registry.getMessage(name)) return name;
  const successor = V2_SUCCESSORS[name];
  return successor && registry.getMessage(successor) ? successor : undefined;
}

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

const NUMERIC_KINDS = new Set(['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function num(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

/** Nanoseconds of a proto3-JSON Duration string ("1.5s"). */
function durationNanos(v: JsonValue | undefined): bigint | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
  if (!m) return undefined;
  const n = BigInt(m[2] ?? '0') * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0') || '0');
  return m[1] ? -n : n;
}

/** Checks a value against gt/gte/lt/lte with PGV's "exclusive range" reading when upper < lower. */
function rangeProblem<T extends number | bigint>(v: T, r: { gt?: T; gte?: T; lt?: T; lte?: T }, show: (x: T) => string): string | undefined {
  const lower = r.gt !== undefined ? v > r.gt : r.gte !== undefined ? v >= r.gte : undefined;
  const upper = r.lt !== undefined ? v < r.lt : r.lte !== undefined ? v <= r.lte : undefined;
  const lo = r.gt !== undefined ? `> ${show(r.gt)}` : r.gte !== undefined ? `>= ${show(r.gte)}` : '';
  const hi = r.lt !== undefined ? `< ${show(r.lt)}` : r.lte !== undefined ? `<= ${show(r.lte)}` : '';
  const lowerBound = r.gt ?? r.gte;
  const upperBound = r.lt ?? r.lte;
  if (lower !== undefined && upper !== undefined && lowerBound !== undefined && upperBound !== undefined && upperBound < lowerBound) {
    return lower || upper ? undefined : `must be ${hi} or ${lo}`;
  }
  if (lower === false || upper === false) return `must be ${[lo, hi].filter(Boolean).join(' and ')}`;
  return undefined;
}

const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
// PGV's strict header value excludes NUL-BS, LF-US and DEL; its loose form only NUL, LF and CR.
const HEADER_VALUE = { test: (s: string): boolean => ![...s].some((ch) => { const c = ch.codePointAt(0) ?? 0; return c <= 8 || (c >= 10 && c <= 31) || c === 127; }) };
const LOOSE_HEADER = { test: (s: string): boolean => !/[\n\r]/.test(s) && !s.includes(String.fromCharCode(0)) };

function stringProblems(s: string, r: JsonObject): string[] {
  if (r['ignoreEmpty'] === true && s === '') return [];
  const out: string[] = [];
  const chars = [...s].length;
  const bytes = Buffer.byteLength(s, 'utf8');
  const at = (k: string): number | undefined => num(r[k]);
  if (typeof r['const'] === 'string' && s !== r['const']) out.push(`must equal ${JSON.stringify(r['const'])}`);
  if (at('len') !== undefined && chars !== at('len')) out.push(`must be ${at('len')} characters`);
  if (at('minLen') !== undefined && chars < (at('minLen') ?? 0)) out.push(`must be at least ${at('minLen')} characters`);
  if (at('maxLen') !== undefined && chars > (at('maxLen') ?? 0)) out.push(`must be at most ${at('maxLen')} characters`);
  if (at('minBytes') !== undefined && bytes < (at('minBytes') ?? 0)) out.push(`must be at least ${at('minBytes')} bytes`);
  if (at('maxBytes') !== undefined && bytes > (at('maxBytes') ?? 0)) out.push(`must be at most ${at('maxBytes')} bytes`);
  if (typeof r['prefix'] === 'string' && !s.startsWith(r['prefix'])) out.push(`must start with ${JSON.stringify(r['prefix'])}`);
  if (typeof r['suffix'] === 'string' && !s.endsWith(r['suffix'])) out.push(`must end with ${JSON.stringify(r['suffix'])}`);
  if (typeof r['contains'] === 'string' && !s.includes(r['contains'])) out.push(`must contain ${JSON.stringify(r['contains'])}`);
  if (typeof r['notContains'] === 'string' && s.includes(r['notContains'])) out.push(`must not contain ${JSON.stringify(r['notContains'])}`);
  if (Array.isArray(r['in']) && !r['in'].includes(s)) out.push(`must be one of ${JSON.stringify(r['in'])}`);
  if (Array.isArray(r['notIn']) && r['notIn'].includes(s)) out.push(`must not be one of ${JSON.stringify(r['notIn'])}`);
  if (typeof r['pattern'] === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(r['pattern'], 'u'); // RE2 syntax; the patterns Envoy uses are also valid JS.
    } catch {
      re = undefined;
    }
    if (re && !re.test(s)) out.push(`must match /${r['pattern']}/`);
  }
  const wk = r['wellKnownRegex'];
  const strict = r['strict'] !== false;
  if (wk === 'HTTP_HEADER_NAME' && !(strict ? HEADER_NAME : LOOSE_HEADER).test(s)) out.push('must be a valid HTTP header name');
  if (wk === 'HTTP_HEADER_VALUE' && !(strict ? HEADER_VALUE : LOOSE_HEADER).test(s)) out.push('must be a valid HTTP header value');
  return out;
}

function scalarProblems(kind: string, value: unknown, r: JsonObject, enumDesc?: DescEnum): string[] {
  if (kind === 'string' && typeof value === 'string') return stringProblems(value, r);
  if (kind === 'bytes' && value instanceof Uint8Array) {
    const out: string[] = [];
    const len = num(r['len']);
    const min = num(r['minLen']);
    const max = num(r['maxLen']);
    if (len !== undefined && value.length !== len) out.push(`must be ${len} bytes`);
    if (min !== undefined && value.length < min) out.push(`must be at least ${min} bytes`);
    if (max !== undefined && value.length > max) out.push(`must be at most ${max} bytes`);
    return out;
  }
  if (kind === 'bool') return typeof r['const'] === 'boolean' && value !== r['const'] ? [`must be ${r['const']}`] : [];
  if (kind === 'enum' && typeof value === 'number') {
    const out: string[] = [];
    const name = enumDesc?.values.find((x) => x.number === value)?.name ?? String(value);
    const numbers = (xs: JsonValue[]): number[] => xs.map((x) => num(x) ?? enumDesc?.values.find((e) => e.name === x)?.number ?? NaN);
    if (r['definedOnly'] === true && enumDesc && !enumDesc.values.some((x) => x.number === value)) out.push(`${value} is not a defined ${enumDesc.typeName} value`);
    if (r['const'] !== undefined && numbers([r['const']])[0] !== value) out.push(`must be ${JSON.stringify(r['const'])}`);
    if (Array.isArray(r['in']) && !numbers(r['in']).includes(value)) out.push(`${name} must be one of ${JSON.stringify(r['in'])}`);
    if (Array.isArray(r['notIn']) && numbers(r['notIn']).includes(value)) out.push(`${name} must not be one of ${JSON.stringify(r['notIn'])}`);
    return out;
  }
  if (NUMERIC_KINDS.has(kind) && (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string')) {
    const v = Number(value);
    const out: string[] = [];
    const c = num(r['const']);
    if (c !== undefined && v !== c) out.push(`must equal ${c}`);
    const range = rangeProblem(v, { gt: num(r['gt']), gte: num(r['gte']), lt: num(r['lt']), lte: num(r['lte']) }, String);
    if (range) out.push(`${v} ${range}`);
    if (Array.isArray(r['in']) && !r['in'].map(num).includes(v)) out.push(`${v} must be one of ${JSON.stringify(r['in'])}`);
    if (Array.isArray(r['notIn']) && r['notIn'].map(num).includes(v)) out.push(`${v} must not be one of ${JSON.stringify(r['notIn'])}`);
    return out;
  }
  return [];
}

/** Lower-case scalar kind name of a field ('string', 'uint32', 'enum', 'message'...). */
function fieldKind(f: DescField): string {
  if (f.fieldKind === 'enum' || (f.fieldKind === 'list' && f.listKind === 'enum')) return 'enum';
  if (f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message')) return 'message';
  const scalar = f.fieldKind === 'scalar' ? f.scalar : f.fieldKind === 'list' && f.listKind === 'scalar' ? f.scalar : undefined;
  if (scalar === undefined) return 'unknown';
  const names: Record<number, string> = { 1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool', 9: 'string', 12: 'bytes', 13: 'uint32', 15: 'sfixed32', 16: 'sfixed64', 17: 'sint32', 18: 'sint64' };
  return names[scalar] ?? 'unknown';
}

// Decoded (validate.rules) of each field, as proto3 JSON; descriptors live as long as their registry.
const rulesCache = new WeakMap<DescField, JsonObject | undefined>();
// (validate.required) of oneofs and (validate.disabled) of messages: each element has one of the two.
const flagCache = new WeakMap<DescOneof | DescMessage, boolean>();

class Checker {
  readonly problems: string[] = [];
  private readonly rulesExt: DescExtension | undefined;
  private readonly requiredExt: DescExtension | undefined;
  private readonly disabledExt: DescExtension | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly checkPayload: PayloadCheck,
  ) {
    for (const ext of ['validate.rules', 'validate.required', 'validate.disabled']) {
      const e = registry.getExtension(ext);
      if (ext === 'validate.rules') this.rulesExt = e;
      else if (ext === 'validate.required') this.requiredExt = e;
      else this.disabledExt = e;
    }
  }

  private rules(field: DescField): JsonObject | undefined {
    if (rulesCache.has(field)) return rulesCache.get(field);
    let out: JsonObject | undefined;
    const ext = this.rulesExt;
    if (ext && ext.fieldKind === 'message') {
      const value: unknown = getOption(field, ext);
      out = obj(toJson(ext.message, value as Message));
      if (out && Object.keys(out).length === 0) out = undefined;
    }
    rulesCache.set(field, out);
    return out;
  }

  private flag(ext: DescExtension | undefined, element: DescOneof | DescMessage): boolean {
    if (!ext) return false;
    const cached = flagCache.get(element);
    if (cached !== undefined) return cached;
    // getOption's typing ties the element kind to the extendee; these extensions are resolved at run time.
    const on = (getOption as (el: DescOneof | DescMessage, e: DescExtension) => unknown)(element, ext) === true;
    flagCache.set(element, on);
    return on;
  }

  private add(path: string, what: string): void {
    this.problems.push(`${path}: ${what}`);
  }

  message(rm: ReflectMessage, path: string): void {
    const desc = rm.desc;
    if (desc.typeName === 'google.protobuf.Any') return this.any(rm.message as Any, path);
    if (this.flag(this.disabledExt, desc)) return;
    for (const oneof of desc.oneofs) {
      if (this.flag(this.requiredExt, oneof) && rm.oneofCase(oneof) === undefined) {
        this.add(path, `one of ${oneof.fields.map((f) => f.name).join(', ')} is required (oneof ${oneof.name})`);
      }
    }
    for (const field of desc.fields) {
      const inOneof = field.oneof !== undefined;
      const set = rm.isSet(field);
      // PGV checks a oneof member, or a proto3 `optional` scalar, only when it is set.
      if ((inOneof || field.proto.proto3Optional) && !set) continue;
      const r = this.rules(field);
      const p = `${path}.${field.name}`;
      if (field.fieldKind === 'message') {
        if (!set) {
          if (obj(r?.['message'])?.['required'] === true || obj(r?.['duration'])?.['required'] === true || obj(r?.['any'])?.['required'] === true) {
            this.add(p, 'is required');
          }
          continue;
        }
        const child = rm.get(field);
        if (r) this.messageValueRules(child, r, p);
        if (obj(r?.['message'])?.['skip'] !== true) this.message(child, p);
      } else if (field.fieldKind === 'list') {
        const list = rm.get(field);
        const rr = obj(r?.['repeated']);
        if (rr) {
          const min = num(rr['minItems']);
          const max = num(rr['maxItems']);
          if (min !== undefined && list.size < min) this.add(p, `needs at least ${min} item(s), has ${list.size}`);
          if (max !== undefined && list.size > max) this.add(p, `allows at most ${max} item(s), has ${list.size}`);
          if (rr['unique'] === true) {
            const seen = new Set<unknown>();
            for (const v of list) {
              if (seen.has(v)) this.add(p, `items must be unique; ${JSON.stringify(v)} repeats`);
              seen.add(v);
            }
          }
        }
        const items = obj(rr?.['items']);
        let i = 0;
        for (const v of list) {
          const ip = `${p}[${i++}]`;
          if (field.listKind === 'message') {
            const child = v as ReflectMessage;
            if (items) this.messageValueRules(child, items, ip);
            if (obj(items?.['message'])?.['skip'] !== true) this.message(child, ip);
          } else if (items) {
            this.scalarRules(field, v, items, ip);
          }
        }
      } else if (field.fieldKind === 'map') {
        const map = rm.get(field);
        const mr = obj(r?.['map']);
        const min = num(mr?.['minPairs']);
        const max = num(mr?.['maxPairs']);
        if (min !== undefined && map.size < min) this.add(p, `needs at least ${min} entries, has ${map.size}`);
        if (max !== undefined && map.size > max) this.add(p, `allows at most ${max} entries, has ${map.size}`);
        if (field.mapKind === 'message') {
          for (const [k, v] of map) this.message(v as ReflectMessage, `${p}[${JSON.stringify(String(k))}]`);
        }
      } else if (r) {
        this.scalarRules(field, rm.get(field), r, p);
      }
    }
  }

  private scalarRules(field: DescField, value: unknown, r: JsonObject, path: string): void {
    const kind = fieldKind(field);
    const kr = obj(r[kind]);
    if (!kr) return;
    const enumDesc = field.fieldKind === 'enum' ? field.enum : field.fieldKind === 'list' && field.listKind === 'enum' ? field.enum : undefined;
    for (const why of scalarProblems(kind, value, kr, enumDesc)) this.add(path, why);
  }

  /** Rules that apply to a set message-typed value: wrappers, Duration, Any. */
  private messageValueRules(child: ReflectMessage, r: JsonObject, path: string): void {
    const typeName = child.desc.typeName;
    const wrapped = WRAPPERS[typeName];
    if (wrapped) {
      const kr = obj(r[wrapped]);
      const valueField = child.desc.fields[0];
      if (kr && valueField) for (const why of scalarProblems(wrapped, child.get(valueField), kr)) this.add(path, why);
      return;
    }
    if (typeName === 'google.protobuf.Duration') {
      const dr = obj(r['duration']);
      if (!dr) return;
      const json = toJson(child.desc, child.message);
      const v = durationNanos(json);
      if (v === undefined) return;
      const show = (n: bigint): string => `${Number(n) / 1e9}s`;
      const c = durationNanos(dr['const']);
      if (c !== undefined && v !== c) this.add(path, `must be ${show(c)}`);
      const range = rangeProblem(v, { gt: durationNanos(dr['gt']), gte: durationNanos(dr['gte']), lt: durationNanos(dr['lt']), lte: durationNanos(dr['lte']) }, show);
      if (range) this.add(path, `${String(json)} ${range}`);
      return;
    }
    if (typeName === 'google.protobuf.Any') {
      const ar = obj(r['any']);
      const url = (child.message as Any).typeUrl;
      if (ar && Array.isArray(ar['in']) && !ar['in'].includes(url)) this.add(path, `@type ${url} must be one of ${JSON.stringify(ar['in'])}`);
      if (ar && Array.isArray(ar['notIn']) && ar['notIn'].includes(url)) this.add(path, `@type ${url} is not allowed`);
    }
  }

  private any(any: Any, path: string): void {
    if (any.typeUrl === '') return;
    const inner = anyUnpack(any, this.registry);
    if (!inner) {
      this.add(path, `@type ${any.typeUrl} is not in the registry`);
      return;
    }
    const innerDesc = this.registry.getMessage(inner.$typeName);
    if (!innerDesc) return;
    const ip = `${path}<${inner.$typeName}>`;
    const rm = reflect(innerDesc, inner);
    this.message(rm, ip);
    if (TYPED_STRUCTS.has(inner.$typeName)) this.typedStruct(innerDesc, inner, ip);
  }

  private typedStruct(desc: DescMessage, message: Message, path: string): void {
    const json = obj(toJson(desc, message));
    const typeUrl = json?.['typeUrl'];
    if (typeof typeUrl !== 'string' || typeUrl === '') {
      this.add(path, 'type_url is empty');
      return;
    }
    const target = typedStructTarget(this.registry, typeUrl);
    if (!target) {
      this.add(path, `type_url ${typeUrl} names no known message, so its value cannot be checked`);
      return;
    }
    const r = this.checkPayload(target, json?.['value'] ?? {});
    if (!r.ok) this.add(`${path}.value`, `as ${target}: ${r.error}`);
  }
}

/** Returns one line per PGV rule that `message` (of type `desc`) breaks; empty when it passes. */
export function checkValidateRules(registry: Registry, desc: DescMessage, message: Message, checkPayload: PayloadCheck): string[] {
  const c = new Checker(registry, checkPayload);
  c.message(reflect(desc, message), desc.name);
  return c.problems;
}
