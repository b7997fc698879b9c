/**
 * The controller's view of a check report: one `Checked` condition per MeshCluster and per FailoverService. Pure.
 *
 * A MeshCluster's condition sums up the findings about that cluster (`cluster`, or one of `clusters`); a
 * FailoverService's, the findings about it (`services`) and those about a cluster it uses that name no service
 * (Istio missing there, two roots of trust). `status`: True when nothing failed (reason `Passed` or
 * `PassedWithWarnings`), False when something did (reason: the first failure's code), Unknown when the only
 * failure is that a cluster could not be reached (SPC100). The message lists failures, then warnings, each as
 * `CODE cluster: message (fix: hint)`, cut at MAX_MESSAGE characters; `findings` carries the same failures and
 * warnings as data (code, level, cluster, params), the first MAX_FINDINGS of them. Nothing in it changes unless a
 * finding does, so a condition is rewritten only when the clusters change.
 */
import type { CheckCode, FindingCode, FindingParams } from '../api/messages.ts';
import { renderFinding } from '../api/messages.ts';
import type { CheckReport, CheckResult } from './types.ts';

export const CHECKED = 'Checked';
const MAX_MESSAGE = 2048;
/** Findings a condition carries as data (the status of a MeshCluster stays small; `spillway check` shows all). */
export const MAX_FINDINGS = 20;
const UNREACHABLE = 'SPC100';

/** One failure or warning of a `Checked` condition, as data: the code, its level and the params its text renders from. */
export interface CheckFinding {
  code: CheckCode;
  level: 'fail' | 'warn';
  cluster?: string;
  clusters?: string[];
  object?: string;
  params: unknown;
}

export interface CheckCondition {
  type: typeof CHECKED;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  /** The failures, then the warnings, the message lists (at most MAX_FINDINGS): what a program reads instead of the text. */
  findings: CheckFinding[];
}

export interface CheckConditions {
  clusters: Map<string, CheckCondition>;
  services: Map<string, CheckCondition>;
}

const line = (r: CheckResult): string => `${r.code}${r.cluster ? ` ${r.cluster}` : r.clusters ? ` ${r.clusters.join('/')}` : ''}: ${r.message}${r.hint ? ` (fix: ${r.hint})` : ''}`;

const findingOf = (r: CheckResult): CheckFinding => ({
  code: r.code,
  level: r.level === 'fail' ? 'fail' : 'warn',
  ...(r.cluster !== undefined ? { cluster: r.cluster } : {}),
  ...(r.clusters !== undefined ? { clusters: r.clusters } : {}),
  ...(r.object !== undefined ? { object: r.object } : {}),
  params: r.params,
});

/** The condition summing up these results (already narrowed to one object). */
export function conditionOf(results: readonly CheckResult[]): CheckCondition {
  const fails = results.filter((r) => r.level === 'fail');
  const warns = results.filter((r) => r.level === 'warn');
  const passed = results.filter((r) => r.level === 'pass').length;
  const skipped = results.filter((r) => r.level === 'skip').length;
  const counts = `${passed} passed, ${warns.length} warning${warns.length === 1 ? '' : 's'}, ${fails.length} failed${skipped ? `, ${skipped} skipped` : ''}`;
  let text = [...fails, ...warns].map(line).join('; ');
  if (text.length > MAX_MESSAGE) text = `${text.slice(0, MAX_MESSAGE - 40).trimEnd()} ... (spillway check shows all)`;
  const message = text ? `${counts}: ${text}` : counts;
  const findings = [...fails, ...warns].slice(0, MAX_FINDINGS).map(findingOf);
  const real = fails.filter((r) => r.code !== UNREACHABLE);
  if (real.length > 0) return { type: CHECKED, status: 'False', reason: real[0]!.code, message, findings };
  if (fails.length > 0) return { type: CHECKED, status: 'Unknown', reason: UNREACHABLE, message, findings };
  return { type: CHECKED, status: 'True', reason: warns.length ? 'PassedWithWarnings' : 'Passed', message, findings };
}

