/**
 * Derivations the checks share: each accepted FailoverService as the clusters see it (its namespaces, hosts and
 * rendered objects per cluster), the mesh config of a cluster, label selectors. Pure.
 */
import yaml from 'js-yaml';
import type { FailoverService, KubeObject, MeshCluster } from '../api/types.ts';
import { LABEL_MANAGED_BY, LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE, MANAGED_BY_VALUE } from '../api/types.ts';
import { DEFAULTS, choosePort, clientOnlyClusters, resolveContext, tiers } from '../model/context.ts';
import { serviceHost } from '../model/naming.ts';
import type { CheckLevel, CheckResult, CheckSnapshot, ClusterFacts, Listing } from './types.ts';
import { renderFinding } from '../api/messages.ts';
import type { FindingCode, FindingParams, Unverified } from '../api/messages.ts';

export interface ServiceInCluster {
  cluster: string;
  /**
   * `['client', 'receiver']` where the service runs; `['client']` alone in a client-only cluster (listed and still
   * registered, its workload gone: SPW161), whose clients are served by the other clusters' tiers only.
   */
  roles: ('client' | 'receiver')[];
  failoverOrder: string[];
  /** The service's name here; in a client-only cluster, the name of the service it lost (the first tier's). */
  serviceName: string;
  /** Where Spillway's objects for this service go in this cluster (in a client-only cluster, the lost workload's namespace). */
  serviceNamespace: string;
  /** `reviews.default.svc.cluster.local`; absent in a client-only cluster (no local tier). */
  localHost?: string;
  /** What Spillway renders into this cluster for this FailoverService. */
  objects: KubeObject[];
}

export interface ServiceView {
  ref: string;
  name: string;
  namespace: string;
  fs: FailoverService;
  globalHost: string;
  port?: number;
  clientSelector?: Record<string, string>;
  clusters: ServiceInCluster[];
}

const views = new WeakMap<CheckSnapshot, ServiceView[]>();

/** Every FailoverService the render accepted, oldest first, with its per-cluster view. */
export function serviceViews(s: CheckSnapshot): ServiceView[] {
  const cached = views.get(s);
  if (cached) return cached;
  const out: ServiceView[] = [];
  const byRef = new Map(s.render.services.map((o) => [o.ref, o]));
  for (const fs of s.render.snapshot.services) {
    const ctx = resolveContext(fs, s.render.snapshot);
    const outcome = byRef.get(ctx.ref);
    if (!outcome?.accepted || !outcome.globalHost) continue;
    const ts = tiers(ctx);
    const first = ts[0];
    const chosen = first ? choosePort(fs, first.workload) : undefined;
    const clusters: ServiceInCluster[] = [];
    for (const c of outcome.clusters) {
      const owned = (s.render.clusters[c.name] ?? []).filter(
        (o) => o.metadata.labels?.[LABEL_OWNER_NAME] === fs.metadata.name && o.metadata.labels?.[LABEL_OWNER_NAMESPACE] === (fs.metadata.namespace ?? 'default'),
      );
      const t = ts.find((x) => x.clusterName === c.name);
      if (!t) {
        const only = c.roles.includes('receiver') || !first ? undefined : clientOnlyClusters(ctx).find((x) => x.clusterName === c.name);
        if (!only) continue;
        clusters.push({ cluster: c.name, roles: c.roles, failoverOrder: c.failoverOrder, serviceName: first!.serviceName, serviceNamespace: only.namespace, objects: owned });
        continue;
      }
      clusters.push({
        cluster: c.name,
        roles: c.roles,
        failoverOrder: c.failoverOrder,
        serviceName: t.serviceName,
        serviceNamespace: t.serviceNamespace,
        localHost: serviceHost(t.serviceName, t.serviceNamespace, t.cluster.spec.clusterDomain ?? DEFAULTS.clusterDomain),
        objects: owned,
      });
    }
    out.push({
      ref: ctx.ref,
      name: fs.metadata.name,
      namespace: fs.metadata.namespace ?? 'default',
      fs,
      globalHost: outcome.globalHost,
      ...(chosen && 'port' in chosen ? { port: chosen.port.number } : {}),
      ...(fs.spec.clientSelector && Object.keys(fs.spec.clientSelector).length > 0 ? { clientSelector: fs.spec.clientSelector } : {}),
      clusters,
    });
  }
  views.set(s, out);
  return out;
}

/** The MeshCluster of a member, by name. */
export function meshCluster(s: CheckSnapshot, name: string): MeshCluster | undefined {
  return s.meshClusters.find((m) => m.metadata.name === name);
}

export function rootNamespace(mc: MeshCluster | undefined): string {
  return mc?.spec.istio?.rootNamespace ?? DEFAULTS.rootNamespace;
}

