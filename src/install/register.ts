/** `spillway cluster register`: the kubeconfig Secret and the MeshCluster of one member cluster. */
import { API_VERSION } from '../api/types.ts';
import type { KubeObject, MeshCluster, MeshClusterSpec } from '../api/types.ts';
import { meshClusterSchema } from '../api/schemas.ts';
import { formatIssue, validate } from '../schema/structural.ts';
import { dns1123LabelError } from '../analyze/dns.ts';
import { DEFAULT_NAMESPACE, DEFAULT_ROOT_NAMESPACE, KUBECONFIG_KEY, MEMBER_NAME, baseLabels, secretNameFor } from './common.ts';
import { managementMemberManifests, memberRbacManifests } from './rbac.ts';
import { KubeconfigError, base64Encode, kubeconfigYaml, minimizeKubeconfig, utf8 } from './kubeconfig.ts';
import type { MinimizeOptions } from './kubeconfig.ts';

export interface RegisterOptions {
  /** MeshCluster name (a DNS-1123 label). */
  name: string;
  /** Namespace of the controller, where the kubeconfig Secret goes. @default spillway-system */
  namespace?: string;
  /** Other clusters dial this cluster's east-west gateway here. Ports are numbers; anything else fails validation. */
  gateway?: { address: string; port: number | string; servicePort?: number | string; listenPort?: number | string };
  istioVersion?: string;
  /** Istio's root namespace in this cluster (`spec.istio.rootNamespace`), where the EnvoyFilter Role goes. @default istio-system */
  rootNamespace?: string;
  /** The cluster the controller runs in: no Secret, no kubeconfigSecret; the member roles are bound to the controller's ServiceAccount. */
  management?: boolean;
  /** The member cluster's kubeconfig (YAML text or parsed) and how to read files it references; required unless `management`. */
  kubeconfig?: { source: string | Record<string, unknown> } & MinimizeOptions;
}

export interface RegisterResult {
  /** Secret (unless management; with management the member roles bound to the controller) then MeshCluster. */
  objects: KubeObject[];
  /** Non-fatal observations, safe to print. */
  warnings: string[];
}

/** Unusable options or kubeconfig; every problem is one line, safe to print (no credentials). */
export class RegisterError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'RegisterError';
  }
}

const asPort = (v: number | string): number | string => (typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v);

