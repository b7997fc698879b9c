/**
 * The I/O edge of `spillway check`: reads, and only reads, what the checks need from each member cluster and the
 * management cluster. Every read is a GET; a failed read becomes a Listing with `error` (never a throw), so the
 * checks can tell "not there" from "could not look". Secrets are read for their names and labels only: their
 * data is dropped on arrival and never reaches the snapshot, the report or a log.
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import { GROUP } from '../api/types.ts';
import { KINDS } from '../api/schemas.ts';
import type { KubeClient } from '../kube/client.ts';
import { describeError, isKubeApiError } from '../kube/errors.ts';
import { ISTIO_GROUP } from '../kube/resources.ts';
import type { ClusterFacts, Listing, ManagementFacts, RootCert, RootOfTrust } from './types.ts';

const ISTIO_KINDS: Record<string, string> = { destinationrules: 'DestinationRule', virtualservices: 'VirtualService', sidecars: 'Sidecar', gateways: 'Gateway' };
const ISTIO_PREFERENCE = ['v1', 'v1beta1', 'v1alpha3'];
const PAGE = 500;
const TIMEOUT_MS = 15_000;

type Trim = (o: KubeObject) => KubeObject;

/** Lists a collection (every page), trimming each object; a failure becomes `error`. */
export async function listAll(client: KubeClient, path: string, query: Record<string, string> = {}, trim: Trim = trimDefault): Promise<Listing> {
  const items: KubeObject[] = [];
  let cont: string | undefined;
  try {
    do {
      const res = (await client.request({ method: 'GET', path, query: { ...query, limit: PAGE, ...(cont ? { continue: cont } : {}) }, timeoutMs: TIMEOUT_MS })) as { items?: KubeObject[]; metadata?: { continue?: string } };
      for (const o of res.items ?? []) items.push(trim(o));
      cont = res.metadata?.continue || undefined;
    } while (cont);
    return { items };
  } catch (e) {
    return { items: [], error: describeError(e), ...(isKubeApiError(e) && e.notFound ? { notServed: true } : {}), ...(isTransient(e) ? { transient: true } : {}) };
  }
}

/** No answer (timeout, reset, refused), too many requests, or a server error: worth reading again before believing it. */
export function isTransient(e: unknown): boolean {
  if (!isKubeApiError(e)) return true;
  return e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500;
}

async function getOne(client: KubeClient, path: string): Promise<{ object?: KubeObject; error?: string; notFound?: boolean }> {
  try {
    return { object: (await client.request({ method: 'GET', path, timeoutMs: TIMEOUT_MS })) as KubeObject };
  } catch (e) {
    if (isKubeApiError(e) && e.notFound) return { notFound: true };
    return { error: describeError(e) };
  }
}

function trimDefault(o: KubeObject): KubeObject {
  const { managedFields: _m, ...meta } = o.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return { ...o, metadata: meta };
}

/** Metadata only: what a Secret may contribute (its name and labels). */
function metadataOnly(o: KubeObject): KubeObject {
  const m = o.metadata;
  return { apiVersion: o.apiVersion ?? 'v1', kind: o.kind ?? 'Secret', metadata: { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), ...(m.labels ? { labels: m.labels } : {}), ...(m.annotations?.['networking.istio.io/cluster'] ? { annotations: { 'networking.istio.io/cluster': m.annotations['networking.istio.io/cluster'] } } : {}) } };
}

/** A pod reduced to what the checks read: labels, annotations, container names/images and the DNS capture variable, phase. */
function trimPod(o: KubeObject): KubeObject {
  const spec = (o['spec'] ?? {}) as { containers?: Record<string, unknown>[]; initContainers?: Record<string, unknown>[] };
  const c = (x: Record<string, unknown>): Record<string, unknown> => ({
    name: x['name'],
    image: x['image'],
    ...(Array.isArray(x['env']) ? { env: (x['env'] as Record<string, unknown>[]).filter((e) => e['name'] === 'ISTIO_META_DNS_CAPTURE' && typeof e['value'] === 'string').map((e) => ({ name: e['name'], value: e['value'] })) } : {}),
  });
  const st = (o['status'] ?? {}) as Record<string, unknown>;
  const meta = o.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: meta.name, namespace: meta.namespace, ...(meta.labels ? { labels: meta.labels } : {}), ...(meta.annotations ? { annotations: pickAnnotations(meta.annotations) } : {}) },
    spec: { containers: (spec.containers ?? []).map(c), initContainers: (spec.initContainers ?? []).map(c) },
    status: { phase: st['phase'], conditions: st['conditions'] },
  };
}

function pickAnnotations(a: Record<string, string>): Record<string, string> {
  const keep = ['proxy.istio.io/config', 'sidecar.istio.io/inject', 'sidecar.istio.io/status'];
  return Object.fromEntries(Object.entries(a).filter(([k]) => keep.includes(k)));
}

function trimNode(o: KubeObject): KubeObject {
  const st = (o['status'] ?? {}) as Record<string, unknown>;
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: o.metadata.name, ...(o.metadata.labels ? { labels: o.metadata.labels } : {}) }, status: { addresses: st['addresses'] ?? [] } };
}

