/** Translates one plan into objects per cluster. Pure: the parent only loops over plans. */
import type { KubeObject } from '../api/types.ts';
import type { ClientOnlyView, ClientView, FailoverPlan } from '../model/plan.ts';
import { globalServiceEntry, localServiceEntry, remoteServiceEntry } from './service-entry.ts';
import { localDestinationRule, remoteDestinationRule } from './destination-rule.ts';
import { envoyFilter } from './envoy-filter.ts';
import { receivingGateway } from './gateway.ts';
import { receivingVirtualService } from './virtual-service.ts';
import { clusterMeta, remoteAnnotations } from './meta.ts';
import type { ClusterMeta } from './meta.ts';

/**
 * The plan's objects per cluster it targets. With `only`, just that cluster's (the very objects, in the same
 * order, the full translation gives it): one-shot renders translate a cluster at a time to stay small. With
 * `outline`, the same objects without labels and annotations (their owner digests are the dearest part): for a pass
 * that only needs to know which objects the plan writes.
 */
export function translatePlan(plan: FailoverPlan, only?: string, outline = false): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  const metas = new Map<string, ClusterMeta>();
  const remoteNotes = new Map<string, Record<string, string>>();
  for (const t of plan.targets) {
    remoteNotes.set(t.clusterName, remoteAnnotations(t.clusterName));
    if (only !== undefined && t.clusterName !== only) continue;
    metas.set(t.clusterName, clusterMeta(plan, t.clusterName, outline));
    out.set(t.clusterName, []);
  }
  for (const c of plan.clientOnly) {
    if (only !== undefined && c.local.clusterName !== only) continue;
    metas.set(c.local.clusterName, clusterMeta(plan, c.local.clusterName, outline));
    out.set(c.local.clusterName, []);
  }
  /** What every client cluster gets: the global host, and a ServiceEntry and DestinationRule per remote tier. */
  const pushGlobalAndRemotes = (list: KubeObject[], client: ClientView | ClientOnlyView, meta: ClusterMeta): void => {
    list.push(globalServiceEntry(plan, client, meta));
    for (const r of client.remotes) {
      const notes = remoteNotes.get(r.target.clusterName);
      list.push(remoteServiceEntry(plan, client, r, meta, notes), remoteDestinationRule(plan, client, r, meta, notes));
    }
  };
  // Every cluster that hosts a workload is a client served local-first...
  for (const client of plan.clients) {
    const c = client.local.clusterName;
    if (only !== undefined && c !== only) continue;
    const meta = metas.get(c) as ClusterMeta;
    const list = out.get(c) as KubeObject[];
    pushGlobalAndRemotes(list, client, meta);
    const localEntry = localServiceEntry(plan, client, meta);
    if (localEntry) list.push(localEntry);
    list.push(localDestinationRule(plan, client, meta), envoyFilter(plan, client, meta));
  }
  // A cluster that lost its workload keeps its clients: the global host, every remaining tier remote.
  for (const client of plan.clientOnly) {
    const c = client.local.clusterName;
    if (only !== undefined && c !== only) continue;
    const meta = metas.get(c) as ClusterMeta;
    const list = out.get(c) as KubeObject[];
    pushGlobalAndRemotes(list, client, meta);
    list.push(envoyFilter(plan, client, meta));
  }
  // ...and, being a remote of every other client, receives their spill-over.
  for (const t of plan.targets) {
    if (only !== undefined && t.clusterName !== only) continue;
    const meta = metas.get(t.clusterName) as ClusterMeta;
    (out.get(t.clusterName) as KubeObject[]).push(receivingGateway(plan, t, meta), receivingVirtualService(plan, t, meta));
  }
  return out;
}
