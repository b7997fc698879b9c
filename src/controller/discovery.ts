/**
 * Service discovery (pure): Services in member clusters become MeshWorkloads in the management cluster, named
 * `<service>-<cluster>` in the service's namespace (so `reviews-cluster1` resolves in a FailoverService).
 *
 * - Discovered MeshWorkloads carry `app.kubernetes.io/managed-by=spillway` and `spillway.dev/discovered-from`;
 *   anything without both is hand-written and is never modified, deleted or renamed.
 * - Name collisions (a hand-written MeshWorkload already has the name, or two services map to the same name,
 *   e.g. service `a-b` in cluster `c` and service `a` in cluster `b-c`) resolve deterministically: a discovered
 *   workload keeps the name it already has; otherwise candidates in (namespace, service, cluster) order take the
 *   plain name if free, else `<service>-<cluster>-<hash8>` (hash of cluster/namespace/service). Each fallback is
 *   reported (notes, and an annotation on the workload).
 * - A cluster whose Services are unknown (not listed yet, or unreachable since connecting) keeps its discovered
 *   workloads unchanged; a cluster that is no longer registered loses them.
 */
import { API_VERSION, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/types.ts';
import type { KubeObject, WorkloadPort } from '../api/types.ts';
import { createHash } from 'node:crypto';

export const LABEL_DISCOVERED_FROM = 'spillway.dev/discovered-from';
export const LABEL_SERVICE_NAME = 'spillway.dev/service-name';
export const LABEL_SERVICE_NAMESPACE = 'spillway.dev/service-namespace';
export const ANNOTATION_NAME_CONFLICT = 'spillway.dev/name-conflict';
/** A Service labelled `spillway.dev/discovery=disabled` is not discovered. */
export const LABEL_DISCOVERY = 'spillway.dev/discovery';

export const DEFAULT_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system'];

export interface DiscoveryInput {
  /** Every registered cluster: its Services when known, undefined when not (keep what was discovered before). */
  services: ReadonlyMap<string, readonly KubeObject[] | undefined>;
  /** Every MeshWorkload in the management cluster. */
  existing: readonly KubeObject[];
  excludeNamespaces: ReadonlySet<string>;
}

export interface DiscoveryNote {
  cluster: string;
  namespace: string;
  service: string;
  name: string;
  message: string;
}

export interface DiscoveryResult {
  /** Discovered MeshWorkloads as they should be. */
  desired: KubeObject[];
  /** Discovered MeshWorkloads to delete. */
  remove: KubeObject[];
  /** Hand-written plus desired discovered MeshWorkloads: what the render should see. */
  effective: KubeObject[];
  notes: DiscoveryNote[];
}

export function isDiscovered(o: KubeObject): boolean {
  const l = o.metadata.labels ?? {};
  return l[LABEL_MANAGED_BY] === MANAGED_BY_VALUE && typeof l[LABEL_DISCOVERED_FROM] === 'string';
}

interface ServicePortLike {
  name?: string;
  port?: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

const APP_PROTOCOLS: Record<string, string> = {
  http: 'HTTP',
  http2: 'HTTP2',
  https: 'HTTPS',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-WEB',
  tcp: 'TCP',
  tls: 'TLS',
  mongo: 'MONGO',
  mysql: 'MYSQL',
  redis: 'REDIS',
  thrift: 'THRIFT',
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
};

/** Istio's explicit protocol selection: `appProtocol`, else the port name's prefix (`http-web`), else TCP (UDP kept). */
export function istioProtocol(p: ServicePortLike): string {
  if (p.protocol === 'UDP') return 'UDP';
  const app = p.appProtocol?.toLowerCase();
  if (app && APP_PROTOCOLS[app]) return APP_PROTOCOLS[app];
  const prefix = (p.name ?? '').toLowerCase();
  const byName = APP_PROTOCOLS[prefix] ?? APP_PROTOCOLS[prefix.split('-')[0] ?? ''];
  if (prefix.startsWith('grpc-web')) return 'GRPC-WEB';
  return byName ?? 'TCP';
}

interface Candidate {
  /** The member's Service it was found from. */
  source: KubeObject;
  cluster: string;
  namespace: string;
  service: string;
  ports: WorkloadPort[];
  selector?: Record<string, string>;
}

const identity = (c: { cluster: string; namespace: string; service: string }): string => `${c.cluster}/${c.namespace}/${c.service}`;

function candidatesOf(cluster: string, services: readonly KubeObject[], exclude: ReadonlySet<string>): Candidate[] {
  const out: Candidate[] = [];
  for (const s of services) {
    const ns = s.metadata.namespace ?? 'default';
    if (exclude.has(ns)) continue;
    if (ns === 'default' && s.metadata.name === 'kubernetes') continue;
    if (s.metadata.labels?.[LABEL_DISCOVERY] === 'disabled') continue;
    const spec = (s.spec ?? {}) as { type?: string; ports?: ServicePortLike[]; selector?: Record<string, unknown> };
    if (spec.type === 'ExternalName') continue;
    const ports = (spec.ports ?? [])
      .filter((p) => typeof p.port === 'number')
      .map((p): WorkloadPort => {
        // targetPort as the Service has it (defaulted by the API server to the port): the local tier's
        // ServiceEntry selects the pods directly and must reach the same container port.
        const tp = p.targetPort;
        const keep = (typeof tp === 'number' && Number.isInteger(tp) && tp !== p.port) || (typeof tp === 'string' && tp !== '' && tp !== String(p.port));
        return { name: p.name || `port-${p.port}`, number: p.port as number, protocol: istioProtocol(p), ...(keep ? { targetPort: /^[0-9]+$/.test(String(tp)) ? Number(tp) : (tp as string | number) } : {}) };
      });
    if (ports.length === 0) continue;
    // The pod selector makes the local tier a host of its own; a Service without one (endpoints managed by hand)
    // keeps the tier on the Service host.
    const selector = Object.fromEntries(Object.entries(spec.selector ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
    out.push({ source: s, cluster, namespace: ns, service: s.metadata.name, ports, ...(Object.keys(selector).length > 0 ? { selector } : {}) });
  }
  return out;
}

/**
 * The MeshWorkloads made last time, per member Service object (informer objects are replaced, never changed, on an
 * update): the same Service under the same name gives the very same object, so that the render, which compares its
 * documents by identity, sees only what changed instead of every discovered workload on every reconcile.
 */
const made = new WeakMap<KubeObject, { cluster: string; name: string; conflict: string | undefined; workload: KubeObject }>();
const assertedOf = new WeakMap<KubeObject, KubeObject>();

function workload(c: Candidate, name: string, conflict?: string): KubeObject {
  const m = made.get(c.source);
  if (m && m.cluster === c.cluster && m.name === name && m.conflict === conflict) return m.workload;
  const w = makeWorkload(c, name, conflict);
  made.set(c.source, { cluster: c.cluster, name, conflict, workload: w });
  return w;
}

function makeWorkload(c: Candidate, name: string, conflict?: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'MeshWorkload',
    metadata: {
      name,
      namespace: c.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_DISCOVERED_FROM]: c.cluster, [LABEL_SERVICE_NAME]: c.service, [LABEL_SERVICE_NAMESPACE]: c.namespace },
      ...(conflict ? { annotations: { [ANNOTATION_NAME_CONFLICT]: conflict } } : {}),
    },
    spec: { cluster: c.cluster, service: { name: c.service, namespace: c.namespace }, ports: c.ports, ...(c.selector ? { selector: c.selector } : {}) },
  };
}

/** Strips a live object to what discovery asserts (for carrying over workloads of clusters in an unknown state). */
function asserted(o: KubeObject): KubeObject {
  let a = assertedOf.get(o);
  if (!a) assertedOf.set(o, (a = makeAsserted(o)));
  return a;
}

function makeAsserted(o: KubeObject): KubeObject {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, labels: o.metadata.labels, ...(o.metadata.annotations?.[ANNOTATION_NAME_CONFLICT] ? { annotations: { [ANNOTATION_NAME_CONFLICT]: o.metadata.annotations[ANNOTATION_NAME_CONFLICT] } } : {}) },
    spec: o.spec,
  };
}