export function registerClusterManifests(opts: RegisterOptions): RegisterResult {
  const problems: string[] = [];
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const nameError = dns1123LabelError(opts.name);
  if (nameError) problems.push(`cluster name ${nameError}`);
  const nsError = dns1123LabelError(namespace);
  if (nsError) problems.push(`--namespace ${nsError}`);
  if (opts.management && opts.kubeconfig) problems.push('--management registers the cluster the controller runs in: it takes no --kubeconfig');
  if (!opts.management && !opts.kubeconfig) problems.push('--kubeconfig is required (or --management for the cluster the controller runs in)');

  const spec: MeshClusterSpec = {};
  if (opts.gateway) {
    const gw: Record<string, unknown> = { address: opts.gateway.address, port: asPort(opts.gateway.port) };
    if (opts.gateway.servicePort !== undefined) gw.servicePort = asPort(opts.gateway.servicePort);
    if (opts.gateway.listenPort !== undefined) gw.listenPort = asPort(opts.gateway.listenPort);
    spec.gateway = gw as unknown as MeshClusterSpec['gateway'];
  }
  if (opts.istioVersion !== undefined || opts.rootNamespace !== undefined) {
    spec.istio = {
      ...(opts.istioVersion !== undefined ? { version: opts.istioVersion } : {}),
      ...(opts.rootNamespace !== undefined ? { rootNamespace: opts.rootNamespace } : {}),
    };
  }
  const secretName = secretNameFor(opts.name);
  if (!opts.management) spec.kubeconfigSecret = { name: secretName, namespace };
  const meshCluster: MeshCluster = { apiVersion: API_VERSION, kind: 'MeshCluster', metadata: { name: opts.name }, spec };
  // The same structural schema the analyzer and the CRD use; paths such as spec.gateway.port map to the flags.
  // The Secret's name and namespace derive from the name and --namespace, reported above when they are invalid.
  for (const issue of validate(meshClusterSchema, meshCluster, { closed: true, cel: false })) {
    if ((nameError || nsError) && issue.path.startsWith('spec.kubeconfigSecret.')) continue;
    problems.push(formatIssue(issue));
  }

  const warnings: string[] = [];
  let secret: KubeObject | undefined;
  if (opts.kubeconfig && !opts.management) {
    try {
      const min = minimizeKubeconfig(opts.kubeconfig.source, opts.kubeconfig);
      warnings.push(...min.warnings);
      secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: secretName, namespace, labels: { ...baseLabels('cluster-credentials'), 'spillway.dev/cluster': opts.name } },
        data: { [KUBECONFIG_KEY]: base64Encode(utf8(kubeconfigYaml(min.config))) },
      };
    } catch (e) {
      if (!(e instanceof KubeconfigError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length > 0) throw new RegisterError(problems);
  if (opts.management) {
    // The controller reaches its own cluster with its own ServiceAccount: registering it as a member is what
    // grants that ServiceAccount the member roles there (`spillway install` alone grants no Istio rights).
    const rbac = managementMemberManifests(namespace, { rootNamespace: opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE });
    return { objects: [...rbac, meshCluster], warnings };
  }
  return { objects: secret ? [secret, meshCluster] : [meshCluster], warnings };
}

/** The REST path of a member-identity object (the few kinds `createMemberIdentity` applies). */
function identityPath(o: KubeObject): string {
  const name = encodeURIComponent(o.metadata.name);
  const ns = o.metadata.namespace === undefined ? '' : encodeURIComponent(o.metadata.namespace);
  switch (o.kind) {
    case 'Namespace': return `/api/v1/namespaces/${name}`;
    case 'ServiceAccount': return `/api/v1/namespaces/${ns}/serviceaccounts/${name}`;
    case 'ClusterRole': return `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`;
    case 'ClusterRoleBinding': return `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`;
    case 'Role': return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${name}`;
    case 'RoleBinding': return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/${name}`;
    default: throw new Error(`no path for ${o.kind}`);
  }
}

/** What `createMemberIdentity` needs of the member cluster: an authenticated request function. */
export interface IdentityClient {
  request(r: { method: 'GET' | 'PATCH' | 'POST'; path: string; query?: Record<string, string | boolean | undefined>; contentType?: string; body?: unknown }): Promise<unknown>;
}

const isNotFound = (e: unknown): boolean => e !== null && typeof e === 'object' && (e as { status?: unknown }).status === 404;

export interface MemberIdentityOptions {
  /** Namespace of the member's ServiceAccount. @default spillway-system */
  namespace?: string;
  /** Istio's root namespace in the member, where the EnvoyFilter Role goes (it must exist). @default istio-system */
  rootNamespace?: string;
  /** Requested token lifetime; the server may shorten it (`--service-account-max-token-expiration`). */
  expirationSeconds: number;
  /** The member cluster as the caller's kubeconfig names it: its URL, CA (PEM) and TLS server name. */
  server: string;
  caPem?: string;
  tlsServerName?: string;
  /** Name of the cluster, user and context in the generated kubeconfig. */
  contextName: string;
}

export interface MemberIdentity {
  /** A data-only kubeconfig: server, CA and the ServiceAccount's bearer token; nothing to execute or read. */
  kubeconfig: string;
  /** When the token expires (RFC 3339, from the server). */
  expiresAt: string;
  /** The objects applied (server-side apply, field manager `spillway-register`). */
  applied: string[];
}

export const REGISTER_FIELD_MANAGER = 'spillway-register';

/**
 * What `istioctl create-remote-secret` does, with an expiring credential: applies the member identity (its
 * Namespace, ServiceAccount, ClusterRole and ClusterRoleBinding, and the EnvoyFilter Role and RoleBinding in the
 * root namespace, from `memberRbacManifests`) with the caller's own credentials, then asks the TokenRequest API
 * for a token of that ServiceAccount and wraps it in a kubeconfig. Re-running it rotates the token; the old one
 * lapses at its expiry. The root namespace must exist (Istio creates it): Spillway does not create it.
 */
export async function createMemberIdentity(client: IdentityClient, opts: MemberIdentityOptions): Promise<MemberIdentity> {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const rootNamespace = opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  try {
    await client.request({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(rootNamespace)}` });
  } catch (e) {
    if (isNotFound(e)) throw new RegisterError([`${opts.server}: namespace ${rootNamespace} does not exist: the member identity may write EnvoyFilters only in Istio's root namespace; install Istio first, or pass --istio-root-namespace`]);
    throw e;
  }
  const objects = memberRbacManifests(namespace, { rootNamespace });
  const applied: string[] = [];
  for (const o of objects) {
    await client.request({ method: 'PATCH', path: identityPath(o), query: { fieldManager: REGISTER_FIELD_MANAGER, force: true }, contentType: 'application/apply-patch+yaml', body: o });
    applied.push(`${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`);
  }
  const tr = (await client.request({
    method: 'POST',
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${MEMBER_NAME}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: opts.expirationSeconds } },
  })) as { status?: { token?: unknown; expirationTimestamp?: unknown } };
  const token = tr.status?.token;
  if (typeof token !== 'string' || token === '') throw new RegisterError([`the TokenRequest for ${namespace}/${MEMBER_NAME} returned no token`]);
  const cluster: Record<string, unknown> = { server: opts.server };
  if (opts.caPem) cluster['certificate-authority-data'] = base64Encode(utf8(opts.caPem));
  if (opts.tlsServerName) cluster['tls-server-name'] = opts.tlsServerName;
  const name = opts.contextName;
  const kubeconfig = kubeconfigYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name: `${name}-${MEMBER_NAME}`, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-${MEMBER_NAME}` } }],
    'current-context': name,
  });
  return { kubeconfig, expiresAt: typeof tr.status?.expirationTimestamp === 'string' ? tr.status.expirationTimestamp : '', applied };
}
