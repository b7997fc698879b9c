/** `spillway install`: everything the controller needs in the management cluster, as a deterministic object list. */
import type { KubeObject } from '../api/types.ts';
import { customResourceDefinitions } from '../api/crds.ts';
import { dns1123LabelError } from '../analyze/dns.ts';
import {
  CONTROLLER_NAME, DEFAULT_IMAGE, DEFAULT_NAMESPACE, DEFAULT_REPLICAS, METRICS_PORT, baseLabels,
} from './common.ts';
import { controllerRbacManifests, memberRbacManifests } from './rbac.ts';

export interface InstallOptions {
  /** Namespace of the controller, its Secrets and its Lease. @default spillway-system */
  namespace?: string;
  /** Controller image. @default spillway:0.1.0 */
  image?: string;
  /** Controller replicas; one leads, the others stand by. @default 2 */
  replicas?: number;
  /** Print the member-cluster RBAC (to apply in each member cluster) instead of the management install. */
  memberRbac?: boolean;
  /** With `memberRbac`: Istio's root namespace in the member, where the EnvoyFilter Role goes. @default istio-system */
  rootNamespace?: string;
}

/** Problems with the options, as one line each; empty when usable. */
export function installOptionErrors(opts: InstallOptions): string[] {
  const errors: string[] = [];
  const ns = opts.namespace ?? DEFAULT_NAMESPACE;
  const nsError = dns1123LabelError(ns);
  if (nsError) errors.push(`--namespace ${nsError}`);
  if (opts.rootNamespace !== undefined) {
    const rootError = dns1123LabelError(opts.rootNamespace);
    if (rootError) errors.push(`--istio-root-namespace ${rootError}`);
    if (!opts.memberRbac) errors.push('--istio-root-namespace goes with --member-rbac (the management install grants no Istio rights; `cluster register --management` does)');
  }
  const replicas = opts.replicas ?? DEFAULT_REPLICAS;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100) errors.push(`--replicas must be an integer from 1 to 100 (got ${String(replicas)})`);
  const image = opts.image ?? DEFAULT_IMAGE;
  if (image === '' || /\s/.test(image)) errors.push(`--image must be a non-empty image reference without spaces`);
  return errors;
}

const selectorLabels = { 'app.kubernetes.io/name': 'spillway', 'app.kubernetes.io/component': 'controller' };
const prometheusAnnotations = {
  'prometheus.io/scrape': 'true',
  'prometheus.io/port': String(METRICS_PORT),
  'prometheus.io/path': '/metrics',
};

function deployment(namespace: string, image: string, replicas: number): KubeObject {
  const labels = baseLabels('controller');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: CONTROLLER_NAME, namespace, labels },
    spec: {
      replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
      template: {
        metadata: { labels, annotations: prometheusAnnotations },
        spec: {
          serviceAccountName: CONTROLLER_NAME,
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels } } },
              ],
            },
          },
          containers: [
            {
              name: 'controller',
              image,
              imagePullPolicy: 'IfNotPresent',
              // One listener serves /metrics, /healthz and /readyz (spillway controller --metrics-addr).
              args: ['controller', '--namespace', namespace, '--metrics-addr', `:${METRICS_PORT}`],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                // Keep the V8 heap inside the memory limit with room for buffers and code (measured: 1,000
                // FailoverServices over 3 clusters use ~400 MiB resident, 2,000 ~460 MiB; docs/install.md).
                { name: 'NODE_OPTIONS', value: '--max-old-space-size=768' },
              ],
              ports: [
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
              resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '1Gi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              // tsx keeps its transform cache under the temp dir; the root filesystem is read-only.
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

/**
 * Objects for `kubectl apply -f -`, in apply order: Namespace, CRDs, RBAC, metrics Service, PodDisruptionBudget,
 * Deployment. With `memberRbac`, only the objects a member cluster needs (see `memberRbacManifests`).
 * Throws on unusable options (see `installOptionErrors`).
 */
export function installManifests(opts: InstallOptions = {}): KubeObject[] {
  const errors = installOptionErrors(opts);
  if (errors.length > 0) throw new Error(errors.join('; '));
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  if (opts.memberRbac) return memberRbacManifests(namespace, { rootNamespace: opts.rootNamespace });
  const labels = baseLabels('controller');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: baseLabels('controller') } },
    ...customResourceDefinitions(),
    ...controllerRbacManifests(namespace),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${CONTROLLER_NAME}-metrics`, namespace, labels, annotations: prometheusAnnotations },
      spec: { type: 'ClusterIP', selector: selectorLabels, ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: CONTROLLER_NAME, namespace, labels },
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels } },
    },
    deployment(namespace, opts.image ?? DEFAULT_IMAGE, opts.replicas ?? DEFAULT_REPLICAS),
  ];
}
