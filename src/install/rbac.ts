/**
 * RBAC of the controller (management cluster) and of the identity its member-cluster kubeconfigs use.
 * Least privilege: read what the controller reads, write only what it writes. `test/install/rbac.test.ts`
 * checks these rules against the API calls in the controller's code.
 */
import { GROUP } from '../api/types.ts';
import type { KubeObject } from '../api/types.ts';
import { CONTROLLER_NAME, DEFAULT_ROOT_NAMESPACE, ISTIO_GROUP, ISTIO_RESOURCES, MEMBER_NAME, baseLabels } from './common.ts';

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
const WRITE = ['get', 'create', 'patch', 'delete'];
/** MeshWorkloads are written from the informer's view alone: no single-object reads. */
const APPLY_PRUNE_NO_GET = ['list', 'watch', 'create', 'patch', 'delete'];

/**
 * The continuous checks (src/controller/checks.ts, reading through src/check/gather.ts): namespaces (injection
 * labels), ConfigMaps (mesh config, istio-ca-root-cert, CoreDNS), Istio's Deployments and pods (versions, DNS
 * capture), nodes (NodePort addresses) and Sidecars. Reads only, and never Secrets: SPC164 (Istio's remote
 * secrets) is left to `spillway check` run with the user's own credentials.
 */
function checkRules(): PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['namespaces', 'nodes', 'pods'], verbs: ['list'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list'] },
    { apiGroups: [ISTIO_GROUP], resources: ['sidecars'], verbs: ['list'] },
  ];
}

/**
 * Cluster-wide rules of the controller in the management cluster: its inputs, their status, MeshWorkloads and
 * Events (on FailoverServices, in their own namespaces). No Istio kind, no Service, no EndpointSlice: those are a
 * member's, granted here only when the management cluster registers itself as one (`managementMemberManifests`).
 */
export function controllerClusterRules(): PolicyRule[] {
  return [
    // Inputs: clusters, failover services and grants are read; MeshWorkloads are also written by service discovery.
    { apiGroups: [GROUP], resources: ['failoverservices', 'meshclusters', 'meshworkloadgrants'], verbs: READ },
    { apiGroups: [GROUP], resources: ['meshworkloads'], verbs: APPLY_PRUNE_NO_GET },
    // Status is written with merge patches on the status subresource only.
    { apiGroups: [GROUP], resources: ['failoverservices/status', 'meshclusters/status'], verbs: ['patch'] },
    // An Event on a FailoverService when a client's serving tier changes (in the FailoverService's namespace).
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
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

/** Istio kinds written in the FailoverService's namespace (anywhere); EnvoyFilters go to the root namespace only. */
const NAMESPACED_ISTIO = ISTIO_RESOURCES.filter((r) => r !== 'envoyfilters');

/**
 * What the identity in a member cluster's kubeconfig needs there, cluster-wide: it watches Spillway's Istio
 * objects of every kind everywhere (one label-selected informer per kind), writes the four kinds that live in
 * the FailoverService's namespace, and reads Services and EndpointSlices. EnvoyFilter writes are in
 * `memberRootNamespaceRules`, a Role in Istio's root namespace.
 */
export function memberClusterRules(): PolicyRule[] {
  return [
    { apiGroups: [ISTIO_GROUP], resources: [...ISTIO_RESOURCES], verbs: READ },
    { apiGroups: [ISTIO_GROUP], resources: [...NAMESPACED_ISTIO], verbs: WRITE },
    { apiGroups: [''], resources: ['services'], verbs: READ },
    // Live tier shares: the workloads' and gateways' endpoints.
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    ...checkRules(),
  ];
}

/** The member identity's rules in Istio's root namespace: the mesh-wide EnvoyFilters, and nothing else. */
export function memberRootNamespaceRules(): PolicyRule[] {
  return [{ apiGroups: [ISTIO_GROUP], resources: ['envoyfilters'], verbs: WRITE }];
}

export function clusterRole(name: string, rules: PolicyRule[], component: string): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: baseLabels(component) }, rules };
}

function role(name: string, namespace: string, rules: PolicyRule[], component: string): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace, labels: baseLabels(component) }, rules };
}

/** Binds the ServiceAccount `subject` (in `subjectNamespace`) to the (Cluster)Role `name`; a RoleBinding lives in `namespace`. */
function binding(
  kind: 'ClusterRoleBinding' | 'RoleBinding',
  name: string,
  namespace: string,
  labels: Record<string, string>,
  subject: { name: string; namespace: string } = { name, namespace },
): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: kind === 'RoleBinding' ? { name, namespace, labels } : { name, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: kind === 'RoleBinding' ? 'Role' : 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }],
  };
}

export interface MemberRbacOptions {
  /** Istio's root namespace in that cluster (MeshCluster `spec.istio.rootNamespace`): the EnvoyFilter Role goes there. @default istio-system */
  rootNamespace?: string;
}

/** The member roles and their bindings to `subject`: ClusterRole + ClusterRoleBinding, Role + RoleBinding in the root namespace. */
function memberRoles(subject: { name: string; namespace: string }, rootNamespace: string): KubeObject[] {
  const labels = baseLabels('member');
  return [
    clusterRole(MEMBER_NAME, memberClusterRules(), 'member'),
    binding('ClusterRoleBinding', MEMBER_NAME, subject.namespace, labels, subject),
    role(MEMBER_NAME, rootNamespace, memberRootNamespaceRules(), 'member'),
    binding('RoleBinding', MEMBER_NAME, rootNamespace, labels, subject),
  ];
}

/**
 * Objects to apply in a member cluster: a ServiceAccount with the member ClusterRole and the EnvoyFilter Role in
 * the root namespace (which must exist: Istio creates it). No token Secret: `spillway cluster register` asks the
 * TokenRequest API for an expiring token of this ServiceAccount.
 */
export function memberRbacManifests(namespace: string, opts: MemberRbacOptions = {}): KubeObject[] {
  const labels = baseLabels('member');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: MEMBER_NAME, namespace, labels } },
    ...memberRoles({ name: MEMBER_NAME, namespace }, opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE),
  ];
}

/**
 * The management cluster registered as a member (`spillway cluster register NAME --management`): the controller
 * reaches it with its own ServiceAccount, so the member roles are bound to that ServiceAccount. Without this the
 * controller holds no Istio rights in the management cluster.
 */
export function managementMemberManifests(namespace: string, opts: MemberRbacOptions = {}): KubeObject[] {
  return memberRoles({ name: CONTROLLER_NAME, namespace }, opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE);
}

export function controllerRbacManifests(namespace: string): KubeObject[] {
  const labels = baseLabels('controller');
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CONTROLLER_NAME, namespace, labels } },
    clusterRole(CONTROLLER_NAME, controllerClusterRules(), 'controller'),
    binding('ClusterRoleBinding', CONTROLLER_NAME, namespace, labels),
    role(CONTROLLER_NAME, namespace, controllerNamespaceRules(), 'controller'),
    binding('RoleBinding', CONTROLLER_NAME, namespace, labels),
  ];
}
