/**
 * Live tier shares: which tier serves each client cluster's traffic right now, predicted from live endpoints.
 *
 * Per member cluster one EndpointSlice informer (all namespaces) feeds, per FailoverService and client cluster,
 * the simulator (Envoy's priority-load maths over the rendered aggregate) with each tier's endpoints:
 * - a ready, non-terminating endpoint is healthy; a terminating one is left out (istiod never sends it);
 * - a not-ready one depends on the local tier's host, as istiod treats it (test/oracle/not-ready.test.ts): on the
 *   Service host it counts in the tier's total as unhealthy (istiod sends not-ready pods marked unhealthy since
 *   istio/istio#60690, so they lower the tier's health); on Spillway's dedicated local host (a ServiceEntry
 *   selecting the pods, what a MeshWorkload with a selector gets) istiod sends ready pods only, so it is not in
 *   the tier at all;
 * - a remote tier works while the remote cluster has a healthy endpoint and its gateway Service a ready one;
 * - a client-only cluster (listed, registered, its workload gone: SPW161) has clients and no tier: its entry lists
 *   the remaining clusters' tiers, all remote, in list order.
 * The result is published as `FailoverService.status.serving` (merge patch of that key alone), as the gauge
 * `spillway_tier_share_percent`, and as an Event on the FailoverService when a client's serving tiers change
 * ("cluster1 clients: 30% now spill to cluster2"). Only the leader writes.
 *
 * The decisions (`countSlices`, `computeServing`, `servingEvents`, `nextServingStatus`) are pure; the class is
 * the I/O around them.
 */
import type { KubeObject } from '../api/types.ts';
import { API_VERSION } from '../api/types.ts';
import type { DetailedRenderResult } from '../core/render.ts';
import { DEFAULTS } from '../model/context.ts';
import { simulate } from '../simulate/simulate.ts';
import type { HealthSpec } from '../simulate/simulate.ts';
import type { Clock, Jitter } from '../kube/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import { Informer } from '../kube/informer.ts';
import type { InformerEvent, InformerTiming } from '../kube/informer.ts';
import { ENDPOINT_SLICES, typeOfObject } from '../kube/resources.ts';
import { createEvent, eventAnnotations, patchStatus } from '../kube/ops.ts';
import { EVENT_CODES, renderEvent } from '../api/messages.ts';
import type { EventCode, EventParams } from '../api/messages.ts';
import { eachRenderView, renderView, renderViews } from '../check/view.ts';
import { Layered } from '../core/layered.ts';
import type { ServiceView } from '../check/view.ts';
import { gatewayServices } from '../check/checks/gateway-service.ts';
import { jsonEqual } from './compare.ts';
import type { Logger } from './log.ts';
import type { Gauge, Registry } from './metrics.ts';
import { pool } from './pool.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface SliceCounts {
  /** Ready and not terminating: Envoy sends them traffic. */
  ready: number;
  /** Not ready, not terminating: in EDS marked unhealthy on the Service host; not in EDS on the dedicated local host. */
  notReady: number;
  /** Terminating: no longer sent to Envoy. */
  terminating: number;
  /** Ready/total per zone (`topology.kubernetes.io/zone` as the slice reports it; `""` when absent). */
  zones: Record<string, { ready: number; total: number }>;
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Counts the endpoints of one Service's slices, each endpoint once (slices of two address types repeat pods). */
export function countSlices(slices: readonly KubeObject[]): SliceCounts {
  const out: SliceCounts = { ready: 0, notReady: 0, terminating: 0, zones: {} };
  const seen = new Set<string>();
  for (const slice of slices) {
    for (const ep of Array.isArray(slice['endpoints']) ? slice['endpoints'] : []) {
      if (!isRecord(ep)) continue;
      const ref = isRecord(ep['targetRef']) ? `${String(ep['targetRef']['namespace'] ?? '')}/${String(ep['targetRef']['name'] ?? '')}` : undefined;
      const key = ref ?? (Array.isArray(ep['addresses']) ? ep['addresses'].join(',') : JSON.stringify(ep));
      if (seen.has(key)) continue;
      seen.add(key);
      const cond = isRecord(ep['conditions']) ? ep['conditions'] : {};
      // The API: a nil `ready` is to be read as ready; a nil `terminating` as not terminating.
      const terminating = cond['terminating'] === true;
      const ready = cond['ready'] !== false && !terminating;
      const zone = typeof ep['zone'] === 'string' ? ep['zone'] : '';
      if (terminating) {
        out.terminating++;
        continue;
      }
      const z = (out.zones[zone] ??= { ready: 0, total: 0 });
      z.total++;
      if (ready) {
        out.ready++;
        z.ready++;
      } else out.notReady++;
    }
  }
  return out;
}

export interface ServingTier {
  cluster: string;
  /** Predicted share of this client's requests, percent. */
  percent: number;
  /** Endpoints of the service in that cluster that are healthy / in EDS. */
  healthy: number;
  total: number;
  /** Remote tiers: ready endpoints of that cluster's gateway Service (absent when unknown). */
  gatewayReady?: number;
}

export interface ServingClient {
  client: string;
  /**
   * Tiers in failover order, the client's own cluster first. A client-only cluster (its workload gone, SPW161) has
   * no tier of its own: its tiers are the remaining clusters', all remote, in list order.
   */
  tiers: ServingTier[];
  /** Share of requests predicted to fail (no healthy upstream, or failing hosts not ejected). */
  failingPercent: number;
  /** When this client's shares last changed (RFC 3339). */
  lastTransitionTime?: string;
}

