/** The resource types the controller reads and writes, and their REST paths. */
import { GROUP, VERSION } from '../api/types.ts';
import type { KubeObject } from '../api/types.ts';

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const rt = (group: string, version: string, kind: string, plural: string, namespaced = true): ResourceType => ({ group, version, kind, plural, namespaced });

export const MESH_CLUSTERS = rt(GROUP, VERSION, 'MeshCluster', 'meshclusters', false);
export const MESH_WORKLOADS = rt(GROUP, VERSION, 'MeshWorkload', 'meshworkloads');
export const FAILOVER_SERVICES = rt(GROUP, VERSION, 'FailoverService', 'failoverservices');
export const MESH_WORKLOAD_GRANTS = rt(GROUP, VERSION, 'MeshWorkloadGrant', 'meshworkloadgrants');
export const SECRETS = rt('', 'v1', 'Secret', 'secrets');
export const SERVICES = rt('', 'v1', 'Service', 'services');
export const LEASES = rt('coordination.k8s.io', 'v1', 'Lease', 'leases');
export const NAMESPACES = rt('', 'v1', 'Namespace', 'namespaces', false);
export const CRDS = rt('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false);
export const EVENTS = rt('', 'v1', 'Event', 'events');
/** Live tier shares read each member's EndpointSlices (controller/serving.ts). */
export const ENDPOINT_SLICES = rt('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices');

export const ISTIO_GROUP = 'networking.istio.io';
/** The kinds Spillway emits, with the versions to read them at, preferred first. */
export const OUTPUT_KINDS: readonly { kind: string; plural: string; versions: readonly string[] }[] = [
  { kind: 'ServiceEntry', plural: 'serviceentries', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  { kind: 'DestinationRule', plural: 'destinationrules', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  { kind: 'EnvoyFilter', plural: 'envoyfilters', versions: ['v1alpha3'] },
  { kind: 'Gateway', plural: 'gateways', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  { kind: 'VirtualService', plural: 'virtualservices', versions: ['v1', 'v1beta1', 'v1alpha3'] },
];

export function pluralForKind(kind: string): string | undefined {
  return OUTPUT_KINDS.find((k) => k.kind === kind)?.plural;
}

export function groupPath(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
}

/** Collection path: all namespaces when `namespace` is undefined (or the type is cluster-scoped). */
export function collectionPath(t: ResourceType, namespace?: string): string {
  return t.namespaced && namespace !== undefined ? `${groupPath(t)}/namespaces/${encodeURIComponent(namespace)}/${t.plural}` : `${groupPath(t)}/${t.plural}`;
}

export function objectPath(t: ResourceType, name: string, namespace?: string, subresource?: string): string {
  const base = t.namespaced ? `${groupPath(t)}/namespaces/${encodeURIComponent(namespace ?? 'default')}/${t.plural}` : `${groupPath(t)}/${t.plural}`;
  return `${base}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

/** The resource type of an emitted object, from its apiVersion and kind. */
export function typeOfObject(o: Pick<KubeObject, 'apiVersion' | 'kind'>): ResourceType {
  const [group, version] = o.apiVersion.includes('/') ? (o.apiVersion.split('/') as [string, string]) : ['', o.apiVersion];
  const known = [MESH_CLUSTERS, MESH_WORKLOADS, FAILOVER_SERVICES, MESH_WORKLOAD_GRANTS, SECRETS, SERVICES, LEASES, NAMESPACES, CRDS, EVENTS, ENDPOINT_SLICES].find((t) => t.group === group && t.kind === o.kind);
  if (known) return { ...known, version };
  const plural = pluralForKind(o.kind);
  if (!plural) throw new Error(`no resource mapping for ${o.apiVersion} ${o.kind}`);
  return rt(group, version, o.kind, plural);
}

/** Identity of an object independent of the API version it is read at: `group/Kind/namespace/name`. */
export function objectKey(o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  // Not memoised per object: a WeakMap over every object the controller ever keyed grew to hundreds of thousands
  // of entries, and resizing it after a GC stalled reconciles for ~60 ms. Callers that key the same objects
  // repeatedly keep the keys themselves (render blocks, the labelled map).
  const meta = o.metadata;
  const slash = o.apiVersion.indexOf('/');
  // Joined, not concatenated: a flat string (a concatenation is a tree of parts); the controller keeps one per
  // desired and per live object.
  return [slash < 0 ? '' : o.apiVersion.slice(0, slash), o.kind, meta.namespace ?? '', meta.name].join('/');
}
