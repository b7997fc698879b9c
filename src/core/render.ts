/**
 * The one pipeline behind `render`, `validate`, `simulate` and the controller: documents -> snapshot ->
 * per-service checks -> plans -> mesh-wide checks -> translation -> objects per cluster. Validation is this same
 * run with the objects thrown away, so the two can never disagree. Pure: no I/O.
 */
import type { KubeObject } from '../api/types.ts';
import { Reporter, MSG, cmp } from '../analyze/messages.ts';
import type { Message } from '../analyze/messages.ts';
import { buildSnapshot } from '../analyze/snapshot.ts';
import type { Snapshot, SourcedDocument } from '../analyze/snapshot.ts';
import { resolveContext } from '../analyze/context.ts';
import { CHECKS } from '../analyze/checks/index.ts';
import { checkMesh } from '../analyze/mesh.ts';
import { buildPlan, translatePlan } from '../translate/index.ts';
import type { FailoverPlan } from '../translate/index.ts';

export interface RenderResult {
  /** Objects per target cluster, every valid MeshCluster present (possibly with none). Sorted. */
  clusters: Record<string, KubeObject[]>;
  messages: Message[];
}

export interface ServiceOutcome {
  ref: string;
  namespace: string;
  name: string;
  accepted: boolean;
  /** Per cluster: what it does for this service and the tiers its clients use. Empty when not accepted. */
  clusters: { name: string; roles: ('client' | 'receiver')[]; failoverOrder: string[] }[];
  globalHost?: string;
  address?: string;
}

export interface DetailedRenderResult extends RenderResult {
  services: ServiceOutcome[];
  snapshot: Snapshot;
}

const KIND_ORDER: Record<string, number> = { ServiceEntry: 0, DestinationRule: 1, EnvoyFilter: 2, Gateway: 3, VirtualService: 4 };

function sortKey(o: KubeObject): string {
  return `${String(KIND_ORDER[o.kind] ?? 99).padStart(2, '0')}\u0000${o.kind}\u0000${o.metadata.namespace ?? ''}\u0000${o.metadata.name}`;
}

/** Sorts objects as compareObjects does, computing each key once. */
export function sortObjects(objs: KubeObject[]): KubeObject[] {
  return objs
    .map((o) => ({ k: sortKey(o), o }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.o);
}

export function compareObjects(a: KubeObject, b: KubeObject): number {
  return (
    (KIND_ORDER[a.kind] ?? 99) - (KIND_ORDER[b.kind] ?? 99) ||
    cmp(a.kind, b.kind) ||
    cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    cmp(a.metadata.name, b.metadata.name)
  );
}

function asSourced(docs: readonly unknown[] | readonly SourcedDocument[]): SourcedDocument[] {
  return docs.map((d) => (typeof d === 'object' && d !== null && 'value' in d && Object.keys(d).every((k) => k === 'value' || k === 'source') ? (d as SourcedDocument) : { value: d }));
}

/** Renders documents (raw objects, or `{value, source}` pairs) into Istio objects per cluster, with messages. */
export function render(docs: readonly unknown[] | readonly SourcedDocument[]): RenderResult {
  const { clusters, messages } = renderDetailed(docs);
  return { clusters, messages };
}

export function renderDetailed(docs: readonly unknown[] | readonly SourcedDocument[]): DetailedRenderResult {
  const reporter = new Reporter();
  const snapshot = buildSnapshot(asSourced(docs), reporter);

  const plans: FailoverPlan[] = [];
  for (const fs of snapshot.services) {
    const ctx = resolveContext(fs, snapshot);
    for (const check of CHECKS) check.run(ctx, reporter);
    if (!reporter.hasErrors(ctx.ref)) plans.push(buildPlan(ctx));
  }
  const survivors = checkMesh(plans, reporter);

  // Translate; a service whose objects would collide with an older service's is rejected whole.
  const owners = new Map<string, string>();
  const perCluster = new Map<string, KubeObject[]>();
  const accepted = new Map<string, FailoverPlan>();
  for (const plan of survivors) {
    const out = translatePlan(plan);
    const keys: string[] = [];
    let clash: string | undefined;
    for (const [cluster, objs] of out) {
      for (const o of objs) {
        const key = `${cluster}\u0000${o.kind}\u0000${o.metadata.namespace ?? ''}\u0000${o.metadata.name}`;
        const owner = owners.get(key);
        if (owner !== undefined) clash ??= `${o.kind} ${o.metadata.namespace}/${o.metadata.name} in cluster ${cluster} is already written for ${owner}`;
        keys.push(key);
      }
    }
    if (clash !== undefined) {
      reporter.report(MSG.ObjectConflict, plan.ref, clash);
      continue;
    }
    for (const k of keys) owners.set(k, plan.ref);
    for (const [cluster, objs] of out) {
      const list = perCluster.get(cluster);
      if (list) list.push(...objs);
      else perCluster.set(cluster, [...objs]);
    }
    accepted.set(plan.ref, plan);
  }

  const clusters: Record<string, KubeObject[]> = {};
  for (const name of [...new Set([...snapshot.clusters.keys(), ...perCluster.keys()])].sort(cmp)) {
    clusters[name] = sortObjects(perCluster.get(name) ?? []);
  }

  const services = snapshot.services.map((fs): ServiceOutcome => {
    const ref = `FailoverService/${fs.metadata.namespace ?? 'default'}/${fs.metadata.name}`;
    const plan = accepted.get(ref);
    const base = { ref, namespace: fs.metadata.namespace ?? 'default', name: fs.metadata.name };
    if (!plan) return { ...base, accepted: false, clusters: [] };
    return {
      ...base,
      accepted: true,
      globalHost: plan.globalHost,
      address: plan.address,
      clusters: plan.clients.map((c) => ({
        name: c.local.clusterName,
        roles: ['client', 'receiver'] as ('client' | 'receiver')[],
        failoverOrder: [c.local.clusterName, ...c.remotes.map((r) => r.target.clusterName)],
      })),
    };
  });

  return { clusters, messages: reporter.sorted(), services, snapshot };
}

export function hasErrors(messages: readonly Message[]): boolean {
  return messages.some((m) => m.level === 'error');
}