export interface ServingInput {
  render: DetailedRenderResult;
  /** Endpoint counts of a Service in a cluster; undefined while not known (cluster not listed yet). */
  endpoints(cluster: string, namespace: string, name: string): SliceCounts | undefined;
  /** Ready/total endpoints of a receiving cluster's gateway; undefined when unknown (treated as up). */
  gateway(cluster: string): { ready: number; total: number } | undefined;
  /**
   * Is this member's Service known to be gone (the member's Services are listed and it is not among them)? A tier
   * whose workload was discovered from a Service that is gone is about to leave the render (discovery drops it on
   * the reconcile its deletion triggers): its shares are not published from the render that still has it.
   */
  serviceGone?(cluster: string, namespace: string, name: string): boolean;
}

/**
 * What computeServing worked out per FailoverService last time, to compute again only the services whose view (the
 * same object while its render outcome and blocks are unchanged: src/check/view.ts renderViews) or endpoint counts
 * changed. Holds no objects: a service's objects are translated again only when it is computed again.
 */
export type ServingMemo = Map<string, { view: ServiceView; key: string; clients: ServingClient[]; held?: boolean }>;

/**
 * What the caller knows did not change since the memo was last updated (the publisher: no slice event for that
 * Service, the same gateway counts): a service whose view is its memo entry's and whose tiers are all unchanged is
 * not looked at (not even its endpoint counts).
 */
export interface ServingUnchanged {
  endpoints(cluster: string, namespace: string, name: string): boolean;
  gateway(cluster: string): boolean;
  /**
   * Every member Service whose endpoints may have changed (endpoints() is true for all others). With it, a render
   * known as a difference from the one the memo was last computed from (its `changes`, or `changed`) costs what
   * changed: only the services the render changed, those reading these Services' endpoints, and those held or not
   * known last time are looked at; the rest keep their clients without a pass over them.
   */
  services?: Iterable<readonly [cluster: string, namespace: string, name: string]>;
  /** The services that may differ since render `since` when the render's own `changes` do not say (renders skipped). */
  changed?: { since: DetailedRenderResult; refs: ReadonlySet<string> };
}

/** What a memo's last computation produced, for the next one made as a difference. */
interface ServingState {
  render: DetailedRenderResult;
  out: ReadonlyMap<string, ServingClient[]>;
  /** Services held (see ServingInput.serviceGone) or with some cluster's counts unknown: looked at every time. */
  again: Set<string>;
  /** Member Service (`cluster\0namespace\0name`) -> the services with a tier on it; built when first needed. */
  readers?: Map<string, string[]>;
  /** The view each service is in `readers` with. */
  indexed?: Map<string, ServiceView>;
}
const servingStates = new WeakMap<ServingMemo, ServingState>();

/** A computeServing result made as a difference: the result before it and the refs whose clients changed (or went). */
const servingChanges = new WeakMap<ReadonlyMap<string, ServingClient[]>, { since: ReadonlyMap<string, ServingClient[]>; refs: ReadonlySet<string> }>();

/**
 * How a result of computeServing differs from the one before it (with the same memo), when it was made as a
 * difference: every ref not in `refs` has the very same clients array in both (or is in neither). Undefined: unknown.
 */
export function servingDifference(result: ReadonlyMap<string, ServingClient[]>): { since: ReadonlyMap<string, ServingClient[]>; refs: ReadonlySet<string> } | undefined {
  return servingChanges.get(result);
}

const readerKey = (cluster: string, namespace: string, name: string): string => `${cluster}\u0000${namespace}\u0000${name}`;

function index(readers: Map<string, string[]>, v: ServiceView, add: boolean): void {
  for (const c of v.clusters) {
    if (!c.roles.includes('receiver')) continue;
    const k = readerKey(c.cluster, c.serviceNamespace, c.serviceName);
    const list = readers.get(k);
    if (add) {
      if (!list) readers.set(k, [v.ref]);
      else if (!list.includes(v.ref)) list.push(v.ref);
    } else if (list) {
      const at = list.indexOf(v.ref);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) readers.delete(k);
    }
  }
}

/** What one service's computation ended in: its clients (held: the last clients kept), or nothing to publish. */
type Served = { clients: ServingClient[] } | undefined;

