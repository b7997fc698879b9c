/**
 * The value rules of Kubernetes, Istio and Envoy that an OpenAPI schema cannot say, checked where input enters
 * (the snapshot) so that `validate` rejects what an API server, istiod or Envoy would: label keys and values of
 * selectors, and durations (Istio requires at least 1ms in whole milliseconds; Go's time.Duration, which Istio
 * and Kubernetes parse durations into, ends at 2^63-1 ns, well inside google.protobuf.Duration's range).
 * Also the name patterns the schemas use, and friendly wording for their mismatches. Pure.
 */
import type { SchemaIssue } from '../schema/structural.ts';

/** A DNS-1123 label (namespaces, cluster names, port names): at most 63 characters. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** A DNS-1035 label (Kubernetes Service names start with a letter): at most 63 characters. */
export const DNS_1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
/** A DNS-1123 subdomain (object names, DNS names): at most 253 characters, labels of at most 63. */
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$';
/** A label value: at most 63 characters, empty allowed. */
export const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
/**
 * A label key as a regular expression (RE2 and ECMAScript agree): an optional DNS-subdomain prefix (labels of at
 * most 63) and '/', then a qualified name of at most 63. The prefix's 253-character limit is a separate check.
 */
export const LABEL_KEY = '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$';
export const LABEL_KEY_RULE_MESSAGE = "label keys must be [prefix/]name: a DNS-1123 subdomain prefix of at most 253 characters, a name of at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
/**
 * Durations whose every part is a whole number of milliseconds: at most 3 decimals of s, 4 of m, 5 of h (trailing
 * zeros aside), no fraction of ms, us in thousands, ns in millions. An API server's CEL cost limits leave no way to
 * compute the total's sub-millisecond rest from a string, so the CRD checks this instead, and `durationError`
 * refuses the same spellings (`1500us500us`, `0.00005m`) with a hint, so that kubectl and validate agree.
 */
export const WHOLE_MS_DURATION = '^(([0-9]+(\\.[0-9]{0,5}0*)?h)|([0-9]+(\\.[0-9]{0,4}0*)?m)|([0-9]+(\\.[0-9]{0,3}0*)?s)|([0-9]+(\\.0*)?ms)|(([0-9]*000|0+)(\\.0*)?us)|(([0-9]*000000|0+)(\\.0*)?ns))+$';
const WHOLE_MS_RE = new RegExp(WHOLE_MS_DURATION);
/** CRD rules for durations, what `durationError` checks (past Go's range, `duration()` fails and refuses too). */
export const DURATION_RULES = [
  { rule: "duration(self) >= duration('1ms')", message: 'must be at least 1ms, the least Istio accepts' },
  { rule: `self.matches(r'${WHOLE_MS_DURATION}')`, message: 'must be whole milliseconds in each part, as Istio requires (at most 3 decimals of s, 4 of m, 5 of h; us in thousands, ns in millions)' },
];
/** A MeshWorkload reference: `name` or `namespace/name`. */
export const WORKLOAD_REF = '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$';

const PATTERN_WORDS: Record<string, string> = {
  [DNS_LABEL]: "must be a DNS-1123 label: lower-case alphanumerics or '-', starting and ending with an alphanumeric",
  [DNS_1035_LABEL]: "must be a DNS-1035 label: lower-case alphanumerics or '-', starting with a letter and ending with an alphanumeric",
  [DNS_SUBDOMAIN]: "must be a DNS-1123 subdomain: lower-case alphanumerics, '-' and '.', each label starting and ending with an alphanumeric",
  [LABEL_VALUE]: "must be a label value: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
  [WORKLOAD_REF]: 'must be a MeshWorkload name or namespace/name (DNS-1123 names)',
};

