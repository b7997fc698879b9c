/** Translates one plan into objects per cluster. Pure: the parent only loops over plans. */
import type { KubeObject } from '../api/types.ts';
import type { ClientOnlyView, ClientView, FailoverPlan } from '../model/plan.ts';
import { globalServiceEntry, localServiceEntry, remoteServiceEntry } from './service-entry.ts';
import { localDestinationRule, remoteDestinationRule } from './destination-rule.ts';
import { envoyFilter } from './envoy-filter.ts';
import { receivingGateway } from './gateway.ts';
import { receivingVirtualService } from './virtual-service.ts';
import { clusterMeta } from './meta.ts';
import type { ClusterMeta } from './meta.ts';

/**
 * The plan's objects per cluster it targets. With `only`, just that cluster's (the very objects, in the same
 * order, the full translation gives it): one-shot renders translate a cluster at a time to stay small. With
 * `outline`, only the objects' identities (apiVersion, kind, name, namespace): for a pass that only needs to know
 * which objects the plan writes. With `kind`, only the objects of that kind (in the same order).
 */
export function translatePlan(plan: FailoverPlan, only?: string, outline = false, kind?: string): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  for (const t of plan.targets) if (only === undefined || t.clusterName === only) out.set(t.clusterName, translateFor(plan, t.clusterName, outline, kind));
  for (const c of plan.clientOnly) {
    const name = c.local.clusterName;
    if (only === undefined || name === only) out.set(name, translateFor(plan, name, outline, kind));
  }
  return out;
}

/**
 * The plan's objects in one cluster (none when it does not write there), as `translatePlan(plan)` gives them. With
 * `kind`, only that kind's: a stream in output order, which is kind by kind, translates a plan once per kind.
 */
export function translateFor(plan: FailoverPlan, cluster: string, outline = false, kind?: string): KubeObject[] {
  const list: KubeObject[] = [];
  const target = plan.targets.find((t) => t.clusterName === cluster);
  const clientOnly = target ? undefined : plan.clientOnly.find((c) => c.local.clusterName === cluster);
  if (!target && !clientOnly) return list;
  const meta = clusterMeta(plan, cluster, outline);
  const se = kind === undefined || kind === 'ServiceEntry';
  const dr = kind === undefined || kind === 'DestinationRule';
  const ef = kind === undefined || kind === 'EnvoyFilter';
  // What every client cluster gets: the global host, and a ServiceEntry and DestinationRule per remote tier.
  const globalAndRemotes = (client: ClientView | ClientOnlyView): void => {
    if (se) list.push(globalServiceEntry(plan, client, meta));
    if (!se && !dr) return;
    for (const r of client.remotes) {
      if (se) list.push(remoteServiceEntry(plan, client, r, meta));
      if (dr) list.push(remoteDestinationRule(plan, client, r, meta));
    }
  };
  if (target) {
    // Every cluster that hosts a workload is a client served local-first...
    const client = plan.clients.find((c) => c.local === target);
    if (client) {
      globalAndRemotes(client);
      const localEntry = se ? localServiceEntry(plan, client, meta) : undefined;
      if (localEntry) list.push(localEntry);
      if (dr) list.push(localDestinationRule(plan, client, meta));
      if (ef) list.push(envoyFilter(plan, client, meta));
    }
    // ...and, being a remote of every other client, receives their spill-over.
    if (kind === undefined || kind === 'Gateway') list.push(receivingGateway(plan, target, meta));
    if (kind === undefined || kind === 'VirtualService') list.push(receivingVirtualService(plan, target, meta));
  } else if (clientOnly) {
    // A cluster that lost its workload keeps its clients: the global host, every remaining tier remote.
    globalAndRemotes(clientOnly);
    if (ef) list.push(envoyFilter(plan, clientOnly, meta));
  }
  return list;
}

export type { ClusterMeta };
