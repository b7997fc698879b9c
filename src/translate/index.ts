/** Translates one plan into objects per cluster. Pure: the parent only loops over plans. */
import type { KubeObject } from '../api/types.ts';
import type { FailoverPlan } from './plan.ts';
import { globalServiceEntry, remoteServiceEntry } from './service-entry.ts';
import { localDestinationRule, remoteDestinationRule } from './destination-rule.ts';
import { envoyFilter } from './envoy-filter.ts';
import { receivingGateway } from './gateway.ts';
import { receivingVirtualService } from './virtual-service.ts';

export function translatePlan(plan: FailoverPlan): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  const add = (cluster: string, o: KubeObject) => {
    const list = out.get(cluster);
    if (list) list.push(o);
    else out.set(cluster, [o]);
  };
  // Every cluster that hosts a workload is a client served local-first...
  for (const client of plan.clients) {
    const c = client.local.clusterName;
    add(c, globalServiceEntry(plan, client));
    for (const r of client.remotes) {
      add(c, remoteServiceEntry(plan, client, r));
      add(c, remoteDestinationRule(plan, client, r));
    }
    add(c, localDestinationRule(plan, client));
    add(c, envoyFilter(plan, client));
  }
  // ...and, being a remote of every other client, receives their spill-over.
  for (const t of plan.targets) {
    add(t.clusterName, receivingGateway(plan, t));
    add(t.clusterName, receivingVirtualService(plan, t));
  }
  return out;
}

export { buildPlan } from './plan.ts';
export type { FailoverPlan, ClientView, ClusterTarget, RemoteTier } from './plan.ts';