const withKind = (kind: string, apiVersion: string): ((o: KubeObject) => KubeObject) => (o) => trimDefault({ ...o, kind: o.kind ?? kind, apiVersion: o.apiVersion ?? apiVersion });

/** Fingerprints every PEM certificate in a root-cert.pem bundle. */
export function parseRoots(source: string, pem: string | undefined): RootOfTrust {
  if (!pem) return { source, certs: [], error: 'no root-cert.pem key' };
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certs: RootCert[] = [];
  for (const b of blocks) {
    try {
      const x = new X509Certificate(b);
      const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1];
      const o = /(?:^|\n)O=([^\n]+)/.exec(x.subject)?.[1];
      certs.push({ sha256: x.fingerprint256, subject: [o ? `O=${o}` : '', cn ? `CN=${cn}` : ''].filter(Boolean).join(',') || x.subject.replace(/\n/g, ','), notAfter: new Date(x.validTo).toISOString() });
    } catch {
      // Not a certificate: fingerprint the text so two clusters with the same bytes still compare equal.
      certs.push({ sha256: createHash('sha256').update(b).digest('hex'), subject: '(unparsable certificate)', notAfter: '' });
    }
  }
  if (certs.length === 0) return { source, certs, error: 'root-cert.pem holds no PEM certificate' };
  certs.sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
  return { source, certs };
}

export interface ClusterNeeds {
  rootNamespace: string;
  /** Namespaces the failover services run in (pods, roots, namespace labels). */
  serviceNamespaces: string[];
  /** clientSelectors of the FailoverServices this cluster is a client for (pods matching them, any namespace). */
  clientSelectors: Record<string, string>[];
  /**
   * Read the names and labels of Istio's remote secrets (list on Secrets in the root namespace); default true. The
   * controller passes false: its member identity may not read Secrets, so SPC164 is skipped there.
   */
  remoteSecrets?: boolean;
}

export interface GatherTarget {
  name: string;
  via: string;
  client: KubeClient;
}

const selectorString = (s: Record<string, string>): string => Object.entries(s).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',');