/** One service's clients (see computeServing); updates `memo` for it, and `again` when it must be looked at next time. */
function serveOne(v: ServiceView, i: ServingInput, memo: ServingMemo | undefined, unchanged: ServingUnchanged | undefined, again: Set<string>): Served {
  const m = memo?.get(v.ref);
  if (m && unchanged && m.view === v && !m.held) {
    let same = true;
    for (const c of v.clusters) {
      if (!c.roles.includes('receiver')) continue;
      if (!unchanged.endpoints(c.cluster, c.serviceNamespace, c.serviceName) || !unchanged.gateway(c.cluster)) {
        same = false;
        break;
      }
    }
    if (same) return { clients: m.clients };
  }
  // The clusters the service runs in; a client-only cluster (clients only, its workload gone) has no endpoints
  // to count, and its clients are simulated like any other's, over the remaining tiers through their gateways.
  const tiersOf = v.clusters.filter((c) => c.roles.includes('receiver'));
  if (i.serviceGone && tiersOf.some((c) => c.discovered && i.serviceGone!(c.cluster, c.serviceNamespace, c.serviceName))) {
    // The render is behind discovery: keep what was published until the render without this tier comes.
    again.add(v.ref); // looked at again next time, whatever is said unchanged
    if (!m) return undefined;
    m.held = true;
    return { clients: m.clients };
  }
  const counts = new Map<string, SliceCounts>();
  for (const c of tiersOf) {
    const n = i.endpoints(c.cluster, c.serviceNamespace, c.serviceName);
    if (n) counts.set(c.cluster, n);
  }
  if (counts.size !== tiersOf.length) {
    memo?.delete(v.ref);
    again.add(v.ref);
    return undefined; // some cluster not known yet: publish nothing rather than guess
  }
  const gateways = new Map<string, { ready: number; total: number } | undefined>();
  for (const cluster of counts.keys()) gateways.set(cluster, i.gateway(cluster));
  let key = '';
  if (memo) {
    const parts: (string | number)[] = [];
    for (const [cluster, n] of counts) {
      const gw = gateways.get(cluster);
      parts.push(cluster, n.ready, n.notReady, gw ? `${gw.ready}/${gw.total}` : '-');
    }
    key = parts.join(',');
    if (m && m.view === v && m.key === key) {
      m.held = false;
      return { clients: m.clients };
    }
  }
  // Each cluster's objects, translated once here (each read of `objects` translates them again).
  const objects: Record<string, KubeObject[]> = {};
  for (const c of v.clusters) objects[c.cluster] = c.objects;
  // Where the local tier is Spillway's dedicated host (a ServiceEntry selecting the pods), istiod sends only
  // ready pods: not-ready ones are not in Envoy's total there (the simulator knows this from the same objects).
  const dedicated = new Set(tiersOf.filter((c) => (objects[c.cluster] ?? []).some((o) => o.kind === 'ServiceEntry' && isRecord(o['spec']) && o['spec']['workloadSelector'] !== undefined)).map((c) => c.cluster));
  const inEds = (cluster: string, n: SliceCounts | undefined): number => (n ? n.ready + (dedicated.has(cluster) ? 0 : n.notReady) : 0);
  const health: HealthSpec = {};
  for (const [cluster, n] of counts) {
    const gw = gateways.get(cluster);
    health[cluster] = { healthy: n.ready, total: n.ready + n.notReady, edsUnhealthy: n.notReady, ...(gw ? { gatewayHealthy: gw.ready > 0 } : {}) };
  }
  const sim = simulate(objects, health);
  const clients: ServingClient[] = [];
  for (const r of sim.results) {
    if (r.failoverService !== `${v.namespace}/${v.name}`) continue;
    clients.push({
      client: r.client,
      tiers: r.tiers.map((t) => {
        const n = counts.get(t.cluster);
        const gw = t.role === 'remote' ? (gateways.has(t.cluster) ? gateways.get(t.cluster) : i.gateway(t.cluster)) : undefined;
        return { cluster: t.cluster, percent: t.percent, healthy: n?.ready ?? 0, total: inEds(t.cluster, n), ...(gw ? { gatewayReady: gw.ready } : {}) };
      }),
      failingPercent: r.failingPercent,
    });
  }
  clients.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  memo?.set(v.ref, { view: v, key, clients });
  return { clients };
}

/**
 * Per FailoverService ref (`FailoverService/ns/name`): per client cluster, the predicted shares. Pure, except for
 * `memo` (when given, read and updated): a service whose view and counts are those of its memo entry gets the very
 * same clients array again, without simulating. With `unchanged.services` and a render known as a difference from
 * the memo's last one, only what changed is looked at (see ServingUnchanged.services).
 */
export function computeServing(i: ServingInput, memo?: ServingMemo, unchanged?: ServingUnchanged): ReadonlyMap<string, ServingClient[]> {
  const pass = servingPass(i, memo, unchanged);
  for (;;) {
    const r = pass.next();
    if (r.done) return r.value;
  }
}

/**
 * computeServing in steps: the generator yields after each service it looked at (its caller can give the event loop
 * a turn there) and returns the result. The memo stays valid at every step.
 */
export function* servingPass(i: ServingInput, memo?: ServingMemo, unchanged?: ServingUnchanged): Generator<void, ReadonlyMap<string, ServingClient[]>> {
  const state = memo ? servingStates.get(memo) : undefined;
  const difference = state && unchanged?.services ? differenceSince(i.render, state, unchanged) : undefined;
  if (memo && state && unchanged && difference) {
    // The changed refs, over the last result (no copy of a map of every service per computation).
    const out = new Map<string, ServingClient[] | undefined>();
    const again = new Set<string>();
    const visit = new Set<string>([...difference, ...state.again]);
    let readers = state.readers;
    let indexed = state.indexed;
    const services = [...(unchanged.services ?? [])];
    if (services.length > 0 && !readers) {
      readers = new Map();
      indexed = new Map();
      for (const v of renderViews(state.render)) {
        index(readers, v, true);
        indexed.set(v.ref, v);
      }
    }
    if (readers && indexed) {
      // The services the render changed are indexed with their new view (or dropped).
      for (const ref of difference) {
        const old = indexed.get(ref);
        const v = renderView(i.render, ref);
        if (old === v) continue;
        if (old) index(readers, old, false);
        if (v) index(readers, v, true);
        if (v) indexed.set(ref, v);
        else indexed.delete(ref);
      }
      for (const [c, ns, n] of services) for (const ref of readers.get(readerKey(c, ns, n)) ?? []) visit.add(ref);
    }
    const changed = new Set<string>();
    let came = false;
    for (const ref of visit) {
      const v = renderView(i.render, ref);
      const served = v ? serveOne(v, i, memo, unchanged, again) : undefined;
      if (!v) memo.delete(ref);
      const before = state.out.get(ref);
      if (served === undefined) {
        if (before) {
          out.set(ref, undefined);
          changed.add(ref);
        }
      } else if (served.clients !== before) {
        if (!before) came = true;
        out.set(ref, served.clients);
        changed.add(ref);
      }
      yield;
    }
    const patched = Layered.over(state.out, out);
    // In the render's order (oldest first), as a full computation gives it.
    const result = came ? new Map(renderViews(i.render).filter((v) => patched.has(v.ref)).map((v) => [v.ref, patched.get(v.ref) as ServingClient[]])) : patched;
    servingStates.set(memo, { render: i.render, out: result, again, ...(readers && indexed ? { readers, indexed } : {}) });
    servingChanges.set(result, { since: state.out, refs: changed });
    // The result before keeps no difference of its own: it would keep the one before it alive, and so on back to the
    // first (every computation since the start). Only the latest result's difference is read.
    servingChanges.delete(state.out);
    return result;
  }
  const out = new Map<string, ServingClient[]>();
  const again = new Set<string>();
  for (const v of eachRenderView(i.render)) {
    const served = serveOne(v, i, memo, unchanged, again);
    if (served) out.set(v.ref, served.clients);
    yield;
  }
  if (memo) {
    if (memo.size !== out.size) for (const ref of [...memo.keys()]) if (!out.has(ref)) memo.delete(ref);
    servingStates.set(memo, { render: i.render, out, again });
  }
  return out;
}