/** Rewords a schema pattern mismatch of a known pattern ("... does not match pattern ^[a-z0-9]...$"). */
export function friendlyIssue(issue: SchemaIssue): SchemaIssue {
  if (issue.keyword !== 'pattern') return issue;
  const i = issue.message.lastIndexOf(' does not match pattern ');
  const words = i < 0 ? undefined : PATTERN_WORDS[issue.message.slice(i + ' does not match pattern '.length)];
  return words ? { ...issue, message: `${issue.message.slice(0, i)} ${words}` } : issue;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SUBDOMAIN = new RegExp(DNS_SUBDOMAIN);
const VALUE = new RegExp(LABEL_VALUE);

function quote(s: string): string {
  return JSON.stringify(s.length > 70 ? `${s.slice(0, 70)}…` : s);
}

/** Kubernetes' rule for a label key: `[prefix/]name`, prefix a DNS subdomain (<= 253), name a qualified name (<= 63). */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !SUBDOMAIN.test(prefix))) {
    return `label key ${quote(key)}: the prefix must be a DNS-1123 subdomain of at most 253 characters`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `label key ${quote(key)}: the name must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric (an optional DNS prefix and '/' before it)`;
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value.length > 63 || !VALUE.test(value)) return `label value ${quote(value)}: must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  return undefined;
}

const UNIT_NANOS: Record<string, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
/** Go's time.Duration maximum, what Istio and Kubernetes parse durations into. */
export const MAX_DURATION_NANOS = 9_223_372_036_854_775_807n;

/** Exact nanoseconds of a Go-style duration (`1m30s`, `1.5h`, `250ms`), fractions truncated as Go does; undefined if malformed. */
export function durationNanos(s: string): bigint | undefined {
  const re = /([0-9]+)(?:\.([0-9]+))?(ns|us|ms|s|m|h)/y;
  let total = 0n;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    const unit = UNIT_NANOS[m[3] as string] as bigint;
    total += BigInt(m[1] as string) * unit;
    if (m[2]) total += (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

/** Istio's rule for DestinationRule and cluster durations: at least 1ms, whole milliseconds, and within Go's range. */
export function durationError(s: string): string | undefined {
  const n = durationNanos(s);
  if (n === undefined) return undefined; // the schema's pattern reports it
  if (n > MAX_DURATION_NANOS) return `${quote(s)} is longer than a duration can be (about 2562047h)`;
  if (n < 1_000_000n) return `${quote(s)} is shorter than 1ms, the least Istio accepts`;
  if (n % 1_000_000n !== 0n) return `${quote(s)} is not a whole number of milliseconds, as Istio requires`;
  if (!WHOLE_MS_RE.test(s)) return `${quote(s)} is whole milliseconds only in total; write each part in whole milliseconds (the CRD requires it), e.g. "${n / 1_000_000n}ms"`;
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const p of path) cur = isRecord(cur) ? cur[p] : undefined;
  return cur;
}

function selectorIssues(map: unknown, path: string, out: SchemaIssue[]): void {
  if (!isRecord(map)) return;
  for (const [k, v] of Object.entries(map)) {
    const ke = labelKeyError(k);
    if (ke) out.push({ path: `${path}[${JSON.stringify(k)}]`, keyword: 'labelKey', message: ke });
    else if (typeof v === 'string') {
      const ve = labelValueError(v);
      if (ve) out.push({ path: `${path}[${JSON.stringify(k)}]`, keyword: 'labelValue', message: ve });
    }
  }
}

function durationIssue(v: unknown, path: string, out: SchemaIssue[]): void {
  if (typeof v !== 'string') return;
  const e = durationError(v);
  if (e) out.push({ path, keyword: 'duration', message: e });
}

/** The value rules beyond the schema for one raw document of a Spillway kind. */
export function valueIssues(kind: string, raw: unknown): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  if (kind === 'MeshCluster') {
    selectorIssues(at(raw, 'spec', 'gateway', 'selector'), 'spec.gateway.selector', out);
  } else if (kind === 'FailoverService') {
    selectorIssues(at(raw, 'spec', 'clientSelector'), 'spec.clientSelector', out);
    durationIssue(at(raw, 'spec', 'connectTimeout'), 'spec.connectTimeout', out);
    durationIssue(at(raw, 'spec', 'outlierDetection', 'interval'), 'spec.outlierDetection.interval', out);
    durationIssue(at(raw, 'spec', 'outlierDetection', 'baseEjectionTime'), 'spec.outlierDetection.baseEjectionTime', out);
  }
  return out;
}
