/**
 * Turns raw documents into a typed snapshot. Each document is checked against its kind's schema (the same
 * one served in the CRD); an invalid document is reported against itself and left out, never thrown.
 */
import { API_VERSION, GROUP } from '../api/types.ts';
import type { FailoverService, KubeObject, MeshCluster, MeshWorkload, MeshWorkloadGrant } from '../api/types.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { DEFAULT_POLICY } from '../model/snapshot.ts';
import { kindInfo } from '../api/schemas.ts';
import { validate } from '../schema/structural.ts';
import { friendlyIssue, valueIssues } from '../api/values.ts';
import type { SchemaIssue } from '../schema/structural.ts';
import { cmp } from './messages.ts';
import type { Reporter } from './messages.ts';
import { objectRef } from '../model/naming.ts';
import { dns1123LabelError, dns1123SubdomainError } from './dns.ts';

/** What buildSnapshot may reuse across runs: per raw document (by identity), its schema issues and fingerprint. */
export interface SnapshotCache {
  docs: WeakMap<object, CachedDocument>;
}

/** What one raw document yields, whatever the other documents are (name checks, schema issues, normalized object). */
interface CachedDocument {
  issues: readonly SchemaIssue[];
  /** Namespace and fingerprint, one string kept across runs (identical strings compare in constant time). */
  fingerprint: string;
  nameError?: string | undefined;
  nsError?: string | undefined;
  /** The normalized object, reused so that it keeps its identity across runs. */
  obj?: KubeObject;
  /** Set for a document of ours with the served apiVersion and a name: what the checks before the cache derived. */
  clean?: { kind: string; name: string; namespace: string | undefined; ref: string; mapKey: string };
}

function fingerprint(raw: Record<string, unknown>, meta: Record<string, unknown> | undefined): string {
  return JSON.stringify([raw.kind, meta?.name, meta?.namespace, meta?.creationTimestamp, raw.spec]);
}

export interface SourcedDocument {
  value: unknown;
  /** Where the document came from, for messages about documents that are not objects (`file.yaml:12`: the line it starts at). */
  source?: string;
}

const KNOWN_KINDS = ['MeshCluster', 'MeshWorkload', 'FailoverService', 'MeshWorkloadGrant'];

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), ignoring case. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => [i, ...Array<number>(y.length).fill(0)]);
  for (let j = 1; j <= y.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[x.length] as number[])[y.length] as number;
}