/**
 * The services that may differ between the memo's last render and this one, when that is known and nothing else
 * changed for all of them (every gateway the same); undefined: compute all.
 */
function differenceSince(render: DetailedRenderResult, state: ServingState, unchanged: ServingUnchanged): ReadonlySet<string> | undefined {
  for (const cluster of render.snapshot.clusters.keys()) if (!unchanged.gateway(cluster)) return undefined;
  if (render === state.render) return new Set();
  if (unchanged.changed?.since === state.render) return unchanged.changed.refs;
  if (render.changes?.since === state.render) return render.changes.refs;
  return undefined;
}

/**
 * A client's shares: each cluster's percent and the failing percent. Not the tiers' order: a reordered failover list
 * that moves no traffic (say, every tier at 0% while nothing is healthy) is not a transition of the shares.
 */
const shares = (c: ServingClient): string => c.tiers.map((t) => `${t.cluster}=${t.percent}`).sort().join(',') + `|${c.failingPercent}`;

/** Where a client's spilled requests go: the other clusters with a share, by cluster (order aside). */
const spillTargets = (c: ServingClient): string => c.tiers.filter((t) => t.cluster !== c.client && t.percent > 0).map((t) => `${t.cluster}=${t.percent}`).sort().join(',');

/** The next `status.serving`: lastTransitionTime carried over for clients whose shares did not change. Pure. */
export function nextServingStatus(prev: readonly ServingClient[] | undefined, next: readonly ServingClient[], now: string): ServingClient[] {
  return next.map((c) => {
    const p = prev?.find((x) => x.client === c.client);
    const same = p !== undefined && shares(p) === shares(c);
    return { ...c, lastTransitionTime: same && p.lastTransitionTime ? p.lastTransitionTime : now };
  });
}

/** One Event about a client's tiers: its reason is the code's name in the table, its message the code's text. */
export type ServingEvent = {
  [C in EventCode]: { type: 'Normal' | 'Warning'; code: C; reason: string; params: EventParams<C>; message: string; client: string };
}[EventCode];

function servingEvent<C extends EventCode>(type: 'Normal' | 'Warning', code: C, params: EventParams<C>): ServingEvent {
  return { type, code, reason: EVENT_CODES[code].name, params, message: renderEvent(code, params), client: params.client } as ServingEvent;
}

/** What changed for each client, as Event messages ("cluster1 clients: 30% now spill to cluster2"). Pure. */
export function servingEvents(prev: readonly ServingClient[] | undefined, next: readonly ServingClient[]): ServingEvent[] {
  const out: ServingEvent[] = [];
  for (const c of next) {
    const p = prev?.find((x) => x.client === c.client);
    const local = c.tiers.find((t) => t.cluster === c.client)?.percent ?? 0;
    const spill = c.tiers.filter((t) => t.cluster !== c.client && t.percent > 0);
    const spilled = spill.reduce((a, t) => a + t.percent, 0);
    const was = p ? p.tiers.filter((t) => t.cluster !== p.client).reduce((a, t) => a + t.percent, 0) : 0;
    const wasFailing = p?.failingPercent ?? 0;
    if (p && shares(p) === shares(c)) continue;
    if (!p && spilled === 0 && c.failingPercent === 0) continue; // first sight of a client served locally: nothing to say
    const to = spill.map((t) => ({ cluster: t.cluster, percent: t.percent }));
    // A client-only cluster (its workload gone, SPW161): no tier of its own, every request goes through a gateway.
    const own = c.tiers.some((t) => t.cluster === c.client);
    const hadOwn = p === undefined || p.tiers.some((t) => t.cluster === p.client);
    if (!own && hadOwn && c.failingPercent < 100) {
      out.push(servingEvent('Warning', 'SPW300', { clientOnly: true, client: c.client, to, failing: c.failingPercent }));
      continue;
    }
    // Events are for transitions: a condition that holds still (every request failing, the same clusters taking the
    // same spilled share) is not recorded again when something else about the client changed.
    if (c.failingPercent >= 100) {
      if (wasFailing < 100) out.push(servingEvent('Warning', 'SPW302', { client: c.client }));
    } else if (spilled > 0 && spilled !== was) {
      out.push(servingEvent('Warning', 'SPW300', { client: c.client, spilled, to, local, failing: c.failingPercent, changed: true }));
    } else if (spilled === 0 && c.failingPercent === 0 && (was > 0 || wasFailing > 0)) {
      out.push(servingEvent('Normal', 'SPW301', { client: c.client }));
    } else if (spilled > 0 && (!p || spillTargets(p) !== spillTargets(c))) {
      out.push(servingEvent('Warning', 'SPW300', { client: c.client, spilled, to, local, failing: c.failingPercent, changed: false }));
    } else if (c.failingPercent !== wasFailing) {
      out.push(servingEvent(c.failingPercent > 0 ? 'Warning' : 'Normal', 'SPW303', { client: c.client, failing: c.failingPercent }));
    }
  }
  return out;
}