function mergeListings(ls: Listing[]): Listing {
  const seen = new Map<string, KubeObject>();
  for (const l of ls) for (const o of l.items) seen.set(`${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  const err = ls.find((l) => l.error !== undefined);
  return { items: [...seen.values()], ...(err ? { error: err.error, ...(err.notServed ? { notServed: true } : {}), ...(ls.some((l) => l.transient) ? { transient: true } : {}) } : {}) };
}

const emptyListing = (error: string): Listing => ({ items: [], error });

/** Reads one member cluster. Never throws. */
export async function gatherCluster(t: GatherTarget, needs: ClusterNeeds): Promise<ClusterFacts> {
  const c = t.client;
  const root = encodeURIComponent(needs.rootNamespace);
  let kubernetesVersion: string | undefined;
  try {
    const v = (await c.request({ method: 'GET', path: '/version', timeoutMs: TIMEOUT_MS })) as { gitVersion?: string };
    kubernetesVersion = v.gitVersion;
  } catch (e) {
    if (!isKubeApiError(e) || e.status === 0) {
      const none: Listing = { ...emptyListing('cluster unreachable'), transient: true };
      return {
        name: t.name, via: t.via, unreachable: describeError(e), istioApi: { versions: {} },
        namespaces: none, rootConfigMaps: none, rootDeployments: none, rootPods: none, dnsConfigMaps: none, services: none, pods: none, nodes: none, remoteSecrets: none, roots: {},
        destinationRules: none, virtualServices: none, sidecars: none, gateways: none,
      };
    }
  }

  // Istio's API: which versions serve which kinds.
  const istioApi: ClusterFacts['istioApi'] = { versions: {} };
  try {
    const group = (await c.request({ method: 'GET', path: `/apis/${ISTIO_GROUP}`, timeoutMs: TIMEOUT_MS })) as { versions?: { version?: string }[] };
    for (const v of (group.versions ?? []).map((x) => x.version).filter((x): x is string => typeof x === 'string')) {
      const res = (await c.request({ method: 'GET', path: `/apis/${ISTIO_GROUP}/${v}`, timeoutMs: TIMEOUT_MS })) as { resources?: { name?: string }[] };
      istioApi.versions[v] = (res.resources ?? []).map((r) => r.name ?? '').filter((n) => n && !n.includes('/')).sort();
    }
  } catch (e) {
    istioApi.error = isKubeApiError(e) && e.notFound ? 'the API group is not served (Istio\'s CRDs are not installed)' : describeError(e);
  }
  const istioList = async (plural: string): Promise<Listing> => {
    const version = ISTIO_PREFERENCE.find((v) => istioApi.versions[v]?.includes(plural));
    if (!version) return { items: [], error: `${plural}.${ISTIO_GROUP} is not served`, notServed: true };
    return listAll(c, `/apis/${ISTIO_GROUP}/${version}/${plural}`, {}, withKind(ISTIO_KINDS[plural] ?? plural, `${ISTIO_GROUP}/${version}`));
  };

  const nsList = [...new Set(needs.serviceNamespaces)].sort();
  const [namespaces, rootConfigMaps, rootDeployments, rootPods, coredns, kubedns, services, nodes, remoteSecrets, destinationRules, virtualServices, sidecars, gateways, nsPods, selPods, nsRoots] = await Promise.all([
    listAll(c, '/api/v1/namespaces', {}, withKind('Namespace', 'v1')),
    listAll(c, `/api/v1/namespaces/${root}/configmaps`, {}, withKind('ConfigMap', 'v1')),
    listAll(c, `/apis/apps/v1/namespaces/${root}/deployments`, {}, withKind('Deployment', 'apps/v1')),
    listAll(c, `/api/v1/namespaces/${root}/pods`, { labelSelector: 'app=istiod' }, trimPod),
    getOne(c, '/api/v1/namespaces/kube-system/configmaps/coredns'),
    getOne(c, '/api/v1/namespaces/kube-system/configmaps/kube-dns'),
    listAll(c, '/api/v1/services', {}, withKind('Service', 'v1')),
    listAll(c, '/api/v1/nodes', {}, trimNode),
    needs.remoteSecrets === false
      ? Promise.resolve<Listing>({ items: [], skipped: 'not read: this identity may not list Secrets (run spillway check with your own kubeconfig for this check)' })
      : listAll(c, `/api/v1/namespaces/${root}/secrets`, { labelSelector: 'istio/multiCluster=true' }, metadataOnly),
    istioList('destinationrules'),
    istioList('virtualservices'),
    istioList('sidecars'),
    istioList('gateways'),
    Promise.all(nsList.map((ns) => listAll(c, `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, {}, trimPod))),
    Promise.all(needs.clientSelectors.map((s) => listAll(c, '/api/v1/pods', { labelSelector: selectorString(s) }, trimPod))),
    Promise.all(nsList.map((ns) => getOne(c, `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/istio-ca-root-cert`))),
  ]);

  const dnsItems = [coredns, kubedns].map((r) => r.object).filter((o): o is KubeObject => o !== undefined).map(withKind('ConfigMap', 'v1'));
  const dnsError = [coredns, kubedns].find((r) => r.error !== undefined)?.error;
  const roots: Record<string, RootOfTrust | undefined> = {};
  const rootCm = rootConfigMaps.items.find((o) => o.metadata.name === 'istio-ca-root-cert');
  roots[needs.rootNamespace] = rootCm ? parseRoots(`ConfigMap/${needs.rootNamespace}/istio-ca-root-cert`, (rootCm['data'] as Record<string, string> | undefined)?.['root-cert.pem']) : undefined;
  nsList.forEach((ns, i) => {
    const r = nsRoots[i];
    if (r?.object) roots[ns] = parseRoots(`ConfigMap/${ns}/istio-ca-root-cert`, (r.object['data'] as Record<string, string> | undefined)?.['root-cert.pem']);
    else if (!(ns in roots)) roots[ns] = undefined;
  });

  return {
    name: t.name,
    via: t.via,
    ...(kubernetesVersion ? { kubernetesVersion } : {}),
    istioApi,
    namespaces,
    rootConfigMaps,
    rootDeployments,
    rootPods,
    dnsConfigMaps: { items: dnsItems, ...(dnsError ? { error: dnsError } : {}) },
    services,
    pods: mergeListings([...nsPods, ...selPods]),
    nodes,
    remoteSecrets,
    roots,
    destinationRules,
    virtualServices,
    sidecars,
    gateways,
  };
}

/** Reads Spillway's install in the management cluster. Never throws. */
export async function gatherManagement(client: KubeClient, via: string, namespace: string): Promise<ManagementFacts> {
  const ns = encodeURIComponent(namespace);
  try {
    await client.request({ method: 'GET', path: '/version', timeoutMs: TIMEOUT_MS });
  } catch (e) {
    if (!isKubeApiError(e) || e.status === 0) return { via, unreachable: describeError(e), crds: {}, deployments: emptyListing('unreachable'), namespace };
  }
  const crds: Record<string, string[] | undefined> = {};
  let crdError: string | undefined;
  await Promise.all(
    KINDS.map(async (k) => {
      const name = `${k.plural}.${GROUP}`;
      const r = await getOne(client, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      if (r.error) crdError = r.error;
      const versions = ((r.object?.['spec'] as { versions?: { name?: string; served?: boolean }[] } | undefined)?.versions ?? []).filter((v) => v.served !== false).map((v) => v.name ?? '');
      crds[name] = r.object ? versions : undefined;
    }),
  );
  const [deployments, lease] = await Promise.all([
    listAll(client, `/apis/apps/v1/namespaces/${ns}/deployments`, {}, withKind('Deployment', 'apps/v1')),
    getOne(client, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/spillway-controller`),
  ]);
  return {
    via,
    crds,
    ...(crdError ? { crdError } : {}),
    deployments,
    ...(lease.object ? { lease: trimDefault(lease.object) } : {}),
    ...(lease.error ? { leaseError: lease.error } : {}),
    namespace,
  };
}