/**
 * The last discovery's inputs and result: the same inputs (every member's Services and every MeshWorkload the very
 * same objects, in the same order; the same excluded namespaces) give the very same result without a pass over
 * the names. A reconcile woken by anything but a Service or MeshWorkload change (a FailoverService edit, a member's
 * Istio objects, a resync) then costs one identity comparison per object instead of a discovery.
 */
export class DiscoveryMemo {
  private services: [string, readonly KubeObject[] | undefined][] | undefined;
  private existing: readonly KubeObject[] = [];
  private exclude = '';
  private result: DiscoveryResult | undefined;
  /** Discoveries computed (the rest were the last result again). */
  computed = 0;

  get(input: DiscoveryInput): DiscoveryResult | undefined {
    if (!this.result || !this.services || this.services.length !== input.services.size) return undefined;
    if (!sameList(this.existing, input.existing) || this.exclude !== excludeKey(input.excludeNamespaces)) return undefined;
    let i = 0;
    for (const [cluster, list] of input.services) {
      const [c, l] = this.services[i++] as [string, readonly KubeObject[] | undefined];
      if (c !== cluster || (l === undefined) !== (list === undefined) || (l && list && !sameList(l, list))) return undefined;
    }
    return this.result;
  }

  set(input: DiscoveryInput, result: DiscoveryResult): void {
    this.services = [...input.services];
    this.existing = input.existing;
    this.exclude = excludeKey(input.excludeNamespaces);
    this.result = result;
    this.computed++;
  }
}

