/**
 * Derivations the checks share: each accepted FailoverService as the clusters see it (its namespaces, hosts and
 * rendered objects per cluster), the mesh config of a cluster, label selectors. Pure.
 */
import yaml from 'js-yaml';
import type { FailoverService, KubeObject, MeshCluster } from '../api/types.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/types.ts';
import { compareObjects } from '../core/render.ts';
import type { DetailedRenderResult, RenderBlock, ServiceOutcome } from '../core/render.ts';
import { LABEL_DISCOVERED_FROM } from '../controller/discovery.ts';
import { Layered } from '../core/layered.ts';
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
  /**
   * The tier's MeshWorkload was made by service discovery from the member's Service `serviceNamespace/serviceName`
   * (so it goes when that Service goes); absent for a hand-written one and in a client-only cluster.
   */
  discovered?: true;
  /**
   * What Spillway renders into this cluster for this FailoverService, in output order. With the controller's render
   * cache these are translated again from the service's render block (which keeps keys and hashes, not objects:
   * src/core/render.ts RenderBlock): in a check snapshot's views once per snapshot, in `renderViews` on every read.
   */
  readonly objects: KubeObject[];
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

/** A service's objects in one cluster, in output order, from its render block (none: no objects there). */
function blockObjects(block: RenderBlock | undefined): KubeObject[] {
  return block ? [...block.objects()].sort(compareObjects) : [];
}

type ClusterFields = Omit<ServiceInCluster, 'objects'>;

/**
 * A service's view in one cluster whose objects are translated from its render block on each read. One class (its
 * fields always set in the same order) so that every view shares one shape: consumers walk 50,000 of them per render.
 */
