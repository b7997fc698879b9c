/**
 * Builds a CheckSnapshot: renders the Spillway inputs (pure), works out what each member cluster must be asked,
 * connects through a caller-supplied function and gathers every cluster in parallel.
 */
import type { KubeObject, MeshCluster } from '../api/types.ts';
import { renderDetailed } from '../core/render.ts';
import type { DetailedRenderResult } from '../core/render.ts';
import type { SourcedDocument } from '../analyze/snapshot.ts';
import type { KubeClient } from '../kube/client.ts';
import { gatherCluster, gatherManagement } from './gather.ts';
import type { ClusterNeeds, GatherTarget } from './gather.ts';
import type { CheckSnapshot, ClusterFacts, ManagementFacts } from './types.ts';
import { rootNamespace, serviceViews } from './view.ts';

export interface SnapshotOptions {
  /** The Spillway inputs, rendered here; or `render`, already rendered (the controller's last reconcile). */
  docs?: readonly SourcedDocument[];
  render?: DetailedRenderResult;
  /** Read Istio's remote secrets' names and labels in members (default true; the controller may not). */
  remoteSecrets?: boolean;
  /** Gather every MeshCluster, also those no FailoverService uses (default: only those used, or all when none is). */
  allClusters?: boolean;
  /** A client for a member cluster, or why there is none. Called once per MeshCluster. */
  connect: (name: string, mc: MeshCluster) => Promise<GatherTarget | { error: string; via: string }>;
  management?: { client: KubeClient; via: string; namespace: string };
  now?: () => Date;
}

export async function buildCheckSnapshot(o: SnapshotOptions): Promise<{ snapshot: CheckSnapshot; targets: GatherTarget[] }> {
  const render = o.render ?? renderDetailed(o.docs ?? []);
  const meshClusters = [...render.snapshot.clusters.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const partial: CheckSnapshot = { render, meshClusters, clusters: {}, now: (o.now ?? (() => new Date()))() };
  const views = serviceViews(partial);
  const used = new Set(views.flatMap((v) => v.clusters.map((c) => c.cluster)));
  const targets: GatherTarget[] = [];
  const facts = await Promise.all(
    meshClusters
      .filter((mc) => o.allClusters || used.has(mc.metadata.name) || views.length === 0)
      .map(async (mc): Promise<ClusterFacts> => {
        const name = mc.metadata.name;
        const needs: ClusterNeeds = { rootNamespace: rootNamespace(mc), serviceNamespaces: [], clientSelectors: [], ...(o.remoteSecrets === false ? { remoteSecrets: false } : {}) };
        for (const v of views) {
          for (const c of v.clusters) {
            if (c.cluster !== name) continue;
            needs.serviceNamespaces.push(c.serviceNamespace);
            if (c.roles.includes('client') && v.clientSelector) needs.clientSelectors.push(v.clientSelector);
          }
        }
        let t: GatherTarget | { error: string; via: string };
        try {
          t = await o.connect(name, mc);
        } catch (e) {
          t = { error: (e as Error).message ?? String(e), via: 'kubeconfig' };
        }
        if ('error' in t) return unreachable(name, t.via, t.error);
        targets.push(t);
        return gatherCluster(t, needs);
      }),
  );
  const clusters: Record<string, ClusterFacts> = {};
  for (const f of facts.sort((a, b) => (a.name < b.name ? -1 : 1))) clusters[f.name] = f;
  let management: ManagementFacts | undefined;
  if (o.management) management = await gatherManagement(o.management.client, o.management.via, o.management.namespace);
  return { snapshot: { ...partial, clusters, ...(management ? { management } : {}) }, targets };
}

function unreachable(name: string, via: string, error: string): ClusterFacts {
  const none = { items: [] as KubeObject[], error: 'cluster unreachable' };
  return {
    name, via, unreachable: error, istioApi: { versions: {} },
    namespaces: none, rootConfigMaps: none, rootDeployments: none, rootPods: none, dnsConfigMaps: none, services: none, pods: none, nodes: none, remoteSecrets: none, roots: {},
    destinationRules: none, virtualServices: none, sidecars: none, gateways: none,
  };
}