function excludeKey(s: ReadonlySet<string>): string {
  return [...s].sort().join('\u0000');
}

function sameList(a: readonly KubeObject[], b: readonly KubeObject[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** discoverWorkloads, reusing the last result (`memo`) while its inputs are the very same objects. */
export function discoverWorkloadsWith(memo: DiscoveryMemo, input: DiscoveryInput): DiscoveryResult {
  const known = memo.get(input);
  if (known) return known;
  const result = discoverWorkloads(input);
  memo.set(input, result);
  return result;
}

export function discoverWorkloads(input: DiscoveryInput): DiscoveryResult {
  const handWritten = input.existing.filter((o) => !isDiscovered(o));
  const discovered = input.existing.filter(isDiscovered);
  const taken = new Set(handWritten.map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`));
  const desired: KubeObject[] = [];
  const notes: DiscoveryNote[] = [];

  // Clusters in an unknown state keep what they had.
  for (const o of discovered) {
    const cluster = o.metadata.labels?.[LABEL_DISCOVERED_FROM] ?? '';
    if (input.services.has(cluster) && input.services.get(cluster) === undefined) {
      taken.add(`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`);
      desired.push(asserted(o));
    }
  }

  const candidates: Candidate[] = [];
  for (const [cluster, services] of [...input.services].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (services) candidates.push(...candidatesOf(cluster, services, input.excludeNamespaces));
  }
  candidates.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.service, b.service) || cmp(a.cluster, b.cluster));

  // A discovered workload keeps its current name.
  const current = new Map<string, KubeObject>();
  for (const o of discovered) {
    const l = o.metadata.labels ?? {};
    current.set(identity({ cluster: l[LABEL_DISCOVERED_FROM] ?? '', namespace: l[LABEL_SERVICE_NAMESPACE] ?? o.metadata.namespace ?? 'default', service: l[LABEL_SERVICE_NAME] ?? '' }), o);
  }
  const placed = new Map<string, { name: string; conflict?: string }>();
  for (const c of candidates) {
    const cur = current.get(identity(c));
    if (!cur || (cur.metadata.namespace ?? 'default') !== c.namespace) continue;
    const k = `${c.namespace}/${cur.metadata.name}`;
    if (taken.has(k)) continue;
    taken.add(k);
    placed.set(identity(c), { name: cur.metadata.name, conflict: cur.metadata.annotations?.[ANNOTATION_NAME_CONFLICT] });
  }
  for (const c of candidates) {
    if (placed.has(identity(c))) continue;
    const plain = `${c.service}-${c.cluster}`;
    if (!taken.has(`${c.namespace}/${plain}`)) {
      taken.add(`${c.namespace}/${plain}`);
      placed.set(identity(c), { name: plain });
      continue;
    }
    let name = `${plain}-${shortHex(identity(c))}`;
    for (let i = 2; taken.has(`${c.namespace}/${name}`); i++) name = `${plain}-${shortHex(identity(c))}-${i}`;
    taken.add(`${c.namespace}/${name}`);
    const holder = handWritten.some((o) => (o.metadata.namespace ?? 'default') === c.namespace && o.metadata.name === plain) ? 'a hand-written MeshWorkload' : 'another discovered service';
    const conflict = `${plain} is taken by ${holder}; service ${c.namespace}/${c.service} of cluster ${c.cluster} is named ${name}`;
    placed.set(identity(c), { name, conflict });
  }
  for (const c of candidates) {
    const p = placed.get(identity(c))!;
    desired.push(workload(c, p.name, p.conflict));
    if (p.conflict) notes.push({ cluster: c.cluster, namespace: c.namespace, service: c.service, name: p.name, message: p.conflict });
  }

  const keep = new Set(desired.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
  const remove = discovered.filter((o) => !keep.has(`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`));
  return { desired, remove, effective: [...handWritten, ...desired], notes };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 8 lowercase hex characters (valid in DNS names) identifying a discovered service. */
function shortHex(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, 8);
}
