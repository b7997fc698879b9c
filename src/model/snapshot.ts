/** The typed, validated input one render reads: what analysis builds and what checks and plans resolve against. */
import type { FailoverService, KubeObject, MeshCluster, MeshWorkload } from '../api/types.ts';

export interface Snapshot {
  clusters: Map<string, MeshCluster>;
  /** Keyed by `namespace/name`. */
  workloads: Map<string, MeshWorkload>;
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
