/** The typed, validated input one render reads: what analysis builds and what checks and plans resolve against. */
import type { FailoverService, KubeObject, MeshCluster, MeshWorkload, MeshWorkloadGrant } from '../api/types.ts';

/** Settings of one render that are not in the documents (CLI flags, controller flags). */
export interface RenderPolicy {
  /**
   * Suffixes a FailoverService's `spec.hostname` may end with, after its own namespace:
   * `<anything>.<namespace>.<suffix>`. @default ['global']
   */
  hostSuffixes: readonly string[];
  /**
   * Hosts of the mesh's own ServiceEntries (not Spillway's), lower case, each with where it was seen
   * (`ServiceEntry ns/name in cluster2`): a FailoverService's global host may not be one of them.
   */
  foreignHosts?: ReadonlyMap<string, string>;
}

export const DEFAULT_HOST_SUFFIXES: readonly string[] = ['global'];
export const DEFAULT_POLICY: RenderPolicy = { hostSuffixes: DEFAULT_HOST_SUFFIXES };

export interface Snapshot {
  clusters: Map<string, MeshCluster>;
  /** Keyed by `namespace/name`. */
  workloads: Map<string, MeshWorkload>;
  /** Valid MeshWorkloadGrants, by the namespace they are in (the namespace they grant access to). */
  grants?: Map<string, MeshWorkloadGrant[]>;
  /** The render's policy (host suffixes); set by the render, DEFAULT_POLICY otherwise. */
  policy?: RenderPolicy;
  /** Valid FailoverServices, oldest first (creationTimestamp, then namespace/name). */
  services: FailoverService[];
  /** References of documents that were read but rejected, so dependents can say why they fail. */
  rejected: Set<string>;
  /**
   * Content fingerprint of each accepted object (identity, creationTimestamp and spec; not status or server
   * metadata): what a render cache keys on, since it is everything translation reads. Filled only with a cache.
   */
  fingerprints: ReadonlyMap<KubeObject, string>;
}