export type Json = Record<string, unknown>;
export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const spec = (o: KubeObject): Json => (isRecord(o['spec']) ? o['spec'] : {});
export const ref = (o: KubeObject): string => (o.metadata.namespace ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` : `${o.kind}/${o.metadata.name}`);

export interface MeshConfigView {
  /** Parsed `mesh` key, `{}` when absent. */
  config: Json;
  source: string;
  error?: string;
}

/**
 * Mesh config of the cluster: ConfigMap `istio` (or `istio-<revision>`, the first by name, when there is no default
 * revision) in the root namespace, key `mesh`. undefined when no such ConfigMap was found.
 */
export function meshConfig(facts: ClusterFacts): MeshConfigView | undefined {
  const cms = facts.rootConfigMaps.items.filter((c) => c.metadata.name === 'istio' || /^istio-[a-z0-9-]+$/.test(c.metadata.name) && c.metadata.name !== 'istio-ca-root-cert' && isMeshConfigMap(c));
  cms.sort((a, b) => (a.metadata.name === 'istio' ? -1 : b.metadata.name === 'istio' ? 1 : a.metadata.name < b.metadata.name ? -1 : 1));
  const cm = cms[0];
  if (!cm) return undefined;
  const source = ref(cm);
  const text = asString((cm['data'] as Json | undefined)?.['mesh']);
  if (text === undefined) return { config: {}, source };
  try {
    const parsed = yaml.load(text);
    return { config: isRecord(parsed) ? parsed : {}, source };
  } catch (e) {
    return { config: {}, source, error: `its "mesh" key is not valid YAML: ${(e as Error).message.split('\n')[0]}` };
  }
}

function isMeshConfigMap(c: KubeObject): boolean {
  return isRecord(c['data']) && typeof (c['data'] as Json)['mesh'] === 'string';
}

/** Does a label map satisfy a plain equality selector? An empty selector selects nothing (as Service selectors). */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Result builder bound to one check name. */
export function results(check: string): {
  out: CheckResult[];
  /**
   * Reports a finding: its text (and hint) is rendered by the table from the typed params (src/api/messages.ts
   * CHECK_FINDINGS); a check never writes the text itself.
   */
  finding<C extends FindingCode>(level: CheckLevel, code: C, params: FindingParams<C>, extra?: { cluster?: string; clusters?: string[]; services?: string[]; object?: string }): void;
  /**
   * Results added by `fn` concern the FailoverService `service`; later calls with the same `key` (a finding about a
   * namespace or Service several FailoverServices share) add `service` to those results instead of running again.
   */
  about(key: string, service: string, fn: () => void): void;
} {
  const out: CheckResult[] = [];
  const byKey = new Map<string, CheckResult[]>();
  return {
    out,
    finding(level, code, params, extra = {}) {
      const f = renderFinding(code, params);
      out.push({
        code,
        check,
        level,
        ...(extra.cluster !== undefined ? { cluster: extra.cluster } : {}),
        ...(extra.clusters !== undefined ? { clusters: extra.clusters } : {}),
        ...(extra.services !== undefined ? { services: extra.services } : {}),
        ...(extra.object !== undefined ? { object: extra.object } : {}),
        // params go before the text, as in every message.
        params,
        message: f.message,
        ...(f.hint !== undefined ? { hint: f.hint } : {}),
      });
    },
    about(key, service, fn) {
      const earlier = byKey.get(key);
      if (earlier) {
        for (const x of earlier) if (!x.services?.includes(service)) x.services = [...(x.services ?? []), service];
        return;
      }
      const from = out.length;
      fn();
      const added = out.slice(from);
      for (const x of added) x.services = [service];
      byKey.set(key, added);
    },
  };
}

/** What went unverified when a listing could not be read (a finding renders it), or undefined when it was read. */
export function unreadable(l: Listing, what: string): Unverified | undefined {
  if (l.error === undefined) return undefined;
  return l.notServed ? { what, notServed: true } : { what, error: l.error };
}

/** Clusters named by a service view that the snapshot has facts for and that were reached. */
export function reached(s: CheckSnapshot, cluster: string): ClusterFacts | undefined {
  const f = s.clusters[cluster];
  return f && f.unreachable === undefined ? f : undefined;
}

/** A Service's pods: those in its namespace matching its selector. */
export function podsOf(facts: ClusterFacts, namespace: string, name: string): { service?: KubeObject; pods: KubeObject[] } {
  const service = facts.services.items.find((x) => x.metadata.namespace === namespace && x.metadata.name === name);
  const selector = service ? (spec(service)['selector'] as Record<string, string> | undefined) : undefined;
  const pods = facts.pods.items.filter((p) => p.metadata.namespace === namespace && selects(selector, p.metadata.labels));
  return { ...(service ? { service } : {}), pods };
}

/** The containers of a pod (as the gatherer trimmed them). */
export function containers(pod: KubeObject): Json[] {
  return asArray(spec(pod)['containers']).filter(isRecord);
}

export function hasSidecar(pod: KubeObject): boolean {
  return containers(pod).some((c) => c['name'] === 'istio-proxy') || asArray(spec(pod)['initContainers']).some((c) => isRecord(c) && c['name'] === 'istio-proxy');
}

/** A host as Istio reads it in a rule of namespace `ns`: a short name (no dot) is `<name>.<ns>.svc.<domain>`. */
export function qualifyHost(host: string, ns: string, domain: string): string {
  return host.includes('.') || host === '*' ? host : `${host}.${ns}.svc.${domain}`;
}

/** Does a host pattern (`*`, `*.suffix` or exact) match a host? */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

export function isOurs(o: KubeObject): boolean {
  return o.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE;
}

/** The hosts Spillway's aggregate involves in one client cluster: global, remote tiers, the local service (none in a client-only cluster). */
export function clientHosts(c: ServiceInCluster, globalHost: string): { global: string; remotes: string[]; local?: string } {
  const remotes = c.objects.filter((o) => o.kind === 'ServiceEntry').flatMap((o) => asArray(spec(o)['hosts']).filter((h): h is string => typeof h === 'string')).filter((h) => h !== globalHost);
  return { global: globalHost, remotes: [...new Set(remotes)].sort(), ...(c.localHost !== undefined ? { local: c.localHost } : {}) };
}

/** Is this a client-only cluster of the service (clients only, no workload of it: SPW161)? */
export function clientOnly(c: ServiceInCluster): boolean {
  return !c.roles.includes('receiver');
}