/** What a FailoverService's condition is computed from: the clusters it uses and its own (global) hosts. */
export interface ServiceUse {
  clusters: readonly string[];
  hosts: readonly string[];
}

/**
 * A finding about a whole cluster as one FailoverService's condition carries it. Such a finding's host list names
 * every global host called from that cluster (SPC120, SPC121: DNS): in each FailoverService's status that was every
 * other service's host too, a status growing with the fleet (1,000 services x 3 clusters: 3,000 hosts in each of
 * 1,000 statuses). Cut to the service's own hosts, the text rendered again from them; undefined when it names none of
 * them (the finding is about other services).
 */
function narrowed(r: CheckResult, own: ReadonlySet<string>): CheckResult | undefined {
  const params = r.params as { hosts?: unknown } | null;
  const hosts = params && typeof params === 'object' && Array.isArray(params.hosts) ? (params.hosts as unknown[]) : undefined;
  if (!hosts) return r;
  const mine = hosts.filter((h): h is string => typeof h === 'string' && own.has(h));
  if (mine.length === hosts.length) return r;
  if (mine.length === 0) return undefined;
  const next = { ...params, hosts: mine };
  const f = renderFinding(r.code as FindingCode, next as FindingParams<FindingCode>);
  const { hint: _hint, ...rest } = r;
  return { ...rest, params: next, message: f.message, ...(f.hint !== undefined ? { hint: f.hint } : {}) };
}

/**
 * Conditions for every MeshCluster the report looked at and every FailoverService named in `services` (with the
 * clusters each uses and its hosts). A FailoverService none of whose clusters were checked gets none. Results are
 * indexed by the service or cluster they are about, so each FailoverService reads only its own (not every result
 * of the fleet), in the report's order.
 */
export function checkConditions(report: CheckReport, clusters: readonly string[], services: ReadonlyMap<string, ServiceUse>): CheckConditions {
  const out: CheckConditions = { clusters: new Map(), services: new Map() };
  const about = (r: CheckResult, cluster: string): boolean => r.cluster === cluster || (r.clusters?.includes(cluster) ?? false);
  for (const name of clusters) {
    const mine = report.results.filter((r) => about(r, name));
    if (mine.length > 0) out.clusters.set(name, conditionOf(mine));
  }
  const byService = new Map<string, number[]>();
  const byCluster = new Map<string, number[]>();
  const multi: number[] = [];
  const add = (m: Map<string, number[]>, k: string, i: number): void => {
    const l = m.get(k);
    if (l) l.push(i);
    else m.set(k, [i]);
  };
  report.results.forEach((r, i) => {
    if (r.services) for (const ref of new Set(r.services)) add(byService, ref, i);
    else if (r.cluster !== undefined) add(byCluster, r.cluster, i);
    else if (r.clusters) multi.push(i);
  });
  for (const [ref, use] of services) {
    const at = [...(byService.get(ref) ?? [])];
    for (const c of new Set(use.clusters)) at.push(...(byCluster.get(c) ?? []));
    for (const i of multi) {
      const r = report.results[i]!;
      // A pair's failure concerns a service that uses both; a pass over many clusters, one that uses any.
      if (r.level === 'pass' ? r.clusters!.some((c) => use.clusters.includes(c)) : r.clusters!.every((c) => use.clusters.includes(c))) at.push(i);
    }
    at.sort((a, b) => a - b);
    const own = new Set(use.hosts);
    const mine: CheckResult[] = [];
    for (const i of at) {
      const r = report.results[i]!;
      const n = r.services ? r : narrowed(r, own);
      if (n) mine.push(n);
    }
    if (mine.some((r) => r.cluster !== undefined || r.clusters !== undefined)) out.services.set(ref, conditionOf(mine));
  }
  return out;
}
