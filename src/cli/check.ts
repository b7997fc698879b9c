/**
 * `spillway check`: preflight and health checks against live clusters. Inputs come from files (`-f`) or from the
 * management cluster; member clusters are reached through kubeconfig contexts (`--context NAME=CONTEXT`, or a
 * context named like the MeshCluster) or, with a management cluster, through the MeshClusters' kubeconfig Secrets.
 * Loaded only by this command (it pulls in the Kubernetes client).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject, MeshCluster } from '../api/types.ts';
import { API_VERSION } from '../api/types.ts';
import type { SourcedDocument } from '../analyze/snapshot.ts';
import { HttpKubeClient } from '../kube/client.ts';
import type { KubeClient } from '../kube/client.ts';
import { kubeConfigFromText } from '../kube/config.ts';
import { describeError } from '../kube/errors.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, collectionPath } from '../kube/resources.ts';
import { listAll } from '../check/gather.ts';
import type { GatherTarget } from '../check/gather.ts';
import { buildCheckSnapshot } from '../check/snapshot.ts';
import { exitCode, formatReport, runChecks } from '../check/run.ts';
import type { CheckSnapshot } from '../check/types.ts';
import { readInputDocuments } from './inputs.ts';
import { CliError } from './errors.ts';
import { loadCliKubeConfig } from './kubeconfig.ts';
import type { CliIO } from './main.ts';

export interface CheckCommandOptions {
  filename: string[];
  kubeconfig?: string;
  /** `CLUSTER=CONTEXT` pairs. */
  context: string[];
  managementContext?: string;
  namespace: string;
  output: 'text' | 'json';
  timeoutMs?: number;
}

function parseContexts(pairs: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0 || i === p.length - 1) throw new CliError(`--context ${p}: expected CLUSTER=CONTEXT (the MeshCluster name, then the kubeconfig context)`);
    out.set(p.slice(0, i), p.slice(i + 1));
  }
  return out;
}

async function managementInputs(client: KubeClient): Promise<SourcedDocument[]> {
  const docs: SourcedDocument[] = [];
  for (const t of [MESH_CLUSTERS, MESH_WORKLOADS, FAILOVER_SERVICES]) {
    const l = await listAll(client, collectionPath(t));
    if (l.error !== undefined) throw new CliError(`cannot list ${t.plural} in the management cluster: ${l.error}${l.notServed ? ' (are Spillway\'s CRDs installed? spillway crds | kubectl apply -f -)' : ''}`);
    for (const o of l.items) docs.push({ value: { ...o, apiVersion: o.apiVersion ?? API_VERSION, kind: o.kind ?? t.kind }, source: `${t.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}` });
  }
  return docs;
}

/** Gathers everything and runs the checks; the caller prints. Exposed for tests. */
export async function checkSnapshot(opts: CheckCommandOptions): Promise<{ snapshot: CheckSnapshot; close: () => void }> {
  const contexts = parseContexts(opts.context);
  const clientOpts = { timeoutMs: opts.timeoutMs ?? 15_000, userAgent: 'spillway-check/0.1.0' };
  const clients: KubeClient[] = [];
  const newClient = (kc: KubeConfig): KubeClient => {
    const c = new HttpKubeClient(kc, clientOpts);
    clients.push(c);
    return c;
  };
  const fromFiles = opts.filename.length > 0;
  let management: { client: KubeClient; via: string; namespace: string } | undefined;
  if (!fromFiles || opts.managementContext !== undefined) {
    const kc = loadCliKubeConfig(opts.kubeconfig, opts.managementContext);
    management = { client: newClient(kc), via: `context ${kc.getCurrentContext()}`, namespace: opts.namespace };
  }
  const docs = fromFiles ? readInputDocuments(opts.filename) : await managementInputs(management!.client);
  let available: Set<string> | undefined;
  const contextNames = (): Set<string> => {
    if (!available) {
      try {
        available = new Set(loadCliKubeConfig(opts.kubeconfig, undefined).getContexts().map((c) => c.name));
      } catch {
        available = new Set();
      }
    }
    return available;
  };
  const connect = async (name: string, mc: MeshCluster): Promise<GatherTarget | { error: string; via: string }> => {
    const ctx = contexts.get(name) ?? (contextNames().has(name) ? name : undefined);
    if (ctx !== undefined) {
      try {
        return { name, via: `context ${ctx}`, client: newClient(loadCliKubeConfig(opts.kubeconfig, ctx)) };
      } catch (e) {
        return { error: e instanceof Error ? e.message : String(e), via: `context ${ctx}` };
      }
    }
    if (!management) return { error: `no kubeconfig context for cluster ${name}: pass --context ${name}=<context>`, via: 'no context' };
    const ref = mc.spec.kubeconfigSecret;
    if (!ref) return { name, via: 'the management cluster', client: management.client };
    const ns = ref.namespace ?? opts.namespace;
    const via = `Secret ${ns}/${ref.name}`;
    let secret: KubeObject;
    try {
      secret = (await management.client.request({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(ref.name)}` })) as KubeObject;
    } catch (e) {
      return { error: `cannot read ${via}: ${describeError(e)}`, via };
    }
    const data = (secret['data'] as Record<string, string> | undefined)?.['kubeconfig'];
    if (!data) return { error: `${via} has no data key "kubeconfig"`, via };
    try {
      return { name, via, client: newClient(kubeConfigFromText(Buffer.from(data, 'base64').toString('utf8'))) };
    } catch {
      // Parser errors can quote the document (credentials included): never pass them on.
      return { error: `the kubeconfig in ${via} could not be parsed`, via };
    }
  };
  const { snapshot } = await buildCheckSnapshot({ docs, connect, ...(management ? { management } : {}) });
  return { snapshot, close: () => clients.forEach((c) => c.close()) };
}

export async function checkCommand(opts: CheckCommandOptions, io: CliIO): Promise<number> {
  const { snapshot, close } = await checkSnapshot(opts);
  try {
    const report = runChecks(snapshot);
    if (opts.output === 'json') {
      const clusters = Object.fromEntries(Object.values(snapshot.clusters).map((f) => [f.name, { via: f.via, ...(f.kubernetesVersion ? { kubernetesVersion: f.kubernetesVersion } : {}), ...(f.unreachable ? { unreachable: f.unreachable } : {}) }]));
      io.stdout(`${JSON.stringify({ summary: report.summary, clusters, results: report.results }, null, 2)}\n`);
    } else io.stdout(formatReport(report));
    return exitCode(report);
  } finally {
    close();
  }
}