/** The kind of ours a misspelled or plural kind most likely means (`FailoverServce`, `failoverservices`, `MeshClusters`). */
function kindSuggestion(kind: string): string | undefined {
  if (!kind || kind.length > 40) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of KNOWN_KINDS) {
    const d = distance(kind, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= 3 ? best : undefined;
}

/** Spellings of our kinds that earlier drafts used. */
const KIND_ALIASES: Record<string, string> = { FailOverService: 'FailoverService' };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function buildSnapshot(docs: readonly SourcedDocument[], reporter: Reporter, cache?: SnapshotCache): Snapshot {
  const clusters = new Map<string, MeshCluster>();
  const workloads = new Map<string, MeshWorkload>();
  const services = new Map<string, FailoverService>();
  const grantList = new Map<string, MeshWorkloadGrant>();
  const rejected = new Set<string>();
  const seen = new Map<string, number>();
  const fingerprints = new Map<KubeObject, string>();

  docs.forEach((doc, i) => {
    // A document seen before that passed the checks below derives the same kind, name and reference again.
    const hit = cache && doc.value !== null && typeof doc.value === 'object' ? cache.docs.get(doc.value) : undefined;
    if (hit?.clean) {
      admit(doc.value as Record<string, unknown>, hit, hit.clean);
      return;
    }
    const where = doc.source ?? `document #${i + 1}`;
    if (doc.value === null || doc.value === undefined) return; // empty YAML document
    if (!isRecord(doc.value)) {
      reporter.report('SPW124', where, { at: where });
      return;
    }
    const raw = doc.value;
    let kind = typeof raw.kind === 'string' ? raw.kind : '';
    const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : undefined;
    const meta = isRecord(raw.metadata) ? raw.metadata : undefined;
    const name = meta && typeof meta.name === 'string' ? meta.name : '';
    const alias = KIND_ALIASES[kind];
    const ours = kindInfo(alias ?? kind) !== undefined && (apiVersion === undefined || apiVersion.startsWith(`${GROUP}/`));
    if (!ours) {
      const suggestion = kindSuggestion(kind);
      if (apiVersion?.startsWith(`${GROUP}/`) || (apiVersion === undefined && suggestion !== undefined)) {
        const label = objectRef(kind || '?', name || '?', meta && typeof meta.namespace === 'string' ? meta.namespace : undefined);
        reporter.report('SPW130', label, { at: where, ...(kind ? { kind } : {}), ...(suggestion ? { suggestion } : {}), group: GROUP, kinds: [...KNOWN_KINDS] }, 'kind');
        return;
      }
      const label = kind ? objectRef(kind, name || '?', meta && typeof meta.namespace === 'string' ? meta.namespace : undefined) : where;
      reporter.report('SPW120', label, { at: where, ...(kind ? { kind } : {}), ...(apiVersion ? { apiVersion } : {}), hostsRead: kind === 'ServiceEntry' && apiVersion?.startsWith('networking.istio.io/') === true });
      return;
    }
    const info = kindInfo(alias ?? kind)!;
    kind = info.kind;
    const namespace = info.namespaced ? (meta && typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default') : undefined;
    const ref = objectRef(kind, name || '?', namespace);
    if (apiVersion === undefined || alias !== undefined) {
      reporter.report('SPW121', ref, { at: where, apiVersion: API_VERSION, kind }, apiVersion === undefined ? 'apiVersion' : 'kind');
    } else if (apiVersion !== API_VERSION) {
      reporter.report('SPW100', ref, { reason: 'apiVersion', apiVersion, served: API_VERSION }, 'apiVersion');
      rejected.add(ref);
      return;
    }
    if (!name) {
      reporter.report('SPW100', ref, { reason: 'noName', at: where }, 'metadata.name');
      return;
    }
    let known = cache?.docs.get(raw);
    if (!known) {
      known = {
        // The schemas' CEL rules say what valueIssues says, in the API server's words: skipped here.
        issues: [...validate(info.schema, raw, { closed: true, cel: false }).map(friendlyIssue), ...valueIssues(kind, raw)],
        // Only a render cache reads fingerprints; a one-off render does not pay for them.
        fingerprint: cache ? [namespace ?? '', '\u0000', fingerprint(raw, meta)].join('') : '',
        nameError: kind === 'MeshWorkload' ? dns1123SubdomainError(name) : dns1123LabelError(name),
        nsError: namespace !== undefined ? dns1123LabelError(namespace) : undefined,
      };
      cache?.docs.set(raw, known);
    }
    const clean = { kind, name, namespace, ref, mapKey: kind === 'MeshCluster' ? name : kind === 'MeshWorkload' ? `${namespace}/${name}` : ref };
    // Only documents that needed no message above (those embed the document's position) take the short path.
    if (cache && apiVersion === API_VERSION && alias === undefined) known.clean = clean;
    admit(raw, known, clean, doc.source);
  });

  /** `at`: the document's `file:line` when it came from a file, put before messages about its content. */
  function admit(raw: Record<string, unknown>, known: CachedDocument, d: NonNullable<CachedDocument['clean']>, at?: string): void {
    const { kind, name, namespace, ref } = d;
    const pos = at !== undefined ? { at } : {};
    if (known.nameError) {
      reporter.report('SPW111', ref, { subject: 'metadata.name', ...pos, problem: known.nameError, ...(kind === 'MeshWorkload' ? {} : { embedded: true }) }, 'metadata.name');
      rejected.add(ref);
    }
    if (known.nsError) {
      reporter.report('SPW111', ref, { subject: 'metadata.namespace', ...pos, problem: known.nsError }, 'metadata.namespace');
      rejected.add(ref);
    }
    const issues = known.issues;
    for (const issue of issues) reporter.report('SPW100', ref, { reason: 'schema', ...pos, path: issue.path, detail: issue.message }, issue.path);
    if (issues.length > 0) rejected.add(ref);

    const count = (seen.get(ref) ?? 0) + 1;
    seen.set(ref, count);
    if (count === 2) {
      reporter.report('SPW119', ref, { object: ref });
      rejected.add(ref);
    }
    if (rejected.has(ref)) return;

    const meta = raw.metadata as Record<string, unknown>;
    // A document already in normal form (what an API server serves) is its own normalized object: no copy.
    const normal = raw.apiVersion === API_VERSION && raw.kind === kind && meta.name === name && meta.namespace === namespace;
    const obj = known.obj ?? (normal ? (raw as unknown as KubeObject) : ({ ...raw, apiVersion: API_VERSION, kind, metadata: { ...meta, name, ...(namespace ? { namespace } : {}) } } as KubeObject));
    if (cache) {
      known.obj = obj;
      fingerprints.set(obj, known.fingerprint);
    }
    if (kind === 'MeshCluster') clusters.set(d.mapKey, obj as MeshCluster);
    else if (kind === 'MeshWorkload') workloads.set(d.mapKey, obj as MeshWorkload);
    else if (kind === 'MeshWorkloadGrant') grantList.set(d.mapKey, obj as MeshWorkloadGrant);
    else services.set(d.mapKey, obj as FailoverService);
  }

  // Drop everything that turned out to be duplicated.
  for (const ref of rejected) {
    const [kind, a, b] = ref.split('/');
    if (kind === 'MeshCluster' && a) clusters.delete(a);
    else if (kind === 'MeshWorkload' && a && b) workloads.delete(`${a}/${b}`);
    else if (kind === 'MeshWorkloadGrant') grantList.delete(ref);
    else services.delete(ref);
  }
  const grants = new Map<string, MeshWorkloadGrant[]>();
  for (const g of [...grantList.values()].sort((x, y) => cmp(x.metadata.name, y.metadata.name))) {
    const ns = g.metadata.namespace ?? 'default';
    const list = grants.get(ns);
    if (list) list.push(g);
    else grants.set(ns, [g]);
  }
  // Sorted by age with the references as the namespace/name tie-break (they share the `FailoverService/` prefix),
  // so ties, common when services are created together, compare existing strings instead of building new ones.
  const ordered = [...services].sort(([ra, a], [rb, b]) => byTimestamp(a, b) || cmp(ra, rb)).map(([, o]) => o);
  return { clusters, workloads, grants, policy: DEFAULT_POLICY, services: ordered, rejected, fingerprints };
}

/** Oldest first by creationTimestamp; objects without one (offline drafts) after those with one; 0 on a tie. */
export function byTimestamp(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta && tb && ta !== tb) return cmp(ta, tb);
  if (ta !== tb) return ta ? -1 : 1; // objects the server has seen come before offline drafts
  return 0;
}
