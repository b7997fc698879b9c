/**
 * A two-cluster mesh that passes every check, as Spillway inputs and as the live objects of each member, plus the
 * pieces to break it one misconfiguration at a time. Used by the pure tests (through an in-memory client that
 * also serves Pods, Deployments and Nodes) and by the API-double tests (which serve what the double serves).
 */
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../../src/api/types.ts';
import type { SourcedDocument } from '../../src/analyze/snapshot.ts';
import type { KubeClient, KubeRequest } from '../../src/kube/client.ts';
import { newStats } from '../../src/kube/client.ts';
import { KubeApiError } from '../../src/kube/errors.ts';

export const ROOT_A = readFileSync(new URL('./fixtures/root-a.pem', import.meta.url), 'utf8');
export const ROOT_B = readFileSync(new URL('./fixtures/root-b.pem', import.meta.url), 'utf8');

export const ADDRESS: Record<string, string> = { cluster1: '192.0.2.10', cluster2: '192.0.2.20' };

export interface InputOptions {
  istioVersion?: Record<string, string>;
  gateway?: Partial<Record<string, { address?: string; port?: number; listenPort?: number }>>;
  clientSelector?: Record<string, string>;
}

export function inputs(o: InputOptions = {}): SourcedDocument[] {
  const docs: KubeObject[] = [];
  for (const c of ['cluster1', 'cluster2']) {
    const g = o.gateway?.[c] ?? {};
    docs.push({
      apiVersion: 'spillway.dev/v1alpha1',
      kind: 'MeshCluster',
      metadata: { name: c },
      spec: { gateway: { address: g.address ?? ADDRESS[c], port: g.port ?? 32000, listenPort: g.listenPort ?? 443 }, istio: { version: o.istioVersion?.[c] ?? '1.24' } },
    });
    docs.push({
      apiVersion: 'spillway.dev/v1alpha1',
      kind: 'MeshWorkload',
      metadata: { name: `reviews-${c}`, namespace: 'default' },
      spec: { cluster: c, service: { name: 'reviews', namespace: 'default' }, ports: [{ name: 'http', number: 9080, protocol: 'HTTP' }] },
    });
  }
  docs.push({
    apiVersion: 'spillway.dev/v1alpha1',
    kind: 'FailoverService',
    metadata: { name: 'reviews', namespace: 'default' },
    spec: { meshWorkloads: ['reviews-cluster1', 'reviews-cluster2'], ...(o.clientSelector ? { clientSelector: o.clientSelector } : {}) },
  });
  return docs.map((value, i) => ({ value, source: `inputs#${i + 1}` }));
}

export const MESH_DNS = 'defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: "true"\n';

export interface LiveOptions {
  root?: string;
  mesh?: string;
  istioVersion?: string;
  /** Labels of namespace default. */
  defaultLabels?: Record<string, string>;
  gatewayService?: KubeObject;
}

const cm = (namespace: string, name: string, data: Record<string, string>, labels?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(labels ? { labels } : {}) }, data });

export function gatewayService(overrides: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' } },
    spec: {
      type: 'NodePort',
      selector: { istio: 'ingressgateway', app: 'istio-ingressgateway' },
      ports: [
        { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP', nodePort: 31021 },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 32000 },
      ],
      ...overrides,
    },
  };
}

/** Objects every API server serves (the double included). */
export function liveObjects(_cluster: string, o: LiveOptions = {}): KubeObject[] {
  const version = o.istioVersion ?? '1.24.2';
  const root = o.root ?? ROOT_A;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: o.defaultLabels ?? { 'istio-injection': 'enabled' } } },
    cm('istio-system', 'istio', { mesh: o.mesh ?? MESH_DNS }, { 'app.kubernetes.io/version': version, 'istio.io/rev': 'default' }),
    cm('istio-system', 'istio-ca-root-cert', { 'root-cert.pem': root }),
    cm('default', 'istio-ca-root-cert', { 'root-cert.pem': root }),
    o.gatewayService ?? gatewayService(),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'default', labels: { app: 'reviews' } }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }] } },
  ];
}