function readServing(status: unknown): ServingClient[] | undefined {
  const s = isRecord(status) ? status['serving'] : undefined;
  return Array.isArray(s) ? (s.filter(isRecord) as unknown as ServingClient[]) : undefined;
}

export interface ServingOptions {
  /** Where FailoverServices, their status and Events live. */
  management: KubeClient;
  clock: Clock;
  jitter: Jitter;
  timing?: Partial<InformerTiming>;
  /** Only the leader writes status and Events. */
  isLeader: () => boolean;
  /** The FailoverService as the controller's informer holds it (its current status). */
  failoverService: (namespace: string, name: string) => KubeObject | undefined;
  log: Logger;
  /** Services of a member (the controller's discovery cache), to find its gateway Service; absent = gateway unknown (treated as up). */
  services?: (cluster: string) => readonly KubeObject[] | undefined;
  /**
   * Whether a member has a Service (the discovery cache), undefined when not known. A tier discovered from a Service
   * that is gone is not published from a render that still has it (see ServingInput.serviceGone).
   */
  hasService?: (cluster: string, namespace: string, name: string) => boolean | undefined;
  /** Registers the gauges here (the controller's registry). */
  registry?: Registry;
  /** Coalesce endpoint changes for this long before publishing. @default 100 */
  debounceMs?: number;
  /** Event source component. @default spillway-controller */
  component?: string;
  /** Services whose status and Events are written at once. @default 16 */
  concurrency?: number;
}

const DEFAULT_PUBLISH_CONCURRENCY = 16;

export interface PublishReport {
  statusWrites: number;
  events: ServingEvent[];
}

interface Member {
  informer: Informer;
  client: KubeClient;
  /** The informer's slices by `<namespace>/<service name>` (kept from its events: no pass over every slice per lookup). */
  slices: SliceIndex;
}

/** EndpointSlices by the Service they belong to, kept up to date from an informer's events. */
export class SliceIndex {
  private readonly byService = new Map<string, Map<string, KubeObject>>();

  private static service(o: KubeObject): string | undefined {
    const name = o.metadata.labels?.[SERVICE_NAME_LABEL];
    return name === undefined ? undefined : `${o.metadata.namespace ?? ''}/${name}`;
  }

  private static key(o: KubeObject): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  }

  /** Applies one informer event (a re-list reports each difference as an upsert or delete too). */
  apply(ev: InformerEvent): void {
    if (ev.type === 'state') return;
    const old = ev.type === 'upsert' ? ev.old : ev.object;
    if (old) {
      const svc = SliceIndex.service(old);
      const per = svc === undefined ? undefined : this.byService.get(svc);
      per?.delete(SliceIndex.key(old));
      if (per?.size === 0) this.byService.delete(svc as string);
    }
    if (ev.type === 'upsert') {
      const svc = SliceIndex.service(ev.object);
      if (svc === undefined) return;
      let per = this.byService.get(svc);
      if (!per) this.byService.set(svc, (per = new Map()));
      per.set(SliceIndex.key(ev.object), ev.object);
    }
  }

  /** The slices of Service `namespace/name`. */
  of(namespace: string, name: string): KubeObject[] {
    const per = this.byService.get(`${namespace}/${name}`);
    return per ? [...per.values()] : [];
  }
}

/** How long a publish runs before it gives the event loop a turn. */
const SLICE_MS = 10;

/** A turn of the event loop once `SLICE_MS` have gone since the last one: undefined while not due (nothing to await). */
class Slicer {
  private since = performance.now();
  private n = 0;
  turn(): Promise<void> | undefined {
    if ((++this.n & 15) !== 0 || performance.now() - this.since < SLICE_MS) return undefined;
    return new Promise<void>((r) => setImmediate(r)).then(() => void (this.since = performance.now()));
  }
}

/** Watches members' EndpointSlices and publishes tier shares. */
export class ServingPublisher {
  private readonly members = new Map<string, Member>();
  private render: DetailedRenderResult | undefined;
  private timer: { cancel(): void } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly share: Gauge | undefined;
  private readonly endpointsGauge: Gauge | undefined;
  private readonly spilled: Gauge | undefined;
  private readonly failing: Gauge | undefined;
  /** What was last published per FailoverService ref (a status write may lag the informer). */
  private readonly published = new Map<string, ServingClient[]>();
  /** Per FailoverService ref: the computed clients its status was last found or made equal to. */
  private readonly publishedFrom = new Map<string, ServingClient[]>();
  /** computeServing's memo: only services whose render view or endpoint counts changed are simulated again. */
  private readonly memo: ServingMemo = new Map();
  /** Per member: the Services (`<namespace>/<name>`) whose slices changed since the last publish began. */
  private dirty = new Map<string, Set<string>>();
  /** Something other than slices changed since the last publish began (a member came, went or listed): look at all. */
  private everything = true;
  /** The gateway counts of each member at the last publish. */
  private lastGateways = new Map<string, string>();
  /** Per FailoverService ref: the clients the gauges were last set from. */
  private readonly gauged = new Map<string, ServingClient[]>();
  /** The computation the gauges were last set from (a later one made as its difference sets only what changed). */
  private gaugedFrom: ReadonlyMap<string, ServingClient[]> | undefined;
  /** The computation the statuses were last published from, and the refs left unpublished then (looked at again). */
  private publishedResult: ReadonlyMap<string, ServingClient[]> | undefined;
  private unpublished = new Set<string>();
  /**
   * The render the last publish computed from, and the services each render given since then changed (from each
   * render's `changes`, read when it is given: a later render drops them); undefined when not known (compute all).
   */
  private chain: { from: DetailedRenderResult; refs: Set<string> } | undefined;
  lastReport: PublishReport | undefined;
  publishes = 0;