class BlockView implements ServiceInCluster {
  cluster: string;
  roles: ('client' | 'receiver')[];
  failoverOrder: string[];
  serviceName: string;
  serviceNamespace: string;
  localHost?: string;
  discovered?: true;
  readonly #block: RenderBlock | undefined;
  constructor(f: ClusterFields, block: RenderBlock | undefined) {
    this.cluster = f.cluster;
    this.roles = f.roles;
    this.failoverOrder = f.failoverOrder;
    this.serviceName = f.serviceName;
    this.serviceNamespace = f.serviceNamespace;
    this.localHost = f.localHost;
    this.discovered = f.discovered;
    this.#block = block;
  }
  get objects(): KubeObject[] {
    return blockObjects(this.#block);
  }
  /** The same view whose objects are translated once, on first read (a check snapshot's). */
  once(): ServiceInCluster {
    return new OnceView(this, this.#block);
  }
  toJSON(): ServiceInCluster {
    return { ...fields(this), objects: this.objects };
  }
}

class OnceView extends BlockView {
  #objects: KubeObject[] | undefined;
  override get objects(): KubeObject[] {
    return (this.#objects ??= super.objects);
  }
}

function fields(c: ServiceInCluster): ClusterFields {
  return {
    cluster: c.cluster,
    roles: c.roles,
    failoverOrder: c.failoverOrder,
    serviceName: c.serviceName,
    serviceNamespace: c.serviceNamespace,
    ...(c.localHost !== undefined ? { localHost: c.localHost } : {}),
    ...(c.discovered ? { discovered: c.discovered } : {}),
  };
}

/** Per render: each accepted service's blocks, per cluster (built from the previous render's by difference). */
const blockIndexes = new WeakMap<DetailedRenderResult, ReadonlyMap<string, ReadonlyMap<string, RenderBlock>>>();

/**
 * Each service's render block per cluster: ref -> cluster -> block. A render made as a difference (`changes`) patches
 * the index of the render it was made from (a copy of a map per service, no pass over the blocks); any other render
 * is indexed from its blocks.
 */
export function blocksByService(render: DetailedRenderResult): ReadonlyMap<string, ReadonlyMap<string, RenderBlock>> {
  const known = blockIndexes.get(render);
  if (known) return known;
  const changes = render.changes;
  const base = changes ? blockIndexes.get(changes.since) : undefined;
  let out: ReadonlyMap<string, ReadonlyMap<string, RenderBlock>>;
  if (changes && base) {
    // The changed refs over the last render's index (no copy of a map of every service per render).
    const patch = new Map<string, ReadonlyMap<string, RenderBlock> | undefined>();
    for (const ref of changes.refs) {
      const b = changes.blocks.get(ref);
      patch.set(ref, b && b.size > 0 ? b : undefined);
    }
    out = Layered.over(base, patch);
  } else {
    const build = new Map<string, Map<string, RenderBlock>>();
    for (const [cluster, blocks] of render.blocks) {
      for (const b of blocks) {
        let per = build.get(b.ref);
        if (!per) build.set(b.ref, (per = new Map()));
        per.set(cluster, b);
      }
    }
    out = build;
  }
  blockIndexes.set(render, out);
  return out;
}

/**
 * A service's view, kept from one render to the next while its outcome (the same object: the render cache reuses it
 * while the service's inputs are unchanged), document and blocks are the same.
 */
interface KeptView {
  fs: FailoverService;
  blocks: ReadonlyMap<string, RenderBlock> | undefined;
  view: ServiceView;
}
const keptViews = new WeakMap<ServiceOutcome, KeptView>();
/** Per render: its views, and each outcome's view (undefined: not accepted) in the order of `render.services`. */
const renderViewLists = new WeakMap<DetailedRenderResult, { list: ServiceView[]; aligned: (ServiceView | undefined)[] }>();

/**
 * Every FailoverService the render accepted, oldest first, with its per-cluster view; each cluster's `objects`
 * translated from the service's render block on every read (read them once per use). A service whose outcome,
 * document and blocks did not change since an earlier render has the very same view object as in that render (so
 * a consumer can keep what it computed from it), and costs no context resolution. A render made as a difference of
 * one whose views were read (`changes`, no service come or gone) looks at the services it changed only.
 */
export function renderViews(render: DetailedRenderResult): ServiceView[] {
  const cached = renderViewLists.get(render);
  if (cached) return cached.list;
  const steps = viewSteps(render);
  for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
}

/**
 * renderViews(render) one view at a time, for a caller that gives the event loop a turn in between (making every
 * view of a render read afresh resolves every service's context: seconds at 10,000 services). The views are those of
 * renderViews, in its order; the list is kept for the render once the last is yielded.
 */
export function* eachRenderView(render: DetailedRenderResult): Generator<ServiceView, void> {
  const cached = renderViewLists.get(render);
  if (cached) {
    yield* cached.list;
    return;
  }
  // Made as a difference of the last render's views (cheap: no step is yielded), or one view at a time.
  const steps = viewSteps(render);
  let r = steps.next();
  if (r.done) {
    yield* r.value;
    return;
  }
  for (; !r.done; r = steps.next()) if (r.value) yield r.value;
}

/**
 * Yields each view as it is made (undefined for a service not accepted) when the render's views are read whole, nothing
 * when they are made as a difference; returns the list and keeps it.
 */
function* viewSteps(render: DetailedRenderResult): Generator<ServiceView | undefined, ServiceView[]> {
  const index = blocksByService(render);
  const services = render.snapshot.services;
  // The outcomes are in the order of the snapshot's services (both oldest first), one per service.
  const aligned = render.services.length === services.length;
  let byRef: Map<string, FailoverService> | undefined;
  const viewOf = (outcome: ServiceOutcome, i: number): ServiceView | undefined => {
    if (!outcome.accepted || !outcome.globalHost) return undefined;
    let fs = aligned ? services[i] : undefined;
    if (!fs || fs.metadata.name !== outcome.name || (fs.metadata.namespace ?? 'default') !== outcome.namespace) {
      byRef ??= new Map(services.map((x) => [`FailoverService/${x.metadata.namespace ?? 'default'}/${x.metadata.name}`, x]));
      fs = byRef.get(outcome.ref);
    }
    if (!fs) return undefined;
    const blocks = index.get(outcome.ref);
    const kept = keptViews.get(outcome);
    if (kept && kept.fs === fs && sameBlocks(kept.blocks, blocks)) return kept.view;
    const view = makeView(fs, outcome, render, blocks);
    if (view) keptViews.set(outcome, { fs, blocks, view });
    return view;
  };
  const changes = render.changes;
  const base = changes ? renderViewLists.get(changes.since) : undefined;
  let views: (ServiceView | undefined)[] | undefined;
  if (changes && base && changes.gone.size === 0 && base.aligned.length === render.services.length) {
    views = base.aligned.slice();
    for (const ref of changes.refs) {
      const i = changes.position(ref);
      const outcome = i >= 0 ? render.services[i] : undefined;
      if (!outcome || outcome.ref !== ref || changes.since.services[i]?.ref !== ref) {
        views = undefined; // came, or moved: read whole
        break;
      }
      views[i] = viewOf(outcome, i);
    }
  }
  if (!views) {
    views = [];
    for (let i = 0; i < render.services.length; i++) {
      const v = viewOf(render.services[i] as ServiceOutcome, i);
      views.push(v);
      yield v;
    }
  }
  const list = views.filter((v): v is ServiceView => v !== undefined);
  renderViewLists.set(render, { list, aligned: views });
  return list;
}

/** Per render read by ref without its `changes` (made before the render after it): its views by ref. */
const viewsByRef = new WeakMap<DetailedRenderResult, Map<string, ServiceView>>();

/**
 * The view of one service of a render (see renderViews), undefined when the render did not accept it. Found by its
 * place in the render while the render's `changes` are known, else from a map of the render's views made once.
 */
export function renderView(render: DetailedRenderResult, ref: string): ServiceView | undefined {
  let lists = renderViewLists.get(render);
  if (!lists) {
    renderViews(render);
    lists = renderViewLists.get(render) as { list: ServiceView[]; aligned: (ServiceView | undefined)[] };
  }
  const i = render.changes ? render.changes.position(ref) : -1;
  if (i >= 0 && render.services[i]?.ref === ref && lists.aligned.length === render.services.length) return lists.aligned[i];
  let byRef = viewsByRef.get(render);
  if (!byRef) viewsByRef.set(render, (byRef = new Map(lists.list.map((v) => [v.ref, v]))));
  return byRef.get(ref);
}

function sameBlocks(a: ReadonlyMap<string, RenderBlock> | undefined, b: ReadonlyMap<string, RenderBlock> | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.size !== b.size) return false;
  for (const [cluster, block] of a) if (b.get(cluster) !== block) return false;
  return true;
}

function makeView(fs: FailoverService, outcome: ServiceOutcome, render: DetailedRenderResult, blocks: ReadonlyMap<string, RenderBlock> | undefined): ServiceView | undefined {
  const ctx = resolveContext(fs, render.snapshot);
  const ts = tiers(ctx);
  const first = ts[0];
  const chosen = first ? choosePort(fs, first.workload) : undefined;
  const clusters: ServiceInCluster[] = [];
  const inCluster = (base: ClusterFields): ServiceInCluster => new BlockView(base, blocks?.get(base.cluster));
  for (const c of outcome.clusters) {
    const t = ts.find((x) => x.clusterName === c.name);
    if (!t) {
      const only = c.roles.includes('receiver') || !first ? undefined : clientOnlyClusters(ctx).find((x) => x.clusterName === c.name);
      if (!only) continue;
      clusters.push(inCluster({ cluster: c.name, roles: c.roles, failoverOrder: c.failoverOrder, serviceName: first!.serviceName, serviceNamespace: only.namespace }));
      continue;
    }
    const labels = t.workload.metadata.labels;
    const discovered = labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE && typeof labels[LABEL_DISCOVERED_FROM] === 'string';
    clusters.push(inCluster({
      cluster: c.name,
      roles: c.roles,
      failoverOrder: c.failoverOrder,
      serviceName: t.serviceName,
      serviceNamespace: t.serviceNamespace,
      localHost: serviceHost(t.serviceName, t.serviceNamespace, t.cluster.spec.clusterDomain ?? DEFAULTS.clusterDomain),
      ...(discovered ? { discovered: true as const } : {}),
    }));
  }
  return {
    ref: ctx.ref,
    name: fs.metadata.name,
    namespace: fs.metadata.namespace ?? 'default',
    fs,
    globalHost: outcome.globalHost as string,
    ...(chosen && 'port' in chosen ? { port: chosen.port.number } : {}),
    ...(fs.spec.clientSelector && Object.keys(fs.spec.clientSelector).length > 0 ? { clientSelector: fs.spec.clientSelector } : {}),
    clusters,
  };
}

const views = new WeakMap<CheckSnapshot, ServiceView[]>();

/**
 * Every FailoverService the render accepted, oldest first, with its per-cluster view, for one check snapshot: each
 * cluster's objects translated once for the snapshot (the checks read them many times), dropped with it.
 */
export function serviceViews(s: CheckSnapshot): ServiceView[] {
  const cached = views.get(s);
  if (cached) return cached;
  const out = renderViews(s.render).map((v) => ({
    ...v,
    clusters: v.clusters.map((c): ServiceInCluster => (c instanceof BlockView ? c.once() : c)),
  }));
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
