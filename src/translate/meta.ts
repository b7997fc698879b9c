import type { KubeObject } from '../api/types.ts';
import { ANNOTATION_REMOTE_CLUSTER, ANNOTATION_ROLE, LABEL_CLUSTER, LABEL_MANAGED_BY, LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE, MANAGED_BY_VALUE } from '../api/types.ts';
import { ANNOTATION_OWNER, ownerId } from '../api/ownership.ts';
import type { FailoverPlan } from '../model/plan.ts';

export type Role = 'client' | 'receiver';

/**
 * Metadata shared by every object one plan emits into one cluster. Emitted objects share these (and other
 * per-plan) sub-objects to keep large renders light: treat rendered objects as read-only, clone before editing.
 */
export interface ClusterMeta {
  cluster: string;
  /** Emit outlines: identity (apiVersion, kind, name, namespace) and spec only, no labels or annotations. */
  outline?: boolean;
  labels: Record<string, string>;
  client: Record<string, string>;
  receiver: Record<string, string>;
}

export function clusterMeta(plan: FailoverPlan, cluster: string, outline = false): ClusterMeta {
  return {
    cluster,
    ...(outline ? { outline } : {}),
    labels: {
      [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
      [LABEL_CLUSTER]: cluster,
      [LABEL_OWNER_NAME]: plan.fs.metadata.name,
      [LABEL_OWNER_NAMESPACE]: plan.fs.metadata.namespace ?? 'default',
    },
    client: { [ANNOTATION_ROLE]: 'client' },
    receiver: { [ANNOTATION_ROLE]: 'receiver' },
  };
}

export function remoteAnnotations(remoteCluster: string): Record<string, string> {
  return { [ANNOTATION_REMOTE_CLUSTER]: remoteCluster, [ANNOTATION_ROLE]: 'client' };
}

/**
 * An emitted object: apiVersion, kind and metadata first, owner and target cluster in its labels, and the
 * `spillway.dev/owner` annotation that lets the controller tell its own objects from look-alikes.
 */
export function istioObject(apiVersion: string, kind: string, name: string, namespace: string, meta: ClusterMeta, annotations: Record<string, string>, spec: Record<string, unknown>): KubeObject {
  if (meta.outline === true) return { apiVersion, kind, metadata: { name, namespace }, spec };
  // Copied key by key rather than spread: objects built this way share one hidden class per set of keys, where a
  // spread with a computed key gave each object its own (a tenth of a large render's memory).
  const notes: Record<string, string> = {};
  for (const k in annotations) notes[k] = annotations[k] as string;
  notes[ANNOTATION_OWNER] = ownerId(meta.cluster, kind, namespace, name);
  return { apiVersion, kind, metadata: { name, namespace, labels: meta.labels, annotations: notes }, spec };
}