  constructor(private readonly o: ServingOptions) {
    this.share = o.registry?.gauge('spillway_tier_share_percent', 'Predicted share of a client cluster\'s requests served by each tier, from live endpoints, by failover_service, client and tier (cluster).', ['failover_service', 'client', 'tier']);
    this.spilled = o.registry?.gauge('spillway_spilled_percent', 'Predicted share of a client cluster\'s requests served outside it (100 minus its own tier), by failover_service and client.', ['failover_service', 'client']);
    this.failing = o.registry?.gauge('spillway_failing_percent', 'Predicted share of a client cluster\'s requests that fail (no healthy upstream, failing hosts not ejected), by failover_service and client.', ['failover_service', 'client']);
    this.endpointsGauge = o.registry?.gauge('spillway_tier_endpoints', 'Endpoints of a FailoverService\'s workload per cluster, by failover_service, cluster and state (healthy, total).', ['failover_service', 'cluster', 'state']);
  }

  /**
   * Starts watching a member's EndpointSlices (again, if the client changed). A server that does not serve them
   * (or could not say) is asked again on a later attach, at most once a minute, instead of being listed in a
   * retry loop.
   */
  attach(cluster: string, client: KubeClient): void {
    const cur = this.members.get(cluster);
    if (cur?.client === client) return;
    const probe = this.probes.get(cluster);
    if (probe && probe.client === client && (probe.pending || this.o.clock.now() - probe.at < 60_000)) return;
    const entry = { client, at: this.o.clock.now(), pending: true };
    this.probes.set(cluster, entry);
    void client
      .request({ method: 'GET', path: `/apis/${ENDPOINT_SLICES.group}/${ENDPOINT_SLICES.version}`, timeoutMs: 10_000 })
      .then(
        (r) => ((r as { resources?: { name?: string }[] }).resources ?? []).some((x) => x.name === ENDPOINT_SLICES.plural),
        () => false,
      )
      .then((served) => {
        entry.pending = false;
        entry.at = this.o.clock.now();
        if (this.stopped || this.probes.get(cluster) !== entry) return;
        if (!served) {
          this.o.log.debug('EndpointSlices not served: no live tier shares for this cluster yet', { cluster });
          return;
        }
        this.probes.delete(cluster);
        this.start(cluster, client);
      });
  }
  private readonly probes = new Map<string, { client: KubeClient; at: number; pending: boolean }>();

  private start(cluster: string, client: KubeClient): void {
    const cur = this.members.get(cluster);
    if (cur?.client === client) return;
    if (cur) void cur.informer.stop();
    const slices = new SliceIndex();
    const informer = new Informer({
      client,
      type: ENDPOINT_SLICES,
      clock: this.o.clock,
      jitter: this.o.jitter,
      timing: this.o.timing,
      onEvent: (ev) => {
        slices.apply(ev);
        if (ev.type === 'state') this.everything = true;
        else {
          let d = this.dirty.get(cluster);
          if (!d) this.dirty.set(cluster, (d = new Set()));
          for (const o of ev.type === 'upsert' && ev.old ? [ev.object, ev.old] : [ev.object]) {
            const name = o.metadata.labels?.[SERVICE_NAME_LABEL];
            if (name !== undefined) d.add(`${o.metadata.namespace ?? ''}/${name}`);
          }
        }
        this.schedule();
      },
      onLog: (l, m, f) => this.o.log[l](m, { cluster, ...f }),
    });
    this.members.set(cluster, { informer, client, slices });
    this.everything = true;
    informer.start();
  }

  /** Clusters whose EndpointSlices are watched. */
  attached(): string[] {
    return [...new Set([...this.members.keys(), ...this.probes.keys()])];
  }

  async detach(cluster: string): Promise<void> {
    this.probes.delete(cluster);
    const cur = this.members.get(cluster);
    this.members.delete(cluster);
    this.everything = true;
    await cur?.informer.stop();
  }

  /** The latest render (from each reconcile): which services, clusters and rendered aggregates to simulate. */
  setRender(render: DetailedRenderResult): void {
    if (render !== this.render && this.chain) {
      if (render.changes && render.changes.since === this.render) for (const ref of render.changes.refs) this.chain.refs.add(ref);
      else this.chain = undefined;
    }
    this.render = render;
    this.schedule();
  }