/** Objects of kinds the API double does not serve (Pods, Deployments, Nodes). */
export function workloadObjects(cluster: string, o: { version?: string; sidecar?: boolean; podAnnotations?: Record<string, string> } = {}): KubeObject[] {
  const proxy = { name: 'istio-proxy', image: `docker.io/istio/proxyv2:${o.version ?? '1.24.2'}` };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'istiod', namespace: 'istio-system', labels: { app: 'istiod', 'istio.io/rev': 'default' } },
      // A Deployment a real API server accepts (selector and template labels), as Istio's installer writes it.
      spec: { selector: { matchLabels: { app: 'istiod' } }, template: { metadata: { labels: { app: 'istiod' } }, spec: { containers: [{ name: 'discovery', image: `docker.io/istio/pilot:${o.version ?? '1.24.2'}` }] } } },
      status: { replicas: 1, readyReplicas: 1 },
    },
    ...[1, 2].map((i): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `reviews-${i}`, namespace: 'default', labels: { app: 'reviews' }, ...(o.podAnnotations ? { annotations: o.podAnnotations } : {}) },
      spec: { containers: [{ name: 'reviews', image: 'reviews:1' }, ...(o.sidecar === false ? [] : [proxy])] },
      status: { phase: 'Running' },
    })),
    { apiVersion: 'v1', kind: 'Node', metadata: { name: `${cluster}-node` }, status: { addresses: [{ type: 'InternalIP', address: ADDRESS[cluster] }] } },
  ];
}

/** Minimal CRDs for the Istio kinds the checks list (schema-less: the checks read what users write). */
export function istioCrds(): KubeObject[] {
  const kinds: [string, string, string[]][] = [
    ['ServiceEntry', 'serviceentries', ['v1', 'v1beta1', 'v1alpha3']],
    ['DestinationRule', 'destinationrules', ['v1', 'v1beta1', 'v1alpha3']],
    ['EnvoyFilter', 'envoyfilters', ['v1alpha3']],
    ['Gateway', 'gateways', ['v1', 'v1beta1', 'v1alpha3']],
    ['VirtualService', 'virtualservices', ['v1', 'v1beta1', 'v1alpha3']],
    ['Sidecar', 'sidecars', ['v1', 'v1beta1', 'v1alpha3']],
  ];
  return kinds.map(([kind, plural, versions]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.networking.istio.io` },
    spec: {
      group: 'networking.istio.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: versions.map((v, i) => ({ name: v, served: true, storage: i === 0, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } })),
    },
  }));
}

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces', ConfigMap: 'configmaps', Service: 'services', Pod: 'pods', Deployment: 'deployments', Node: 'nodes', Secret: 'secrets', Lease: 'leases',
  DestinationRule: 'destinationrules', VirtualService: 'virtualservices', Sidecar: 'sidecars', Gateway: 'gateways', ServiceEntry: 'serviceentries', EnvoyFilter: 'envoyfilters', CustomResourceDefinition: 'customresourcedefinitions',
};

/**
 * An in-memory, read-only KubeClient over a list of objects: enough of the API for the gatherer (lists by
 * namespace and label selector, single GETs, Istio discovery). Kinds it holds no object of still list empty.
 */
export class MemoryClient implements KubeClient {
  readonly server = 'memory://';
  readonly stats = newStats();
  readonly paths: string[] = [];
  constructor(readonly objects: KubeObject[], readonly opts: { istio?: boolean; down?: boolean; forbidden?: RegExp } = {}) {}
  async request(req: KubeRequest): Promise<unknown> {
    this.paths.push(req.path);
    const fail = (status: number, message: string): never => {
      throw new KubeApiError({ status, message, verb: req.method, path: req.path });
    };
    if (this.opts.down) fail(0, 'connect ECONNREFUSED');
    if (this.opts.forbidden?.test(req.path)) fail(403, 'forbidden');
    if (req.method !== 'GET') fail(405, 'read-only');
    const p = req.path;
    if (p === '/version') return { gitVersion: 'v1.30.0' };
    if (p === '/apis/networking.istio.io') return this.opts.istio === false ? fail(404, 'not found') : { versions: [{ version: 'v1' }, { version: 'v1beta1' }, { version: 'v1alpha3' }] };
    const istioVersion = /^\/apis\/networking\.istio\.io\/(v1|v1beta1|v1alpha3)$/.exec(p);
    if (istioVersion) {
      const all = ['serviceentries', 'destinationrules', 'gateways', 'virtualservices', 'sidecars', 'workloadentries'];
      return { resources: [...all, ...(istioVersion[1] === 'v1alpha3' ? ['envoyfilters'] : [])].map((name) => ({ name })) };
    }
    const m = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(p);
    if (!m) return fail(404, 'not found');
    const [, ns, plural, name] = m;
    const of = this.objects.filter((o) => PLURALS[o.kind] === plural && (ns === undefined || o.metadata.namespace === decodeURIComponent(ns)));
    if (name !== undefined) return of.find((o) => o.metadata.name === decodeURIComponent(name)) ?? fail(404, 'not found');
    const sel = String(req.query?.['labelSelector'] ?? '');
    const want = sel ? sel.split(',').map((kv) => kv.split('=') as [string, string]) : [];
    return { items: of.filter((o) => want.every(([k, v]) => o.metadata.labels?.[k] === v)).map((o) => structuredClone(o)), metadata: {} };
  }
  watch(): Promise<void> {
    return Promise.reject(new Error('no watches'));
  }
  close(): void {}
}
