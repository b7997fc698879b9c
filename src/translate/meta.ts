import type { KubeObject } from '../api/types.ts';
import { ANNOTATION_REMOTE_CLUSTER, ANNOTATION_ROLE, LABEL_CLUSTER, LABEL_MANAGED_BY, LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE, MANAGED_BY_VALUE } from '../api/types.ts';
import type { FailoverPlan } from './plan.ts';

export type Role = 'client' | 'receiver';

/** An emitted object: apiVersion, kind and metadata first, owner and target cluster in its labels. */
export function istioObject(apiVersion: string, kind: string, name: string, namespace: string, plan: FailoverPlan, cluster: string, role: Role, spec: Record<string, unknown>, remoteCluster?: string): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_CLUSTER]: cluster,
        [LABEL_OWNER_NAME]: plan.fs.metadata.name,
        [LABEL_OWNER_NAMESPACE]: plan.fs.metadata.namespace ?? 'default',
      },
      annotations: remoteCluster === undefined ? { [ANNOTATION_ROLE]: role } : { [ANNOTATION_REMOTE_CLUSTER]: remoteCluster, [ANNOTATION_ROLE]: role },
    },
    spec,
  };
}
