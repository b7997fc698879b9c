// Resource types the double serves: built-ins (with small hand-written schemas) and CRD-defined ones.
import type { StatusCause } from './errors.ts';
import type { Json, JsonObject } from './json.ts';
import { isObject, obj, str } from './json.ts';
import type { Schema } from './schema.ts';
import { asSchema } from './schema.ts';

export interface ServerContext {
  /** Next cluster IP for Services ("10.96.x.y"). */
  allocateClusterIP(): string;
  allocateNodePort(): number;
  now(): string;
}

export interface ResourceType {
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
  storageVersion: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Schema per version; undefined means "accept anything" (no pruning). */
  schemas: Record<string, Schema | undefined>;
  statusSubresource: boolean;
  builtIn: boolean;
  /** metadata.generation is maintained (bumped on spec changes). */
  generation: boolean;
  /** Extra field selector labels beyond metadata.name / metadata.namespace. */
  fieldLabels: string[];
  /** Name validation: DNS-1123 label (63, no dots) or subdomain (253). */
  nameRule: 'label' | 'subdomain' | 'path';
  onCreate?(o: JsonObject, ctx: ServerContext): void;
  onUpdate?(old: JsonObject, next: JsonObject, ctx: ServerContext): void;
  validate?(o: JsonObject, old: JsonObject | undefined): StatusCause[];
}

export const apiVersionOf = (t: ResourceType, version: string): string => (t.group ? `${t.group}/${version}` : version);

