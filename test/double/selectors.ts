// Label selectors (=, ==, !=, in, notin, exists, !key, gt/lt) and field selectors (=, ==, !=).
import { badRequest } from './errors.ts';
import type { JsonObject } from './json.ts';
import { isObject } from './json.ts';

export type Matcher = (obj: JsonObject) => boolean;

type Req =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'gt' | 'lt'; key: string; n: number };

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${whole}"`);
  return key;
}

function parseReq(part: string, whole: string): Req {
  let m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (m) {
    const values = m[3]!.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
    return { op: m[2] as 'in' | 'notin', key: checkKey(m[1]!, whole), values };
  }
  if (part.startsWith('!')) return { op: 'notexists', key: checkKey(part.slice(1).trim(), whole) };
  m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(part);
  if (m) {
    const key = checkKey(m[1]!, whole);
    const v = m[3]!.trim();
    if (m[2] === '>' || m[2] === '<') {
      const n = Number(v);
      if (!Number.isInteger(n)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
      return { op: m[2] === '>' ? 'gt' : 'lt', key, n };
    }
    return { op: m[2] === '!=' ? 'notin' : 'in', key, values: [v] };
  }
  return { op: 'exists', key: checkKey(part, whole) };
}

function labelsOf(obj: JsonObject): Record<string, string> {
  const meta = obj.metadata;
  const labels = isObject(meta) ? meta.labels : undefined;
  const out: Record<string, string> = {};
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function parseLabelSelector(sel: string | null | undefined): Matcher {
  if (!sel) return () => true;
  const reqs = splitTop(sel).map((p) => parseReq(p, sel));
  return (obj) => {
    const labels = labelsOf(obj);
    return reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case 'exists':
          return has;
        case 'notexists':
          return !has;
        case 'in':
          return has && r.values.includes(v!);
        case 'notin':
          return !has || !r.values.includes(v!);
        case 'gt':
          return has && Number(v) > r.n;
        case 'lt':
          return has && Number(v) < r.n;
      }
      return false;
    });
  };
}

function fieldValue(obj: JsonObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) cur = isObject(cur) ? cur[part] : undefined;
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : JSON.stringify(cur);
}

/** Field selectors: metadata.name and metadata.namespace always, plus any fields the resource type adds. */
export function parseFieldSelector(sel: string | null | undefined, extraFields: readonly string[] = []): Matcher {
  if (!sel) return () => true;
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...extraFields]);
  const reqs = splitTop(sel).map((part) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`);
    if (!allowed.has(m[1]!)) throw badRequest(`field label not supported: ${m[1]}`);
    return { field: m[1]!, neg: m[2] === '!=', value: m[3]!.trim() };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.neg);
}
