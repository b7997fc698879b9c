/**
 * RBAC of the controller (management cluster) and of the identity its member-cluster kubeconfigs use.
 * Least privilege: read what the controller reads, write only what it writes. `test/install/rbac.test.ts`
 * checks these rules against the API calls in the controller's code.
 */
import { GROUP } from '../api/types.ts';
import type { KubeObject } from '../api/types.ts';
import { CONTROLLER_NAME, ISTIO_GROUP, ISTIO_RESOURCES, MEMBER_NAME, baseLabels } from './common.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * Informers list and watch; nothing reads these kinds one by one (a `get` nobody calls is not granted: the suite
 * against a real API server fails on a rule the controller never used).
 */
const READ = ['list', 'watch'];
/**
 * The controller writes with server-side apply (a PATCH, authorized as `create` when the object does not exist
 * yet) and prunes with DELETE; it never PUTs these objects.
 */
// get: the executor reads an object before replacing one it does not own yet (executor.ts).
const APPLY_PRUNE = ['get', 'list', 'watch', 'create', 'patch', 'delete'];
/** MeshWorkloads are written from the informer's view alone: no single-object reads. */
const APPLY_PRUNE_NO_GET = ['list', 'watch', 'create', 'patch', 'delete'];

/** Cluster-wide rules of the controller in the management cluster. */
export function controllerClusterRules(): PolicyRule[] {
  return [
    // Inputs: clusters, failover services and grants are read; MeshWorkloads are also written by service discovery.
    { apiGroups: [GROUP], resources: ['failoverservices', 'meshclusters', 'meshworkloadgrants'], verbs: READ },
    { apiGroups: [GROUP], resources: ['meshworkloads'], verbs: APPLY_PRUNE_NO_GET },
    // Status is written with merge patches on the status subresource only.
    { apiGroups: [GROUP], resources: ['failoverservices/status', 'meshclusters/status'], verbs: ['patch'] },
    // Service discovery in the management cluster (when it is also a member).
    { apiGroups: [''], resources: ['services'], verbs: READ },
    // Live tier shares: endpoints of the workloads and gateways (the management cluster as a member), and Events
    // on FailoverServices when a client's serving tier changes.
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    // The management cluster can be a member too: the controller then applies Istio objects in it.
    { apiGroups: [ISTIO_GROUP], resources: [...ISTIO_RESOURCES], verbs: APPLY_PRUNE },
  ];
}

/** Rules of the controller inside its own namespace only. */
export function controllerNamespaceRules(): PolicyRule[] {
  return [
    // Member clusters' kubeconfigs: readable only in the controller's namespace.
    { apiGroups: [''], resources: ['secrets'], verbs: READ },
    // Leader election.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
  ];
}

/** What the identity in a member cluster's kubeconfig needs there. */
export function memberClusterRules(): PolicyRule[] {
  return [
    { apiGroups: [ISTIO_GROUP], resources: [...ISTIO_RESOURCES], verbs: APPLY_PRUNE },
    { apiGroups: [''], resources: ['services'], verbs: READ },
    // Live tier shares: the workloads' and gateways' endpoints.
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
  ];
}

export function clusterRole(name: string, rules: PolicyRule[], component: string): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: baseLabels(component) }, rules };
}

/** Binds the ServiceAccount `name` in `namespace` to the (Cluster)Role of the same name. */
function binding(kind: 'ClusterRoleBinding' | 'RoleBinding', name: string, namespace: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: kind === 'RoleBinding' ? { name, namespace, labels } : { name, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: kind === 'RoleBinding' ? 'Role' : 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  };
}

/**
 * Objects to apply in a member cluster: a ServiceAccount with the member ClusterRole and a long-lived token
 * Secret that `docs/install.md` turns into the kubeconfig `spillway cluster register` embeds.
 */
export function memberRbacManifests(namespace: string): KubeObject[] {
  const labels = baseLabels('member');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: MEMBER_NAME, namespace, labels } },
    clusterRole(MEMBER_NAME, memberClusterRules(), 'member'),
    binding('ClusterRoleBinding', MEMBER_NAME, namespace, labels),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: `${MEMBER_NAME}-token`, namespace, labels, annotations: { 'kubernetes.io/service-account.name': MEMBER_NAME } },
    },
  ];
}

export function controllerRbacManifests(namespace: string): KubeObject[] {
  const labels = baseLabels('controller');
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CONTROLLER_NAME, namespace, labels } },
    clusterRole(CONTROLLER_NAME, controllerClusterRules(), 'controller'),
    binding('ClusterRoleBinding', CONTROLLER_NAME, namespace, labels),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: CONTROLLER_NAME, namespace, labels }, rules: controllerNamespaceRules() },
    binding('RoleBinding', CONTROLLER_NAME, namespace, labels),
  ];
}