const STR_MAP: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const ANY: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const CONDITIONS: Schema = {
  type: 'array',
  items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

function base(p: Partial<ResourceType> & Pick<ResourceType, 'group' | 'plural' | 'kind' | 'namespaced' | 'schemas'>): ResourceType {
  const versions = Object.keys(p.schemas);
  return {
    versions,
    storageVersion: versions[0]!,
    singular: p.kind.toLowerCase(),
    listKind: `${p.kind}List`,
    shortNames: [],
    categories: [],
    statusSubresource: false,
    builtIn: true,
    generation: false,
    fieldLabels: [],
    nameRule: 'subdomain',
    ...p,
  };
}

const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function keyCauses(o: JsonObject, field: string): StatusCause[] {
  const m = obj(o[field]);
  if (!m) return [];
  return Object.keys(m)
    .filter((k) => !CONFIGMAP_KEY.test(k) || k.length > 253)
    .map((k) => ({ reason: 'FieldValueInvalid', field: `${field}[${k}]`, message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` }));
}

function immutableCauses(o: JsonObject, old: JsonObject | undefined, fields: string[]): StatusCause[] {
  if (!old || old.immutable !== true) return [];
  const changed = fields.some((f) => JSON.stringify(o[f] ?? null) !== JSON.stringify(old[f] ?? null)) || o.immutable !== true;
  return changed ? [{ reason: 'FieldValueForbidden', field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' }] : [];
}

export function builtInTypes(): ResourceType[] {
  const namespace = base({
    group: '',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    nameRule: 'label',
    statusSubresource: true,
    fieldLabels: ['status.phase'],
    schemas: {
      v1: {
        type: 'object',
        properties: {
          spec: { type: 'object', properties: { finalizers: { type: 'array', items: { type: 'string' } } } },
          status: { type: 'object', properties: { phase: { type: 'string' }, conditions: CONDITIONS } },
        },
      },
    },
    onCreate(o) {
      o.spec = { finalizers: ['kubernetes'], ...(obj(o.spec) ?? {}) };
      o.status = { phase: 'Active' };
    },
  });

  const configmap = base({
    group: '',
    plural: 'configmaps',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    schemas: { v1: { type: 'object', properties: { data: STR_MAP, binaryData: STR_MAP, immutable: { type: 'boolean' } } } },
    validate: (o, old) => [...keyCauses(o, 'data'), ...keyCauses(o, 'binaryData'), ...immutableCauses(o, old, ['data', 'binaryData'])],
  });

  const secret = base({
    group: '',
    plural: 'secrets',
    kind: 'Secret',
    namespaced: true,
    fieldLabels: ['type'],
    schemas: {
      v1: {
        type: 'object',
        properties: { data: STR_MAP, stringData: STR_MAP, type: { type: 'string' }, immutable: { type: 'boolean' } },
      },
    },
    onCreate: (o) => normalizeSecret(o),
    onUpdate: (_old, o) => normalizeSecret(o),
    validate: (o, old) => {
      const out = [...keyCauses(o, 'data'), ...immutableCauses(o, old, ['data'])];
      for (const [k, v] of Object.entries(obj(o.data) ?? {})) {
        if (typeof v === 'string' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
          out.push({ reason: 'FieldValueInvalid', field: `data[${k}]`, message: 'Invalid value: "<secret contents redacted>": illegal base64 data' });
        }
      }
      if (old && old.type !== o.type) out.push({ reason: 'FieldValueInvalid', field: 'type', message: `Invalid value: ${JSON.stringify(o.type)}: field is immutable` });
      return out;
    },
  });

  const port: Schema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      protocol: { type: 'string', default: 'TCP' },
      appProtocol: { type: 'string' },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      targetPort: { 'x-kubernetes-int-or-string': true },
      nodePort: { type: 'integer' },
    },
    required: ['port'],
  };
  const service = base({
    group: '',
    plural: 'services',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    nameRule: 'label',
    statusSubresource: true,
    schemas: {
      v1: {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: {
              type: { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] },
              ports: { type: 'array', items: port, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['port', 'protocol'] },
              selector: { ...STR_MAP, 'x-kubernetes-map-type': 'atomic' },
              clusterIP: { type: 'string' },
              clusterIPs: { type: 'array', items: { type: 'string' } },
              externalIPs: { type: 'array', items: { type: 'string' } },
              externalName: { type: 'string' },
              externalTrafficPolicy: { type: 'string' },
              internalTrafficPolicy: { type: 'string' },
              ipFamilies: { type: 'array', items: { type: 'string' } },
              ipFamilyPolicy: { type: 'string' },
              loadBalancerIP: { type: 'string' },
              loadBalancerClass: { type: 'string' },
              loadBalancerSourceRanges: { type: 'array', items: { type: 'string' } },
              allocateLoadBalancerNodePorts: { type: 'boolean' },
              healthCheckNodePort: { type: 'integer' },
              publishNotReadyAddresses: { type: 'boolean' },
              sessionAffinity: { type: 'string' },
              sessionAffinityConfig: ANY,
              trafficDistribution: { type: 'string' },
            },
          },
          status: {
            type: 'object',
            properties: {
              loadBalancer: {
                type: 'object',
                properties: { ingress: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
              },
              conditions: CONDITIONS,
            },
          },
        },
      },
    },
    onCreate: (o, ctx) => defaultService(o, undefined, ctx),
    onUpdate: (old, o, ctx) => defaultService(o, old, ctx),
    validate: (o) => {
      const spec = obj(o.spec) ?? {};
      const headless = spec.clusterIP === 'None';
      const ports = spec.ports;
      if (spec.type !== 'ExternalName' && !headless && (!Array.isArray(ports) || ports.length === 0)) {
        return [{ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' }];
      }
      if (spec.type === 'ExternalName' && !spec.externalName) return [{ reason: 'FieldValueRequired', field: 'spec.externalName', message: 'Required value' }];
      return [];
    },
  });

  const lease = base({
    group: 'coordination.k8s.io',
    plural: 'leases',
    kind: 'Lease',
    namespaced: true,
    schemas: {
      v1: {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: {
              holderIdentity: { type: 'string' },
              leaseDurationSeconds: { type: 'integer' },
              acquireTime: { type: 'string' },
              renewTime: { type: 'string' },
              leaseTransitions: { type: 'integer' },
              strategy: { type: 'string' },
              preferredHolder: { type: 'string' },
            },
          },
        },
      },
    },
  });

  const event = base({
    group: '',
    plural: 'events',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    schemas: { v1: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
  });

  // discovery.k8s.io/v1 EndpointSlices, as the endpoint-slice controller writes them (tests write them by hand:
  // the double, like the real server under test, runs no controllers). addressType is required and immutable;
  // endpoints need at least one address, IPv4 ones a valid IPv4 address.
  const endpointConditions: Schema = { type: 'object', properties: { ready: { type: 'boolean' }, serving: { type: 'boolean' }, terminating: { type: 'boolean' } } };
  const endpoint: Schema = {
    type: 'object',
    required: ['addresses'],
    properties: {
      addresses: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
      conditions: endpointConditions,
      hostname: { type: 'string' },
      nodeName: { type: 'string' },
      zone: { type: 'string' },
      targetRef: { type: 'object', 'x-kubernetes-map-type': 'atomic', properties: { kind: { type: 'string' }, namespace: { type: 'string' }, name: { type: 'string' }, uid: { type: 'string' }, apiVersion: { type: 'string' }, resourceVersion: { type: 'string' }, fieldPath: { type: 'string' } } },
      hints: ANY,
      deprecatedTopology: STR_MAP,
    },
  };
  const endpointSlice = base({
    group: 'discovery.k8s.io',
    plural: 'endpointslices',
    kind: 'EndpointSlice',
    namespaced: true,
    schemas: {
      v1: {
        type: 'object',
        required: ['addressType'],
        properties: {
          addressType: { type: 'string', enum: ['IPv4', 'IPv6', 'FQDN'] },
          endpoints: { type: 'array', items: endpoint, maxItems: 1000, 'x-kubernetes-list-type': 'atomic' },
          ports: {
            type: 'array',
            maxItems: 100,
            'x-kubernetes-list-type': 'atomic',
            items: { type: 'object', properties: { name: { type: 'string' }, protocol: { type: 'string', default: 'TCP' }, port: { type: 'integer' }, appProtocol: { type: 'string' } } },
          },
        },
      },
    },
    validate: (o, old) => {
      const out: StatusCause[] = [];
      if (old && old.addressType !== o.addressType) out.push({ reason: 'FieldValueInvalid', field: 'addressType', message: `Invalid value: ${JSON.stringify(o.addressType)}: field is immutable` });
      const eps = Array.isArray(o.endpoints) ? o.endpoints : [];
      eps.forEach((e, i) => {
        const addrs = isObject(e) && Array.isArray(e.addresses) ? e.addresses : [];
        if (addrs.length === 0) out.push({ reason: 'FieldValueRequired', field: `endpoints[${i}].addresses`, message: 'Required value: must contain at least 1 address' });
        if (o.addressType !== 'IPv4') return;
        addrs.forEach((a, j) => {
          if (typeof a === 'string' && !IPV4.test(a)) out.push({ reason: 'FieldValueInvalid', field: `endpoints[${i}].addresses[${j}]`, message: `Invalid value: ${JSON.stringify(a)}: must be a valid IPv4 address` });
        });
      });
      return out;
    },
  });

  const crd = base({
    group: 'apiextensions.k8s.io',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    statusSubresource: true,
    generation: true,
    schemas: { v1: { type: 'object', properties: { spec: ANY, status: ANY } } },
    validate: validateCRD,
    onCreate: (o, ctx) => crdStatus(o, ctx),
    onUpdate: (_old, o, ctx) => crdStatus(o, ctx),
  });

  return [namespace, configmap, secret, service, lease, event, endpointSlice, crd];
}

function normalizeSecret(o: JsonObject): void {
  const sd = obj(o.stringData);
  if (sd) {
    const data = obj(o.data) ?? {};
    for (const [k, v] of Object.entries(sd)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    o.data = data;
    delete o.stringData;
  }
  if (!o.type) o.type = 'Opaque';
}

function defaultService(o: JsonObject, old: JsonObject | undefined, ctx: ServerContext): void {
  const spec = obj(o.spec) ?? (o.spec = {});
  const oldSpec = old ? obj(old.spec) : undefined;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    if (!spec.clusterIP) spec.clusterIP = str(oldSpec?.clusterIP) ?? ctx.allocateClusterIP();
    spec.clusterIPs ??= [spec.clusterIP];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (!isObject(p)) continue;
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port ?? null;
      if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort === undefined) {
        const prev = Array.isArray(oldSpec?.ports) ? oldSpec.ports.find((q) => isObject(q) && q.port === p.port && q.protocol === p.protocol) : undefined;
        p.nodePort = isObject(prev) && typeof prev.nodePort === 'number' ? prev.nodePort : ctx.allocateNodePort();
      }
    }
  }
  if (spec.type === 'LoadBalancer' || spec.type === 'NodePort') spec.externalTrafficPolicy ??= 'Cluster';
  if (!isObject(o.status)) o.status = { loadBalancer: {} };
}

function crdStatus(o: JsonObject, ctx: ServerContext): void {
  const spec = obj(o.spec) ?? {};
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : [];
  const storage = versions.find((v) => v.storage === true);
  const status = obj(o.status) ?? {};
  const prev = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
  const since = (type: string) => str(prev.find((c) => c.type === type)?.lastTransitionTime) ?? ctx.now();
  const stored = Array.isArray(status.storedVersions) ? status.storedVersions.filter((v): v is string => typeof v === 'string') : [];
  const sv = str(storage?.name);
  if (sv && !stored.includes(sv)) stored.push(sv);
  const names = obj(spec.names) ?? {};
  const accepted: JsonObject = { ...names };
  accepted.singular ??= (str(names.kind) ?? '').toLowerCase();
  accepted.listKind ??= `${str(names.kind) ?? ''}List`;
  o.status = {
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: since('NamesAccepted'), reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: since('Established'), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    acceptedNames: accepted,
    storedVersions: stored,
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function structuralCauses(s: Schema, field: string, root: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  const free = s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-int-or-string'] === true;
  if (!s.type && !free) {
    out.push({ reason: 'FieldValueRequired', field: `${field}.type`, message: root ? 'Required value: must not be empty at the root' : 'Required value: must not be empty for specified object fields' });
  }
  if (root && s.type && s.type !== 'object') {
    out.push({ reason: 'FieldValueInvalid', field: `${field}.type`, message: `Invalid value: "${s.type}": must be object at the root` });
  }
  for (const [k, ps] of Object.entries(s.properties ?? {})) out.push(...structuralCauses(ps, `${field}.properties[${k}]`, false));
  if (s.items) out.push(...structuralCauses(s.items, `${field}.items`, false));
  if (s.type === 'array' && !s.items) out.push({ reason: 'FieldValueRequired', field: `${field}.items`, message: 'Required value: must be specified' });
  if (isObject(s.additionalProperties as Json)) out.push(...structuralCauses(s.additionalProperties as Schema, `${field}.additionalProperties`, false));
  return out;
}

export function validateCRD(o: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = obj(o.spec);
  if (!spec) return [{ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' }];
  const group = str(spec.group) ?? '';
  const names = obj(spec.names) ?? {};
  const plural = str(names.plural) ?? '';
  const kind = str(names.kind) ?? '';
  const name = str(obj(o.metadata)?.name) ?? '';
  if (!group) out.push({ reason: 'FieldValueRequired', field: 'spec.group', message: 'Required value' });
  else if (!group.includes('.')) out.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: "${group}": should be a domain with at least one dot` });
  if (!plural) out.push({ reason: 'FieldValueRequired', field: 'spec.names.plural', message: 'Required value' });
  else if (!DNS_LABEL.test(plural)) out.push({ reason: 'FieldValueInvalid', field: 'spec.names.plural', message: `Invalid value: "${plural}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
  if (!kind) out.push({ reason: 'FieldValueRequired', field: 'spec.names.kind', message: 'Required value' });
  if (plural && group && name !== `${plural}.${group}`) {
    out.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` });
  }
  const scope = spec.scope;
  if (scope === undefined) out.push({ reason: 'FieldValueRequired', field: 'spec.scope', message: 'Required value' });
  else if (scope !== 'Namespaced' && scope !== 'Cluster') out.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(scope)}: supported values: "Cluster", "Namespaced"` });
  if (old && obj(old.spec)?.scope !== scope) out.push({ reason: 'FieldValueInvalid', field: 'spec.scope', message: `Invalid value: ${JSON.stringify(scope)}: field is immutable` });
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) out.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: 'Invalid value: null: must have exactly one version marked as storage version' });
  else if (versions.filter((v) => isObject(v) && v.storage === true).length !== 1) {
    out.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  }
  versions.forEach((v, i) => {
    if (!isObject(v)) return;
    if (!str(v.name)) out.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].name`, message: 'Required value' });
    const schema = asSchema(obj(v.schema)?.openAPIV3Schema);
    if (!schema) out.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
    else out.push(...structuralCauses(schema, `spec.versions[${i}].schema.openAPIV3Schema`, true));
  });
  return out;
}