  /** Resolves once every attached member has listed its EndpointSlices once. */
  async waitSynced(): Promise<void> {
    while ([...this.probes.values()].some((p) => p.pending)) await new Promise<void>((r) => this.o.clock.setTimer(5, r));
    await Promise.all([...this.members.values()].map((m) => m.informer.waitSynced()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await Promise.all([...this.members.values()].map((m) => m.informer.stop()));
    this.members.clear();
    await this.running;
  }

  /** No publish running or scheduled. */
  get isIdle(): boolean {
    return this.timer === undefined && this.running === undefined;
  }

  /** Resolves when no publish is running or scheduled. */
  async idle(): Promise<void> {
    while (this.timer || this.running) {
      if (this.running) await this.running;
      else await new Promise<void>((r) => this.o.clock.setTimer(5, r));
    }
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = this.o.clock.setTimer(this.o.debounceMs ?? 100, () => {
      this.timer = undefined;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.publish().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    });
  }

  private async publish(): Promise<void> {
    try {
      const t0 = this.o.clock.now();
      const report = await this.publishNow();
      this.lastReport = report;
      this.o.log.debug('tier shares published', { durationMs: Math.round((this.o.clock.now() - t0) * 10) / 10, statusWrites: report.statusWrites, events: report.events.length });
    } catch (e) {
      this.o.log.warn('publishing tier shares failed', { error: describeError(e) });
      this.schedule();
    }
  }

  /** Endpoint counts of a Service in a member, from its informer; undefined until it listed. */
  endpoints(cluster: string, namespace: string, name: string): SliceCounts | undefined {
    const m = this.members.get(cluster);
    if (!m || !m.informer.synced) return undefined;
    return countSlices(m.slices.of(namespace, name));
  }

  /** Ready endpoints of a receiving cluster's gateway Service(s), found by the MeshCluster's gateway selector. */
  private gatewayOf(cluster: string, services: readonly KubeObject[] | undefined): { ready: number; total: number } | undefined {
    const m = this.members.get(cluster);
    const mc = this.render?.snapshot.clusters.get(cluster);
    if (!m || !m.informer.synced || !mc?.spec.gateway || !services) return undefined;
    const svcs = gatewayServices(services, mc.spec.gateway.selector ?? DEFAULTS.gatewaySelector);
    if (svcs.length === 0) return undefined;
    const n = countSlices(svcs.flatMap((svc) => m.slices.of(svc.metadata.namespace ?? '', svc.metadata.name)));
    return { ready: n.ready, total: n.ready + n.notReady };
  }

  /** Computes and publishes now. Exposed for tests and the controller's own loop. */
  async publishNow(): Promise<PublishReport> {
    this.publishes++;
    const report: PublishReport = { statusWrites: 0, events: [] };
    const render = this.render;
    if (!render) return report;
    // What changed since the last publish: the Services whose slices had events, the gateways whose counts differ,
    // the services the renders given since changed.
    const dirty = this.dirty;
    const everything = this.everything;
    const chain = this.chain;
    this.dirty = new Map();
    this.everything = false;
    this.chain = { from: render, refs: new Set() };
    // A receiving cluster's gateway is the same for every service: looked up once per publish.
    const gateways = new Map<string, { ready: number; total: number } | undefined>();
    const gatewayOf = (c: string): { ready: number; total: number } | undefined => {
      if (!gateways.has(c)) gateways.set(c, this.gatewayOf(c, this.o.services?.(c)));
      return gateways.get(c);
    };
    const gatewayKeys = new Map<string, string>();
    for (const c of this.members.keys()) {
      const g = gatewayOf(c);
      gatewayKeys.set(c, g ? `${g.ready}/${g.total}` : '-');
    }
    const lastGateways = this.lastGateways;
    this.lastGateways = gatewayKeys;
    // (Views carry their own identity: the render may be any later one.)
    const services: [string, string, string][] = [];
    for (const [c, keys] of dirty) {
      for (const k of keys) {
        const at = k.indexOf('/');
        services.push([c, k.slice(0, at), k.slice(at + 1)]);
      }
    }
    const unchanged: ServingUnchanged | undefined = everything
      ? undefined
      : {
          endpoints: (c, ns, n) => this.members.has(c) && !dirty.get(c)?.has(`${ns}/${n}`),
          gateway: (c) => gatewayKeys.get(c) === lastGateways.get(c),
          services,
          ...(chain ? { changed: { since: chain.from, refs: chain.refs } } : {}),
        };
    const hasService = this.o.hasService;
    // Computed in slices that give the event loop a turn (a restart's first pass simulates every service: seconds at
    // 10,000 services): a reconcile woken meanwhile runs between two slices instead of after the whole pass.
    const pass = servingPass({
      render,
      endpoints: (c, ns, n) => this.endpoints(c, ns, n),
      gateway: gatewayOf,
      ...(hasService ? { serviceGone: (c: string, ns: string, n: string) => hasService(c, ns, n) === false } : {}),
    }, this.memo, unchanged);
    let computed: ReadonlyMap<string, ServingClient[]>;
    try {
      const slice = new Slicer();
      for (let r = pass.next(); ; r = pass.next()) {
        if (r.done) {
          computed = r.value;
          break;
        }
        const turn = slice.turn();
        if (turn) {
          await turn;
          if (this.stopped) return report;
        }
      }
    } catch (e) {
      this.everything = true; // what was taken for this publish is looked at again
      throw e;
    }
    const diff = servingDifference(computed);
    this.refreshGauges(computed, diff && diff.since === this.gaugedFrom ? diff.refs : undefined);
    if (!this.o.isLeader()) {
      this.publishedResult = undefined;
      return report;
    }
    const now = this.o.clock.wallTime().toISOString().replace(/\.\d{3}Z$/, 'Z');
    // Only the services whose clients changed since the last publish (and those left unpublished then), when known.
    const refs: Iterable<string> = diff && diff.since === this.publishedResult ? new Set([...diff.refs, ...this.unpublished]) : computed.keys();
    this.publishedResult = computed;
    this.unpublished = new Set();
    // One task per service whose shares changed: its status patch, then its Events (an Event follows the status that
    // shows it). Services are written side by side, as many at once as the controller's other writers: a first publish
    // over every service of a fleet is one round trip per service and Event, one after the other it took minutes.
    const tasks: (() => Promise<void>)[] = [];
    const recorded: ServingEvent[][] = [];
    const slice = new Slicer();
    for (const ref of refs) {
      const turn = slice.turn();
      if (turn) await turn;
      const clients = computed.get(ref);
      if (!clients) continue;
      // Published from these very clients already (computeServing returns the same array while nothing changed).
      if (this.publishedFrom.get(ref) === clients) continue;
      const [, namespace, name] = ref.split('/') as [string, string, string];
      const fs = this.o.failoverService(namespace, name);
      if (!fs) {
        this.unpublished.add(ref);
        continue;
      }
      const prev = this.published.get(ref) ?? readServing(fs.status);
      const next = nextServingStatus(prev, clients, now);
      if (jsonEqual(prev ?? null, next)) {
        this.publishedFrom.set(ref, clients);
        continue;
      }
      const events = servingEvents(prev, next);
      const slot = recorded.push([]) - 1;
      tasks.push(async () => {
        try {
          // A merge patch of `serving` alone: the controller's own status keys are left as they are.
          await patchStatus(this.o.management, typeOfObject(fs), namespace, name, { serving: next }, undefined);
          report.statusWrites++;
        } catch (e) {
          this.o.log.warn('tier share status write failed', { failoverService: `${namespace}/${name}`, error: describeError(e) });
          this.unpublished.add(ref);
          return;
        }
        this.published.set(ref, next);
        this.publishedFrom.set(ref, clients);
        for (const ev of events) {
          recorded[slot]!.push(ev);
          await this.emitEvent(fs, ev, now);
        }
      });
    }
    await pool(tasks, this.o.concurrency ?? DEFAULT_PUBLISH_CONCURRENCY);
    // Reported in the order of the services, whichever write finished first.
    for (const evs of recorded) report.events.push(...evs);
    return report;
  }

  /**
   * Sets the gauges of the services whose clients changed, removes those of services no longer computed. `changed`:
   * the only refs whose clients may differ from the computation the gauges were last set from.
   */
  private refreshGauges(computed: ReadonlyMap<string, ServingClient[]>, changed?: ReadonlySet<string>): void {
    if (!this.share || !this.endpointsGauge) return;
    this.gaugedFrom = computed;
    if (changed) {
      for (const ref of changed) {
        const clients = computed.get(ref);
        const old = this.gauged.get(ref);
        if (old === clients) continue;
        if (old) this.eachSeries(ref, old, (gauge, labels) => gauge.remove(labels));
        if (clients) {
          this.eachSeries(ref, clients, (gauge, labels, v) => gauge.set(labels, v));
          this.gauged.set(ref, clients);
        } else this.gauged.delete(ref);
      }
      return;
    }
    for (const [ref, clients] of [...this.gauged]) {
      if (computed.get(ref) === clients) continue;
      // The series set from these clients, named again from them (not kept: 45 label sets per service at 5 clusters).
      this.eachSeries(ref, clients, (gauge, labels) => gauge.remove(labels));
      this.gauged.delete(ref);
    }
    for (const [ref, clients] of computed) {
      if (this.gauged.has(ref)) continue;
      this.eachSeries(ref, clients, (gauge, labels, v) => gauge.set(labels, v));
      this.gauged.set(ref, clients);
    }
  }

  /** Every gauge series of one service's clients, with its value. */
  private eachSeries(ref: string, clients: readonly ServingClient[], f: (gauge: Gauge, labels: Record<string, string>, v: number) => void): void {
    const fs = ref.slice('FailoverService/'.length);
    for (const c of clients) {
      for (const t of c.tiers) if (this.share) f(this.share, { failover_service: fs, client: c.client, tier: t.cluster }, t.percent);
      if (this.spilled) f(this.spilled, { failover_service: fs, client: c.client }, c.tiers.filter((t) => t.cluster !== c.client).reduce((a, t) => a + t.percent, 0));
      if (this.failing) f(this.failing, { failover_service: fs, client: c.client }, c.failingPercent);
    }
    const seen = new Set<string>();
    for (const c of clients) {
      for (const t of c.tiers) {
        if (seen.has(t.cluster) || !this.endpointsGauge) continue;
        seen.add(t.cluster);
        f(this.endpointsGauge, { failover_service: fs, cluster: t.cluster, state: 'healthy' }, t.healthy);
        f(this.endpointsGauge, { failover_service: fs, cluster: t.cluster, state: 'total' }, t.total);
      }
    }
  }

  private async emitEvent(fs: KubeObject, ev: ServingEvent, now: string): Promise<void> {
    const ns = fs.metadata.namespace ?? 'default';
    const stamp = now.replace(/[-:TZ]/g, '').toLowerCase();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${fs.metadata.name}.${stamp}.${ev.client}.${Math.random().toString(36).slice(2, 8)}`.slice(0, 253), namespace: ns, annotations: eventAnnotations(ev.code, ev.params) },
      involvedObject: { apiVersion: API_VERSION, kind: 'FailoverService', name: fs.metadata.name, namespace: ns, ...(fs.metadata.uid ? { uid: fs.metadata.uid } : {}) },
      reason: ev.reason,
      message: ev.message,
      type: ev.type,
      source: { component: this.o.component ?? 'spillway-controller' },
      reportingComponent: this.o.component ?? 'spillway-controller',
      reportingInstance: ev.client,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await createEvent(this.o.management, ns, event);
    } catch (e) {
      this.o.log.warn('could not record Event', { failoverService: `${ns}/${fs.metadata.name}`, reason: ev.reason, error: describeError(e) });
    }
  }
}
