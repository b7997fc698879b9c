import type { KubeObject } from '../api/types.ts';
import type { ANNOTATION_REMOTE_CLUSTER, ANNOTATION_ROLE, LABEL_CLUSTER, LABEL_MANAGED_BY, LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE } from '../api/types.ts';
import { MANAGED_BY_VALUE } from '../api/types.ts';
import type { ANNOTATION_OWNER } from '../api/ownership.ts';
import { ownerId } from '../api/ownership.ts';
import type { FailoverPlan } from '../model/plan.ts';

export type Role = 'client' | 'receiver';

/**
 * Metadata shared by every object one plan emits into one cluster. Emitted objects share these (and other
 * per-plan) sub-objects to keep large renders light: treat rendered objects as read-only, clone before editing.
 */
export interface ClusterMeta {
  cluster: string;
  /** Emit outlines: identity (apiVersion, kind, name, namespace) only, no labels, annotations or spec. */
  outline: boolean;
  labels: Record<string, string>;
}

// Objects below are written as literals with every key at creation (the keys spelled out, checked against the
// constants by `satisfies`): such objects share one hidden class and serialize fastest, where computed keys or
// keys added one by one after creation cost a large render a tenth of its time.
type Labels = Record<typeof LABEL_MANAGED_BY | typeof LABEL_CLUSTER | typeof LABEL_OWNER_NAME | typeof LABEL_OWNER_NAMESPACE, string>;
type Notes = Record<typeof ANNOTATION_ROLE | typeof ANNOTATION_OWNER, string>;
type RemoteNotes = Record<typeof ANNOTATION_REMOTE_CLUSTER | typeof ANNOTATION_ROLE | typeof ANNOTATION_OWNER, string>;

const NO_LABELS: Record<string, string> = Object.freeze({});

export function clusterMeta(plan: FailoverPlan, cluster: string, outline = false): ClusterMeta {
  const labels = outline
    ? NO_LABELS
    : ({
        'app.kubernetes.io/managed-by': MANAGED_BY_VALUE,
        'spillway.dev/cluster': cluster,
        'spillway.dev/failover-service': plan.fs.metadata.name,
        'spillway.dev/failover-service-namespace': plan.fs.metadata.namespace ?? 'default',
      } satisfies Labels);
  return { cluster, outline, labels };
}

/**
 * An emitted object: apiVersion, kind and metadata first, owner and target cluster in its labels, its role (and the
 * remote cluster it stands for, if any) and the `spillway.dev/owner` annotation that lets the controller tell its own
 * objects from look-alikes.
 */
export function istioObject(apiVersion: string, kind: string, name: string, namespace: string, meta: ClusterMeta, role: Role, remoteCluster: string | undefined, spec: Record<string, unknown>): KubeObject {
  const owner = ownerId(meta.cluster, kind, namespace, name);
  const annotations: Record<string, string> =
    remoteCluster === undefined
      ? ({ 'spillway.dev/role': role, 'spillway.dev/owner': owner } satisfies Notes)
      : ({ 'spillway.dev/remote-cluster': remoteCluster, 'spillway.dev/role': role, 'spillway.dev/owner': owner } satisfies RemoteNotes);
  return { apiVersion, kind, metadata: { name, namespace, labels: meta.labels, annotations }, spec };
}

/** The identity of an object, for a pass that only needs to know which objects a plan writes (see ClusterMeta.outline). */
export function outlineObject(apiVersion: string, kind: string, name: string, namespace: string): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace } };
}