/** The resource type a (valid) CRD object defines. */
export function typeFromCRD(crd: JsonObject): ResourceType {
  const spec = obj(crd.spec) ?? {};
  const names = obj(spec.names) ?? {};
  const kind = str(names.kind) ?? '';
  const all = (Array.isArray(spec.versions) ? spec.versions : []).filter(isObject);
  const served = all.filter((v) => v.served !== false);
  const schemas: Record<string, Schema | undefined> = {};
  let status = false;
  for (const v of served) {
    schemas[str(v.name) ?? ''] = asSchema(obj(v.schema)?.openAPIV3Schema);
    if (isObject(obj(v.subresources)?.status)) status = true;
  }
  const storage = str(all.find((v) => v.storage === true)?.name) ?? str(served[0]?.name) ?? '';
  const strList = (v: Json | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    group: str(spec.group) ?? '',
    versions: served.map((v) => str(v.name) ?? ''),
    storageVersion: storage,
    plural: str(names.plural) ?? '',
    singular: str(names.singular) ?? kind.toLowerCase(),
    kind,
    listKind: str(names.listKind) ?? `${kind}List`,
    namespaced: spec.scope !== 'Cluster',
    shortNames: strList(names.shortNames),
    categories: strList(names.categories),
    schemas,
    statusSubresource: status,
    builtIn: false,
    generation: true,
    fieldLabels: [],
    nameRule: 'subdomain',
  };
}
