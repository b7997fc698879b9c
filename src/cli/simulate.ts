/**
 * `spillway simulate -f FILE [-f FILE] [--healthy CLUSTER=H/T]... [--down CLUSTER]... [-o text|json]`:
 * renders the inputs (or reads already-rendered Istio objects) and prints where each client cluster's
 * traffic goes under the given health. Unusable arguments throw CliError (exit 2, one line).
 */
import { render } from '../core/render.ts';
import type { KubeObject } from '../api/types.ts';
import { API_VERSION, LABEL_CLUSTER } from '../api/types.ts';
import { simulate } from '../simulate/simulate.ts';
import type { ClientResult, HealthSpec, SimulationResult } from '../simulate/simulate.ts';
import type { Message } from '../api/messages.ts';
import { readInputDocuments } from './inputs.ts';
import { CliError } from './errors.ts';

export interface SimulateArgs {
  files: string[];
  healthy: string[];
  down: string[];
  output: 'text' | 'json';
  /** Read directories recursively (`-R`). */
  recursive?: boolean;
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses `--healthy CLUSTER=H/T` (or `CLUSTER=H`, total unknown) and `--down CLUSTER` into a health spec. */
export function parseHealth(healthy: readonly string[], down: readonly string[]): HealthSpec {
  const spec: HealthSpec = {};
  for (const raw of healthy) {
    const m = /^([^=\s]+)=(\d+)(?:\/(\d+))?$/.exec(raw.trim());
    if (!m) throw new CliError(`--healthy ${JSON.stringify(raw)}: expected CLUSTER=HEALTHY/TOTAL (for example cluster1=1/3)`);
    const [, cluster, h, t] = m as unknown as [string, string, string, string | undefined];
    if (!CLUSTER_NAME.test(cluster)) throw new CliError(`--healthy ${JSON.stringify(raw)}: ${JSON.stringify(cluster)} is not a cluster name`);
    const healthyN = Number(h);
    const totalN = t === undefined ? undefined : Number(t);
    if (!Number.isSafeInteger(healthyN) || (totalN !== undefined && !Number.isSafeInteger(totalN))) throw new CliError(`--healthy ${JSON.stringify(raw)}: number too large`);
    if (totalN !== undefined && healthyN > totalN) throw new CliError(`--healthy ${JSON.stringify(raw)}: ${healthyN} healthy of ${totalN} is more than the total`);
    if (spec[cluster]) throw new CliError(`--healthy ${cluster} given twice`);
    spec[cluster] = totalN === undefined ? { healthy: healthyN } : { healthy: healthyN, total: totalN };
  }
  for (const raw of down) {
    const cluster = raw.trim();
    if (!CLUSTER_NAME.test(cluster)) throw new CliError(`--down ${JSON.stringify(raw)}: expected a cluster name`);
    const prior = spec[cluster];
    if (prior && prior.healthy > 0) throw new CliError(`--down ${cluster} contradicts --healthy ${cluster}=${prior.healthy}${prior.total === undefined ? '' : `/${prior.total}`}`);
    spec[cluster] = { healthy: 0, total: prior?.total ?? 1 };
  }
  return spec;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isKubeObject = (v: unknown): v is KubeObject =>
  isRecord(v) && typeof v['apiVersion'] === 'string' && typeof v['kind'] === 'string' && isRecord(v['metadata']) && typeof v['metadata']['name'] === 'string';

interface Collected {
  clusters: Record<string, KubeObject[]>;
  gatewayAddresses: Record<string, string>;
  renderWarnings: Message[];
  renderErrors: boolean;
}

/**
 * Spillway inputs are rendered; Istio objects that carry the `spillway.dev/cluster` label (what
 * `render` printed or what a cluster holds) and `render -o json` documents are taken as rendered.
 */
function collect(values: readonly unknown[]): Collected {
  const inputs: unknown[] = [];
  const clusters: Record<string, KubeObject[]> = {};
  const gatewayAddresses: Record<string, string> = {};
  const add = (cluster: string, o: KubeObject) => (clusters[cluster] ??= []).push(o);
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (isRecord(v) && isRecord(v['clusters']) && v['apiVersion'] === undefined) {
      for (const [c, objs] of Object.entries(v['clusters'])) for (const o of Array.isArray(objs) ? objs : []) if (isKubeObject(o)) add(c, o);
      continue;
    }
    if (isKubeObject(v) && v.apiVersion === API_VERSION) {
      inputs.push(v);
      const gw = v.kind === 'MeshCluster' && isRecord(v['spec']) ? v['spec']['gateway'] : undefined;
      if (isRecord(gw) && typeof gw['address'] === 'string') {
        gatewayAddresses[gw['address']] = v.metadata.name;
        if (typeof gw['port'] === 'number') gatewayAddresses[`${gw['address']}:${gw['port']}`] = v.metadata.name;
      }
      continue;
    }
    if (isKubeObject(v) && v.kind === 'List' && Array.isArray(v['items'])) {
      for (const o of v['items']) if (isKubeObject(o) && o.metadata.labels?.[LABEL_CLUSTER]) add(o.metadata.labels[LABEL_CLUSTER], o);
      continue;
    }
    if (isKubeObject(v) && v.metadata.labels?.[LABEL_CLUSTER]) add(v.metadata.labels[LABEL_CLUSTER], v);
  }
  const renderWarnings: Message[] = [];
  let renderErrors = false;
  if (inputs.length > 0) {
    const result = render(inputs);
    for (const [c, objs] of Object.entries(result.clusters)) for (const o of objs) add(c, o);
    for (const m of result.messages) {
      if (m.level === 'info') continue;
      renderErrors ||= m.level === 'error';
      renderWarnings.push(m);
    }
  }
  return { clusters, gatewayAddresses, renderWarnings, renderErrors };
}

function pad(cells: string[][]): string[] {
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

function formatClient(r: ClientResult): string[] {
  const lines = [`${r.failoverService}  from ${r.client}  (aggregate ${r.aggregate}, panic threshold ${r.panicThreshold}%)`];
  const rows = [['', 'TIER', 'CLUSTER', 'ROLE', 'HOSTS', 'HEALTHY', 'ENVOY SEES', 'TRAFFIC']];
  r.tiers.forEach((t, i) => rows.push(['', `P${i}`, t.cluster, t.role, String(t.hosts), String(t.healthy), String(t.seenHealthy), `${t.percent}%`]));
  lines.push(...pad(rows));
  const notes: string[] = [];
  if (r.noHealthyUpstream) notes.push('no healthy upstream: every request fails (503)');
  else if (r.totalPanic) notes.push('every tier is in panic: load follows host counts, ignoring health');
  if (r.failingPercent > 0 && !r.noHealthyUpstream) notes.push(`about ${r.failingPercent}% of requests reach hosts that fail`);
  for (const n of notes) lines.push(`  ${n}`);
  return lines;
}

/** What `simulate` prints: the results, then the render's warnings and errors and the simulator's findings. */
export interface SimulateOutput {
  results: ClientResult[];
  warnings: readonly Message[];
}

/** A render message says so (the simulator's own codes are SIM0xx): `SPW126 render warning: FailoverService/...: text`. */
const warningLine = (w: Message): string => (w.code.startsWith('SIM') ? `${w.code} ${w.message}` : `${w.code} render ${w.level}: ${w.object}: ${w.message}`);

export function formatText(sim: SimulateOutput | SimulationResult): string {
  const out: string[] = [];
  if (sim.results.length === 0) out.push('no FailoverService aggregate clusters found in the input');
  for (const r of sim.results) out.push(...formatClient(r), '');
  if (sim.warnings.length > 0) {
    out.push('warnings:');
    for (const w of sim.warnings) out.push(`  ${warningLine(w)}`);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}

/** Warnings as every message is printed in JSON: code, level, object, ref, path, params and the rendered text. */
export function formatJson(sim: SimulateOutput | SimulationResult): string {
  const doc = {
    results: sim.results.map((r) => ({ failoverService: r.failoverService, client: r.client, tiers: r.tiers.map((t) => ({ cluster: t.cluster, percent: t.percent })) })),
    warnings: sim.warnings,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Runs `spillway simulate`. Returns 0, or 1 when the inputs had render errors (valid parts are still
 * simulated). Throws CliError (exit 2) for bad flags, unknown clusters or unreadable input.
 */
export function simulateCommand(args: SimulateArgs, io: { stdout: (s: string) => void }): number {
  const health = parseHealth(args.healthy, args.down);
  const values = readInputDocuments(args.files, { recursive: args.recursive === true }).map((d) => d.value);
  const { clusters, gatewayAddresses, renderWarnings, renderErrors } = collect(values);
  const known = Object.keys(clusters);
  const unknown = Object.keys(health).filter((c) => !known.includes(c));
  if (unknown.length > 0) {
    throw new CliError(`${unknown.map((c) => (args.down.includes(c) ? `--down ${c}` : `--healthy ${c}`)).join(', ')}: no such cluster in the input (have: ${known.sort().join(', ') || 'none'})`);
  }
  const sim = simulate(clusters, health, { gatewayAddresses });
  const all: SimulateOutput = { results: sim.results, warnings: [...renderWarnings, ...sim.warnings] };
  io.stdout(args.output === 'json' ? formatJson(all) : formatText(all));
  return renderErrors ? 1 : 0;
}
