/**
 * `spillway status`: which tier serves each client cluster of each FailoverService, as the controller publishes it
 * (`status.serving`), kubectl-style: one row per FailoverService and client cluster, tiers in failover order.
 * `-o json|yaml` prints the same data; `--watch` prints the rows that change as they change. Loaded only by this
 * command (it pulls in the Kubernetes client).
 */
import type { KubeObject } from '../api/types.ts';
import { HttpKubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import { realClock, randomJitter } from '../kube/clock.ts';
import { Informer } from '../kube/informer.ts';
import { FAILOVER_SERVICES, collectionPath } from '../kube/resources.ts';
import { listAll } from '../check/gather.ts';
import { toYaml } from './output.ts';
import { CliError } from './errors.ts';
import { loadCliKubeConfig } from './kubeconfig.ts';
import type { CliIO } from './main.ts';

export interface StatusCommandOptions {
  kubeconfig?: string;
  context?: string;
  /** Only this namespace (default: all). */
  namespace?: string;
  output: 'table' | 'json' | 'yaml';
  watch: boolean;
}

export interface StatusTier {
  cluster: string;
  percent?: number;
  healthy?: number;
  total?: number;
  gatewayReady?: number;
}

export interface StatusRow {
  namespace: string;
  name: string;
  /** Client cluster; `-` when the controller has published no shares yet. */
  client: string;
  tiers: StatusTier[];
  /** A client-only cluster (its workload gone, SPW161): no tier of its own, every tier remote. */
  clientOnly?: true;
  failingPercent?: number;
  lastTransitionTime?: string;
  accepted?: string;
  programmed?: string;
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function condition(status: Json, type: string): string | undefined {
  const c = (Array.isArray(status['conditions']) ? status['conditions'] : []).find((x) => isRecord(x) && x['type'] === type);
  return isRecord(c) ? str(c['status']) : undefined;
}

/** Rows of one FailoverService: one per client in `status.serving`, else one per cluster of `status.clusters`. Pure. */
export function statusRows(fs: KubeObject): StatusRow[] {
  const st = isRecord(fs.status) ? fs.status : {};
  const base = {
    namespace: fs.metadata.namespace ?? 'default',
    name: fs.metadata.name,
    ...(condition(st, 'Accepted') ? { accepted: condition(st, 'Accepted') } : {}),
    ...(condition(st, 'Programmed') ? { programmed: condition(st, 'Programmed') } : {}),
  };
  const serving = (Array.isArray(st['serving']) ? st['serving'] : []).filter(isRecord);
  if (serving.length > 0) {
    return serving.map((c) => {
      const client = str(c['client']) ?? '?';
      const tiers = (Array.isArray(c['tiers']) ? c['tiers'] : []).filter(isRecord).map((t) => ({
        cluster: str(t['cluster']) ?? '?',
        ...(num(t['percent']) !== undefined ? { percent: num(t['percent']) } : {}),
        ...(num(t['healthy']) !== undefined ? { healthy: num(t['healthy']) } : {}),
        ...(num(t['total']) !== undefined ? { total: num(t['total']) } : {}),
        ...(num(t['gatewayReady']) !== undefined ? { gatewayReady: num(t['gatewayReady']) } : {}),
      }));
      return {
        ...base,
        client,
        tiers,
        ...(tiers.length > 0 && !tiers.some((t) => t.cluster === client) ? { clientOnly: true as const } : {}),
        ...(num(c['failingPercent']) !== undefined ? { failingPercent: num(c['failingPercent']) } : {}),
        ...(str(c['lastTransitionTime']) ? { lastTransitionTime: str(c['lastTransitionTime']) } : {}),
      };
    });
  }
  const clusters = (Array.isArray(st['clusters']) ? st['clusters'] : []).filter(isRecord).filter((c) => Array.isArray(c['roles']) && c['roles'].includes('client'));
  if (clusters.length > 0) {
    return clusters.map((c) => ({
      ...base,
      client: str(c['name']) ?? '?',
      tiers: (Array.isArray(c['failoverOrder']) ? c['failoverOrder'] : []).map((x) => ({ cluster: String(x) })),
      ...(Array.isArray(c['roles']) && !c['roles'].includes('receiver') ? { clientOnly: true as const } : {}),
    }));
  }
  return [{ ...base, client: '-', tiers: [] }];
}

/** kubectl's age format: 45s, 12m, 3h, 5d. */
export function age(since: string | undefined, now: Date): string {
  const t = since ? Date.parse(since) : NaN;
  if (!Number.isFinite(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const HEADERS = ['NAMESPACE', 'NAME', 'CLIENT', 'TIERS (IN ORDER: SHARE HEALTHY/TOTAL)', 'FAILING', 'PROGRAMMED', 'LAST CHANGE'];

function cells(r: StatusRow, now: Date): string[] {
  const tiers = r.tiers.length === 0
    ? '<none>'
    : (r.clientOnly ? '(no local tier) ' : '') + r.tiers.map((t) => `${t.cluster} ${t.percent !== undefined ? `${t.percent}%` : '?'}${t.total !== undefined ? ` ${t.healthy ?? 0}/${t.total}` : ''}${t.gatewayReady === 0 ? ' (gateway down)' : ''}`).join(', ');
  return [r.namespace, r.name, r.client, tiers, r.failingPercent !== undefined ? `${r.failingPercent}%` : '-', r.programmed ?? '-', r.lastTransitionTime ? age(r.lastTransitionTime, now) : '-'];
}

/** Columns padded like kubectl (three spaces between). Pure. */
export function formatTable(rows: readonly StatusRow[], now: Date, header = true): string {
  const table = [...(header ? [HEADERS] : []), ...rows.map((r) => cells(r, now))];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + (table.length ? '\n' : '');
}

const sortFs = (a: KubeObject, b: KubeObject): number => `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1;

function render(rows: StatusRow[], output: StatusCommandOptions['output'], now: Date, header: boolean): string {
  if (output === 'json') return `${JSON.stringify({ items: rows }, null, 2)}\n`;
  if (output === 'yaml') return toYaml({ items: rows });
  return formatTable(rows, now, header);
}

/** Prints the table (or JSON/YAML) once, or, with `watch`, again for each FailoverService whose rows change until `signal` aborts. */
export async function statusCommand(opts: StatusCommandOptions, io: CliIO, signal?: AbortSignal, now: () => Date = () => new Date()): Promise<number> {
  const client = new HttpKubeClient(loadCliKubeConfig(opts.kubeconfig, opts.context), { timeoutMs: 15_000, userAgent: 'spillway-status/0.1.0' });
  try {
    if (!opts.watch) {
      const l = await listAll(client, collectionPath(FAILOVER_SERVICES, opts.namespace));
      if (l.error !== undefined) throw new CliError(`cannot list FailoverServices: ${l.error}${l.notServed ? ' (are Spillway\'s CRDs installed?)' : ''}`, 1);
      const rows = l.items.sort(sortFs).flatMap(statusRows);
      if (rows.length === 0 && opts.output === 'table') io.stderr(`No FailoverServices found${opts.namespace ? ` in namespace ${opts.namespace}` : ''}.\n`);
      else io.stdout(render(rows, opts.output, now(), true));
      return 0;
    }
    let headerShown = false;
    let listed = false;
    const shown = new Map<string, string>();
    const show = (fs: KubeObject): void => {
      if (!listed) return; // the first listing is printed sorted, at once
      const rows = statusRows(fs);
      const key = `${fs.metadata.namespace}/${fs.metadata.name}`;
      const sig = JSON.stringify(rows);
      if (shown.get(key) === sig) return;
      shown.set(key, sig);
      io.stdout(render(rows, opts.output, now(), !headerShown));
      headerShown = true;
    };
    let failed: string | undefined;
    const informer = new Informer({
      client,
      type: FAILOVER_SERVICES,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      clock: realClock,
      jitter: randomJitter(),
      onEvent: (ev) => {
        if (ev.type === 'upsert') show(ev.object);
        else if (ev.type === 'delete') shown.delete(`${ev.object.metadata.namespace}/${ev.object.metadata.name}`);
      },
      onLog: (level, msg, fields) => {
        if (level === 'warn') io.stderr(`spillway: ${msg}${fields['error'] ? `: ${String(fields['error'])}` : ''}\n`);
      },
    });
    informer.start();
    await Promise.race([informer.waitSynced(), new Promise<void>((r) => signal?.addEventListener('abort', () => r(), { once: true }))]);
    if (!informer.synced && informer.lastError) failed = informer.lastError;
    listed = true;
    const first = informer.list().sort(sortFs);
    if (first.length === 0 && opts.output === 'table') io.stderr(`No FailoverServices found${opts.namespace ? ` in namespace ${opts.namespace}` : ''}; watching.\n`);
    for (const fs of first) show(fs);
    await new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    await informer.stop();
    if (failed) throw new CliError(`cannot watch FailoverServices: ${failed}`, 1);
    return 0;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read FailoverServices: ${describeError(e)}`, 1);
  } finally {
    client.close();
  }
}
