/**
 * The one table of every code Spillway reports: the analyzer's per-object messages (SPW1xx), the simulator's
 * findings (SIM0xx), `spillway check`'s findings (SPC1xx), the CLI's input errors (SPW0xx), refused member
 * kubeconfigs and credential warnings (SPW2xx) and the controller's Events about live tier shares (SPW3xx).
 *
 * A message is data, as a Zod issue is: a stable code, a level, the object it is about, a field path into that
 * object and parameters typed per code. Its text is rendered from the parameters by the code's entry here and
 * never assembled where the message is raised, so `-o json` readers get the values and every text of one code
 * reads alike. The wording may change; the codes may not (append only, never renumber or reuse one).
 *
 * This file sits in src/api so that every layer (model, analyze, translate, simulate, check, controller, cli)
 * may import it. It imports nothing.
 *
 * Adding a code: pick a free number in your range, add an entry `SPWnnn: entry('error', 'ShortName', 'one-line
 * title', (p: { ...typed params }) => `text`)` below, raise it with `reporter.report('SPWnnn', ref, params,
 * path?)` (or `message(...)`), and run `npm run docs:messages` to regenerate docs/messages.md (a test fails when
 * the page and the table differ, and when a code of the table is never raised by the source).
 */

export type Level = 'error' | 'warning' | 'info';

/** A code's row in the table. `render` turns the code's params into the message text. */
export interface CodeEntry<P> {
  level: Level;
  /** Short PascalCase name, stable like the code (for programs matching on names rather than numbers). */
  name: string;
  /** What the code means, in one line (the docs list and `--help`-style listings show it). */
  title: string;
  render: (params: P) => string;
}

const entry = <P>(level: Level, name: string, title: string, render: (params: P) => string): CodeEntry<P> => ({ level, name, title, render });

const list = (xs: readonly string[]): string => xs.join(', ');
const at = (p: { at?: string }): string => (p.at ? `${p.at}: ` : '');

/** What the SPW111 name check found invalid (the label before the validator's words). */
export type NameSubject =
  | 'metadata.name'
  | 'metadata.namespace'
  | 'clusterName'
  | 'serviceName'
  | 'serviceNamespace'
  | 'localTierHost'
  | 'localHost'
  | 'gatewayName'
  | 'hostname'
  | 'globalHost'
  | 'remoteHost';

function nameSubject(p: { subject: NameSubject; workload?: string }): string {
  const w = p.workload ?? '';
  switch (p.subject) {
    case 'metadata.name': return 'metadata.name';
    case 'metadata.namespace': return 'metadata.namespace';
    case 'clusterName': return `cluster name of ${w}:`;
    case 'serviceName': return `service name of ${w}:`;
    case 'serviceNamespace': return `service namespace of ${w}:`;
    case 'localTierHost': return `local tier host of ${w}:`;
    case 'localHost': return `local host of ${w}:`;
    case 'gatewayName': return 'the receiving Gateway name (a DNS-1123 label, as istiod requires)';
    case 'hostname': return 'spec.hostname';
    case 'globalHost': return 'the derived global host';
    case 'remoteHost': return 'the derived remote host';
  }
}

/** Envoy's defaults the simulator's texts name. */
const ENVOY_DEFAULT_MAX_EJECTION_PERCENT = 10;
const ENVOY_DEFAULT_PANIC_THRESHOLD = 50;

/** Where the simulator's finding is: FailoverService `<namespace>/<name>` and the client cluster. */
interface SimWhere {
  service: string;
  client: string;
}
const tierWhat = (p: { role: 'local' | 'remote'; client: string; cluster: string }): string =>
  p.role === 'local' ? `the local service in ${p.client}` : `the gateway of ${p.cluster}`;

/** Codes whose messages are rendered from typed params: the analyzer's and the simulator's. */
export const MESSAGES = {
  SPW100: entry('error', 'InvalidSpec', 'the object does not match its schema', (p:
    | { reason: 'schema'; at?: string; path: string; detail: string }
    | { reason: 'apiVersion'; apiVersion: string; served: string }
    | { reason: 'noName'; at: string }) => {
    if (p.reason === 'apiVersion') return `apiVersion ${p.apiVersion} is not served; use ${p.served}`;
    if (p.reason === 'noName') return `${p.at}: metadata.name is required`;
    return `${at(p)}${p.path || '(root)'}: ${p.detail}`;
  }),
  SPW101: entry('error', 'UnknownWorkload', 'a referenced MeshWorkload is invalid', (p: { workload: string }) =>
    `MeshWorkload ${p.workload} is invalid (see its own messages)`),
  SPW102: entry('error', 'UnknownCluster', 'a referenced MeshCluster is invalid', (p: { workload: string; cluster: string }) =>
    `MeshWorkload ${p.workload} is in cluster ${p.cluster}, whose MeshCluster is invalid (see its own messages)`),
  SPW103: entry('error', 'DuplicateCluster', 'two workloads of one FailoverService are in the same cluster', (p: { workloads: string[]; cluster: string }) =>
    `workloads ${list(p.workloads)} are all in cluster ${p.cluster}; list one workload per cluster`),
  SPW104: entry('error', 'TooFewClusters', 'a FailoverService needs workloads in at least two clusters', (p: { clusters: string[] }) =>
    `only cluster ${list(p.clusters)} is listed; failover needs workloads in at least two clusters`),
  SPW105: entry('error', 'PortMismatch', 'the failover port differs across workloads', (p: { workload: string; port: number; firstWorkload: string; firstPort: number }) =>
    `port ${p.port} of ${p.workload} differs from port ${p.firstPort} of ${p.firstWorkload}; the global host has one port`),
  SPW106: entry('error', 'ProtocolMismatch', 'the failover port\'s protocol differs across workloads', (p: { workload: string; protocol: string; firstWorkload: string; firstProtocol: string }) =>
    `protocol ${p.protocol} of ${p.workload} differs from ${p.firstProtocol} of ${p.firstWorkload}`),
  SPW107: entry('error', 'PortNotChosen', 'a multi-port service needs spec.port', (p: { workload: string; ports: string[] }) =>
    `MeshWorkload ${p.workload} has ports ${list(p.ports)}; set spec.port to the one to fail over`),
  SPW108: entry('error', 'PortNotFound', 'spec.port is not a port of the workload', (p: { port: string | number; workload: string; ports: string[] }) =>
    `spec.port ${String(p.port)} is not a port of MeshWorkload ${p.workload} (${list(p.ports)})`),
  SPW109: entry('error', 'UnsupportedProtocol', 'the protocol cannot be carried by the L7 spill-over path', (p: { workload: string; portName: string; portNumber: number; protocol: string; normalized: string; istioProtocol: boolean }) =>
    `port ${p.portName}/${p.portNumber} of ${p.workload} uses ${p.protocol}: ${p.istioProtocol ? `the remote gateway routes spilled-over requests on their Host header, which ${p.normalized} does not carry` : `${p.normalized} is not an Istio protocol`}; use HTTP, HTTP2, GRPC or GRPC-WEB`),
  SPW110: entry('error', 'MissingGateway', 'a cluster that receives spill-over has no gateway', (p: { cluster: string; workload: string }) =>
    `cluster ${p.cluster} receives spill-over for ${p.workload} but MeshCluster ${p.cluster} has no spec.gateway`),
  SPW111: entry('error', 'InvalidName', 'a name or host is not valid DNS-1123', (p: { subject: NameSubject; workload?: string; at?: string; problem: string; embedded?: boolean }) =>
    `${at(p)}${nameSubject(p)} ${p.problem}${p.embedded ? ' (it is embedded in hosts and label values)' : ''}`),
  SPW112: entry('error', 'HostConflict', 'two FailoverServices claim the same host', (p: { host: string; owner: string }) =>
    `host ${p.host} is already claimed by ${p.owner}`),
  SPW113: entry('error', 'ServiceConflict', 'two FailoverServices claim the same service', (p: { service: string; owner: string }) =>
    `service ${p.service} is already served by ${p.owner}`),
  SPW114: entry('error', 'AddressConflict', 'two FailoverServices claim the same virtual address', (p: { address: string; owner: string }) =>
    `spec.address ${p.address} is already used by ${p.owner}`),
  SPW115: entry('warning', 'AddressMoved', 'the derived virtual address was taken; another was chosen', (p: { from: string; host: string; owner: string; address: string }) =>
    `address ${p.from} derived from ${p.host} is used by ${p.owner}; using ${p.address} (pin it with spec.address to keep it)`),
  SPW116: entry('error', 'IstioVersionUnsupported', 'the cluster\'s Istio version is too old', (p: { cluster: string; version: string }) =>
    `cluster ${p.cluster} runs Istio ${p.version}; Spillway needs Istio 1.5 or later (aggregate clusters through EnvoyFilter)`),
  SPW117: entry('warning', 'IstioVersionCrash', 'this Istio version can crash sidecars on aggregate clusters', (p: { cluster: string; version: string }) =>
    `cluster ${p.cluster} runs Istio ${p.version}: sidecars of 1.8.0 to 1.8.2 can crash on aggregate-cluster EnvoyFilters (istio/istio#28620); upgrade to 1.8.3 or later`),
  SPW118: entry('error', 'DuplicateWorkload', 'a workload is listed twice', (p: { workload: string }) =>
    `spec.meshWorkloads lists ${p.workload} more than once`),
  SPW119: entry('error', 'DuplicateObject', 'two input documents have the same kind and name', (p: { object: string }) =>
    `${p.object} is defined more than once; every definition is ignored`),
  SPW120: entry('info', 'IgnoredKind', 'the document is not a Spillway resource and is ignored', (p: { at: string; kind?: string; apiVersion?: string; hostsRead: boolean }) =>
    `${p.at}: ${p.kind || 'a document without kind'}${p.apiVersion ? ` (${p.apiVersion})` : ''} is not a Spillway resource; ${p.hostsRead ? 'only its hosts are read: no FailoverService may take them (SPW143)' : 'ignored'}`),
  SPW121: entry('warning', 'AssumedApiVersion', 'the document was read with an assumed apiVersion or kind spelling', (p: { at: string; apiVersion: string; kind: string }) =>
    `${p.at}: read as ${p.apiVersion} ${p.kind}; write apiVersion: ${p.apiVersion} and kind: ${p.kind}`),
  SPW122: entry('error', 'ObjectConflict', 'two FailoverServices would write the same object', (p: { kind: string; namespace: string; name: string; cluster: string; owner: string }) =>
    `${p.kind} ${p.namespace}/${p.name} in cluster ${p.cluster} is already written for ${p.owner}`),
  SPW123: entry('error', 'InvalidAddress', 'an address is not valid', (p: { address: string; cluster?: string }) =>
    p.cluster === undefined
      ? `spec.address "${p.address}" is not an IPv4 address`
      : `gateway address "${p.address}" of MeshCluster ${p.cluster} is neither an IP address nor a DNS name`),
  SPW124: entry('error', 'NotADocument', 'a YAML document is not a Kubernetes object', (p: { at: string }) =>
    `${p.at}: expected a mapping with apiVersion, kind and metadata`),
  SPW125: entry('warning', 'ZeroEjection', 'outlier detection can never eject a host, so failover depends on readiness alone', (p: { setting: 'maxEjectionPercent' | 'consecutive5xxErrors' }) =>
    p.setting === 'maxEjectionPercent'
      ? 'spec.outlierDetection.maxEjectionPercent is 0: no host is ever ejected, so a failing remote gateway keeps its share of traffic'
      : 'spec.outlierDetection.consecutive5xxErrors is 0 and no consecutiveGatewayErrors is set: errors never eject a host'),
  SPW126: entry('warning', 'PanicThreshold', 'a non-zero panic threshold can send traffic to a tier with no healthy host', (p: { percent: number }) =>
    `spec.panicThreshold is ${p.percent}%: when every tier is below it, Envoy spreads load by host count and sends requests to tiers with no healthy host`),
  SPW127: entry('warning', 'WorkloadUnavailable', 'a listed MeshWorkload does not exist: its cluster is left out of the tiers', (p: { workload: string }) =>
    `MeshWorkload ${p.workload} not found; left out of the tiers`),
  SPW128: entry('warning', 'ClusterUnavailable', 'a listed MeshWorkload names a cluster with no MeshCluster: it is left out of the tiers', (p: { workload: string; cluster: string }) =>
    `MeshWorkload ${p.workload} names cluster ${p.cluster}, but no MeshCluster ${p.cluster} exists; left out of the tiers`),
  SPW129: entry('error', 'NoWorkloadAvailable', 'none of the listed MeshWorkloads is available', (p: { workloads: string[] }) =>
    `none of ${list(p.workloads)} is available: nothing can serve this FailoverService`),
  SPW130: entry('error', 'UnknownKind', 'a document of the spillway.dev group (or spelled like one of its kinds) has a kind Spillway does not serve', (p: { at: string; kind?: string; suggestion?: string; group: string; kinds: string[] }) =>
    `${p.at}: ${p.kind ? `${p.kind}: ` : 'no kind: '}${p.suggestion ? `did you mean ${p.suggestion}?` : `${p.group} serves ${list(p.kinds)}`}`),
  SPW131: entry('warning', 'ReservedAddress', 'the pinned virtual address is in Istio\'s auto-allocation range 240.240.0.0/16', (p: { address: string }) =>
    `spec.address ${p.address} is in 240.240.0.0/16, where Istio auto-allocates ServiceEntry addresses when DNS proxying allocates them: another host may get the same address; pick one elsewhere in 240.0.0.0/4 or leave spec.address out`),
  SPW132: entry('warning', 'SharedLocalHost', 'the local tier\'s health settings go on the Service host, shared with every caller', (p:
    | { reason: 'noSelector'; workload: string; cluster: string }
    | { reason: 'istioVersion'; cluster: string; version: string }) =>
    p.reason === 'noSelector'
      ? `MeshWorkload ${p.workload} has no spec.selector, so the local tier in ${p.cluster} is the Service host itself: a DestinationRule of your own for it replaces Spillway's outlier detection (or loses to it), and an ejection there stops every caller of the Service; set spec.selector to the Service's pod selector`
      : `cluster ${p.cluster} runs Istio ${p.version}, whose ServiceEntries cannot select pods, so the local tier there is the Service host itself: a DestinationRule of your own for it replaces Spillway's outlier detection (or loses to it), and an ejection there stops every caller of the Service`),
  SPW133: entry('error', 'InvalidTargetPort', 'a workload port\'s targetPort is not a port number or a container port name', (p: { workload: string; port: string; targetPort: number | string }) =>
    typeof p.targetPort === 'number'
      ? `MeshWorkload ${p.workload}: port ${p.port} targetPort ${p.targetPort} is not a port number (1-65535)`
      : `MeshWorkload ${p.workload}: port ${p.port} targetPort "${p.targetPort}" is neither a number nor a container port name (lower-case, at most 15 characters, with a letter)`),
  SPW134: entry('warning', 'GatewayNodePort', 'a gateway port in the NodePort range has no servicePort, so the Gateway server names a port no Service has', (p: { cluster: string; port: number; entrance: 'https' | 'http' }) =>
    p.entrance === 'https'
      ? `MeshCluster ${p.cluster}: gateway port ${p.port} looks like a NodePort and no servicePort is set, so the Gateway server is written on ${p.port}; istiod finds no such port on the gateway Service and makes the gateway listen on ${p.port}, which kube-proxy never forwards to. Set spec.gateway.servicePort to the Service port behind the NodePort (443 on the common charts)`
      : `MeshCluster ${p.cluster}: gateway.http.port ${p.port} looks like a NodePort and no http.servicePort is set; set it to the Service port behind the NodePort (80 on the common charts)`),
  SPW135: entry('error', 'PlaintextSharesPort', 'plain-HTTP spill-over would share a gateway port with HTTPS servers', (p: { reason: 'noHttpEntrance' | 'sharedPort'; cluster: string; port: number }) =>
    p.reason === 'noHttpEntrance'
      ? `tls.mode DISABLE needs a plain-HTTP entrance in cluster ${p.cluster}: set spec.gateway.http {port, servicePort} on MeshCluster ${p.cluster} (a plain-HTTP server on gateway port ${p.port} cannot share its listener with HTTPS servers there, Spillway's own or a public HTTPS ingress; istiod drops whichever Gateway is newer)`
      : `spec.gateway.http of MeshCluster ${p.cluster} uses gateway port ${p.port}, ${p.port === 443 ? 'the HTTPS port' : 'the port of its HTTPS servers'}: a plain-HTTP server there would take that listener from the HTTPS servers (or lose it); use the Service's plain-HTTP port (80 on the common charts)`),
  SPW140: entry('error', 'CrossNamespaceWorkload', 'a FailoverService uses a MeshWorkload or Service of another namespace without a MeshWorkloadGrant', (p: { workload: string; namespace: string; service?: string; from: string }) =>
    `MeshWorkload ${p.workload} ${p.service !== undefined ? `names Service ${p.namespace}/${p.service}` : `is in namespace ${p.namespace}`}; a FailoverService of namespace ${p.from} may use it only if a MeshWorkloadGrant in ${p.namespace} lists namespace ${p.from} in spec.from`),
  SPW141: entry('error', 'KubernetesHost', 'spec.hostname names a host Kubernetes owns (a *.svc.<clusterDomain> name)', (p: { host: string; clusterDomain: string; namespace: string }) =>
    `spec.hostname ${p.host} is a Kubernetes Service host (*.svc.${p.clusterDomain}): Spillway would replace that Service's cluster for every proxy in the mesh; use a host under .${p.namespace}.<suffix>`),
  SPW142: entry('error', 'HostOutsideNamespace', 'spec.hostname is not under the FailoverService\'s namespace and an allowed suffix', (p: { host: string; namespace: string; suffixes: string[] }) =>
    `spec.hostname ${p.host} must end with .${p.namespace}.<suffix> (the FailoverService's namespace, then an allowed suffix: ${list(p.suffixes) || 'none'}), so no namespace can take another's hosts`),
  SPW143: entry('error', 'ExistingServiceEntryHost', 'the global host is a host of a ServiceEntry Spillway did not write (the mesh already routes it)', (p: { host: string; derived: boolean; owner: string }) =>
    `${p.derived ? 'the derived global host' : 'spec.hostname'} ${p.host} is a host of ${p.owner}, which Spillway did not write: the mesh already routes it, and Spillway would replace its cluster for every proxy; choose another host`),
  SPW160: entry('warning', 'LocalOnly', 'only one listed cluster is available: it serves locally, with no failover', (p: { cluster: string; workload: string }) =>
    `only cluster ${p.cluster} is available; it serves ${p.workload} locally, with no failover`),
  SPW161: entry('warning', 'ClientOnly', 'a listed MeshWorkload does not exist but its cluster is registered: the cluster keeps the global host for its clients, with no local tier', (p: { workload: string; cluster: string; remotes: string[] }) =>
    `MeshWorkload ${p.workload} not found; cluster ${p.cluster} serves no local tier: its clients keep the global host and spill to ${list(p.remotes)} through their gateways`),

  // The simulator (`spillway simulate`, the controller's live tier shares): what Envoy's maths says about the render.
  SIM001: entry('warning', 'NoOutlierDetection', 'an aggregate child has no outlier detection in the client\'s cluster', (p: SimWhere & { child: string; host: string; role: 'local' | 'remote'; cluster: string }) =>
    `${p.service} in ${p.client}: aggregate child ${p.child} has no outlier detection (no DestinationRule with outlierDetection for ${p.host}); failures of ${tierWhat(p)} are never ejected, so traffic never fails over from it`),
  SIM002: entry('warning', 'EjectionCapTooSmall', 'maxEjectionPercent absent (10%) or too small to eject one of the child\'s hosts', (p: SimWhere & { host: string; hosts: number; maxEjectionPercent?: number; assumed: boolean; role: 'local' | 'remote'; cluster: string }) =>
    `${p.service} in ${p.client}: ${p.maxEjectionPercent !== undefined ? `maxEjectionPercent ${p.maxEjectionPercent}` : `maxEjectionPercent is absent (Envoy default ${ENVOY_DEFAULT_MAX_EJECTION_PERCENT}%)`} on ${p.host} cannot eject a single one of its ${p.hosts} host(s)${p.assumed ? ' (size assumed: give --healthy <cluster>=<healthy>/<total>)' : ''} (Envoy >= 1.28 checks the cap before the first ejection; needs >= ${Math.ceil(100 / p.hosts)}), so ${tierWhat(p)} never fails over`),
  SIM003: entry('warning', 'PanicToDeadTier', 'a panic threshold > 0 on the aggregate sends traffic to a tier with no healthy host', (p: SimWhere & { aggregate: string; panicThreshold?: number; percent: number; cluster: string }) =>
    `${p.service} from ${p.client}: aggregate ${p.aggregate} has ${p.panicThreshold !== undefined ? `healthy_panic_threshold ${p.panicThreshold}` : `no healthy_panic_threshold (Envoy default ${ENVOY_DEFAULT_PANIC_THRESHOLD}%)`}; every tier is in panic, so ${p.percent}% of requests go to ${p.cluster}, which has no healthy instance`),
  SIM004: entry('warning', 'NoHealthyUpstream', 'no healthy upstream in any tier: every request fails', (p: SimWhere) =>
    `${p.service} from ${p.client}: no healthy upstream in any tier; every request fails with 503`),
  SIM005: entry('warning', 'NoEjectionTrigger', 'outlier detection present but with every trigger disabled', (p: SimWhere & { host: string }) =>
    `${p.service} in ${p.client}: outlier detection for ${p.host} has every trigger disabled (consecutive5xxErrors 0, no consecutiveGatewayErrors); nothing is ever ejected`),
  SIM006: entry('warning', 'DeadTierNotEjected', 'traffic goes to a tier with no healthy instance because Envoy cannot eject its hosts', (p: SimWhere & { percent: number; cluster: string; hosts: number }) =>
    `${p.service} from ${p.client}: ${p.percent}% of requests go to ${p.cluster}, which has no healthy instance, because Envoy cannot eject its ${p.hosts} host(s)`),
  SIM007: entry('warning', 'UnknownRemoteCluster', 'a remote ServiceEntry whose cluster cannot be identified (treated as healthy)', (p: SimWhere & { serviceEntry: string; host: string }) =>
    `${p.service} in ${p.client}: cannot tell which cluster ServiceEntry ${p.serviceEntry} (${p.host}) leads to; its endpoints are treated as healthy`),
  SIM008: entry('warning', 'NoAggregate', 'an EnvoyFilter of a FailoverService adds no aggregate, or an aggregate with no children', (p: SimWhere & ({ reason: 'noAggregate'; envoyFilter: string } | { reason: 'noChildren'; aggregate: string })) =>
    p.reason === 'noAggregate'
      ? `${p.service} in ${p.client}: EnvoyFilter ${p.envoyFilter} adds no aggregate cluster; nothing to simulate`
      : `${p.service} in ${p.client}: aggregate ${p.aggregate} lists no child clusters; Envoy rejects it`),
  SIM009: entry('warning', 'LocalityLbOn', 'the local tier\'s DestinationRule leaves locality load balancing on, so Istio splits it into one level per zone', (p: SimWhere & { host: string }) =>
    `${p.service} in ${p.client}: the DestinationRule for ${p.host} has outlier detection and leaves locality load balancing on, so Istio splits the local tier into one priority level per region/zone; these figures treat it as one level (set trafficPolicy.loadBalancer.localityLbSetting.enabled: false)`),
} as const;

/** A code whose text the table renders. */
export type MessageCode = keyof typeof MESSAGES;
/** The params a code takes: a wrong shape for a code is a compile error. */
export type ParamsOf<C extends MessageCode> = Parameters<(typeof MESSAGES)[C]['render']>[0];

/** The object a message is about, as far as it is known. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
  /** The member cluster (a simulator finding's client cluster, a check's cluster). */
  cluster?: string;
}

/** One message, typed by its code. */
export interface MessageOf<C extends MessageCode> {
  code: C;
  level: Level;
  /** The input object the message is about: `Kind/namespace/name`, `Kind/name` for cluster-scoped kinds, or a document position (`file:line`, `document #n`). */
  object: string;
  /** `object` as fields, when it names an object (absent for a document position). */
  ref?: ObjectRef;
  /** JSON path of the field the message is about, inside `object` (`spec.meshWorkloads[1]`), when there is one. */
  path?: string;
  params: ParamsOf<C>;
  /** The text, rendered from `params` by the table. */
  message: string;
}

/** Any message: narrow on `code` to get its params' type. */
export type Message = { [C in MessageCode]: MessageOf<C> }[MessageCode];

/** `Kind/namespace/name` (or `Kind/name`) as an ObjectRef; undefined for a document position. */
export function parseObjectRef(object: string, cluster?: string): ObjectRef | undefined {
  if (/:\d+$|^document #/.test(object)) return undefined;
  const parts = object.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) return undefined;
  const [kind, a, b] = parts as [string, string, string | undefined];
  return { kind, ...(b !== undefined ? { namespace: a, name: b } : { name: a }), ...(cluster !== undefined ? { cluster } : {}) };
}

/** The text of a code's message with these params (the only place message text is made). */
export function renderMessage<C extends MessageCode>(code: C, params: ParamsOf<C>): string {
  return (MESSAGES[code].render as (p: ParamsOf<C>) => string)(params);
}

/**
 * Builds a message. `clean` makes input text safe to show (the analyzer passes escapeControl): it is applied to
 * every string in params, so the rendered text is clean too and still renders back from the params.
 */
export function message<C extends MessageCode>(
  code: C,
  object: string,
  params: ParamsOf<C>,
  opts: { path?: string; cluster?: string; clean?: (s: string) => string } = {},
): MessageOf<C> {
  const clean = opts.clean;
  const p = clean ? (cleanStrings(params, clean) as ParamsOf<C>) : params;
  const obj = clean ? clean(object) : object;
  const ref = parseObjectRef(obj, opts.cluster);
  return {
    code,
    level: MESSAGES[code].level,
    object: obj,
    ...(ref ? { ref } : {}),
    ...(opts.path !== undefined ? { path: clean ? clean(opts.path) : opts.path } : {}),
    params: p,
    message: renderMessage(code, p),
  };
}

function cleanStrings(v: unknown, clean: (s: string) => string): unknown {
  if (typeof v === 'string') return clean(v);
  if (Array.isArray(v)) return v.map((x) => cleanStrings(x, clean));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = cleanStrings(x, clean);
    return out;
  }
  return v;
}

/**
 * `spillway check`'s codes (SPC1xx). A check result carries its own level (pass, warn, fail, skip); `level` here
 * is the worst a finding of the code can be (`error` when it can fail, `warning` when it only warns).
 */
export const CHECK_CODES = {
  SPC100: { level: 'error', name: 'Reachable', title: 'a member cluster cannot be reached' },
  SPC101: { level: 'error', name: 'IstioApi', title: 'networking.istio.io is not served at the versions the cluster\'s output profile writes' },
  SPC102: { level: 'error', name: 'Istiod', title: 'istiod is missing, not ready, or its version implies another output profile' },
  SPC110: { level: 'error', name: 'SpillwayCrds', title: 'Spillway\'s CRDs are missing in the management cluster' },
  SPC111: { level: 'error', name: 'SpillwayController', title: 'no Spillway controller runs or renews the leader Lease' },
  SPC120: { level: 'error', name: 'DnsCapture', title: 'Istio\'s DNS proxy is off for clients of a global host' },
  SPC121: { level: 'error', name: 'IstioCoreDns', title: 'Istio 1.5-1.7: no istiocoredns, or no global stub domain' },
  SPC130: { level: 'error', name: 'RootOfTrust', title: 'two clusters that spill over to each other share no root certificate' },
  SPC140: { level: 'error', name: 'GatewayServicePort', title: 'no gateway Service exposes the port the MeshCluster names' },
  SPC141: { level: 'error', name: 'GatewayTargetPort', title: 'the rendered Gateway server port is neither a port nor a target port of the gateway Service' },
  SPC142: { level: 'error', name: 'GatewayAddress', title: 'the gateway\'s external address is not the one other clusters dial' },
  SPC150: { level: 'error', name: 'Injection', title: 'sidecar injection is off, or pods of the service run without a sidecar' },
  SPC151: { level: 'error', name: 'Ambient', title: 'the namespace or pods are in ambient mode (unsupported)' },
  SPC160: { level: 'error', name: 'UserDestinationRule', title: 'a user DestinationRule sets a trafficPolicy for a host Spillway writes one for' },
  SPC161: { level: 'error', name: 'UserVirtualService', title: 'a user VirtualService routes the global host elsewhere' },
  SPC162: { level: 'error', name: 'SidecarHidesHosts', title: 'a Sidecar\'s egress hosts hide the global and remote hosts' },
  SPC163: { level: 'warning', name: 'ExportToDefaults', title: 'mesh exportTo defaults hide Spillway\'s objects from other namespaces' },
  SPC164: { level: 'error', name: 'EndpointDiscovery', title: 'Istio merges other clusters\' endpoints into the local tier (no clusterLocal)' },
  SPC199: { level: 'error', name: 'CheckCrashed', title: 'a check itself threw (a bug)' },
} as const satisfies Record<string, { level: Level; name: string; title: string }>;
export type CheckCode = keyof typeof CHECK_CODES;

/** A check finding's text and, on a warn or fail, what to change. */
export interface Finding {
  message: string;
  hint?: string;
}

/** A root certificate as a finding names it (its SHA-256 fingerprint; texts show the first 23 characters). */
export interface RootCertRef {
  subject: string;
  sha256: string;
}

/** A Service port as a finding names it. */
export interface ServicePortRef {
  name?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

/** A listing a check could not read: what it lists, and whether the server does not serve it or answered an error. */
export interface Unverified {
  what: string;
  notServed?: boolean;
  error?: string;
}
const unverified = (u: Unverified): string => (u.notServed ? `${u.what} are not served by this API server` : `${u.what} could not be read: ${u.error ?? ''}`);

/** `443->8443 (NodePort 30443)`. */
export const showPort = (p: ServicePortRef): string => `${p.port}${p.targetPort !== undefined && p.targetPort !== p.port ? `->${p.targetPort}` : ''}${p.nodePort ? ` (NodePort ${p.nodePort})` : ''}`;

/**
 * Renderers of every `spillway check` finding (SPC1xx), from typed params. A code's params are a union keyed by `result`, one
 * member per outcome the check reports; the level (pass, warn, fail, skip) stays the check's decision.
 */
export const CHECK_FINDINGS = {
  SPC100: (p: { result: 'unreachable'; cluster: string; via: string; error: string } | { result: 'reached'; cluster: string; via: string; kubernetesVersion?: string } | { result: 'noClusters' }): Finding => {
    if (p.result === 'unreachable') return { message: `cannot reach cluster ${p.cluster} (${p.via}): ${p.error}`, hint: 'check the kubeconfig context or the MeshCluster\'s kubeconfig Secret; every other check skips this cluster' };
    if (p.result === 'reached') return { message: `reached ${p.cluster} (${p.via}), Kubernetes ${p.kubernetesVersion ?? 'version unknown'}` };
    return { message: 'no member clusters: the inputs name no MeshCluster' };
  },
  SPC101: (p:
    | { result: 'notServed'; cluster: string; error?: string }
    | { result: 'missingKinds'; cluster: string; missing: { kind: string; version: string }[]; profile?: string; versions: string[] }
    | { result: 'served'; cluster: string; versions: string[] }): Finding => {
    if (p.result === 'notServed') return { message: `Istio's API (networking.istio.io) is not served${p.error ? `: ${p.error}` : ''}`, hint: 'install Istio (its CRDs and istiod) in this cluster' };
    if (p.result === 'missingKinds') {
      return {
        message: `Istio's API does not serve ${list(p.missing.map((m) => `${m.kind} ${m.version}`))}, which the ${p.profile ?? '?'} output profile writes (served versions: ${list(p.versions)})`,
        hint: `set spec.istio.version on MeshCluster ${p.cluster} to the Istio version this cluster runs, or install Istio's CRDs of that version`,
      };
    }
    return { message: `Istio's API serves every kind Spillway writes (networking.istio.io ${list(p.versions)})` };
  },
  SPC102: (p:
    | { result: 'versionUnreadable'; cluster: string; rootNamespace: string; error: string }
    | { result: 'notFound'; cluster: string; rootNamespace: string }
    | { result: 'noVersion'; cluster: string; rootNamespace: string }
    | { result: 'notReady'; cluster: string; rootNamespace: string; version: string; source: string }
    | { result: 'tooOld' | 'crashBug'; cluster: string; version: string; source: string }
    | { result: 'profileMismatch'; cluster: string; version: string; source: string; needs: string; declared?: string; renders: string }
    | { result: 'versionDiffers'; cluster: string; version: string; source: string; declared: string; profile: string }
    | { result: 'matches'; cluster: string; version: string; source: string; profile: string; declared?: string }): Finding => {
    const minor = (v: string): string => v.split('.').slice(0, 2).join('.');
    const said = (declared: string | undefined): string => (declared ? `spec.istio.version ${declared}` : 'no spec.istio.version (modern assumed)');
    switch (p.result) {
      case 'versionUnreadable': return {
        message: `could not tell which Istio version runs: Deployments and Pods in ${p.rootNamespace} could not be read (${p.error}) and the mesh ConfigMap carries no version label`,
        hint: `grant get/list on deployments and pods in ${p.rootNamespace}, or set spec.istio.version on MeshCluster ${p.cluster} and check it by hand: kubectl -n ${p.rootNamespace} get deploy istiod -o jsonpath='{.spec.template.spec.containers[0].image}'`,
      };
      case 'notFound': return { message: `no istiod Deployment or pod in ${p.rootNamespace}`, hint: `install Istio, or set spec.istio.rootNamespace on MeshCluster ${p.cluster} if its control plane lives elsewhere` };
      case 'noVersion': return { message: `istiod found in ${p.rootNamespace} but its version could not be read from its image tag or labels`, hint: `set spec.istio.version on MeshCluster ${p.cluster} to the version it runs` };
      case 'notReady': return { message: `istiod ${p.version} (${p.source}) has no ready replica`, hint: `kubectl -n ${p.rootNamespace} describe ${p.source.split('/')[0]?.toLowerCase() ?? 'deploy'} ${p.source.split('/').pop() ?? 'istiod'}` };
      case 'tooOld': return { message: `Istio ${p.version} (${p.source}) is older than 1.5: no aggregate clusters through EnvoyFilter`, hint: 'upgrade Istio to 1.5 or later (1.22+ for the modern profile)' };
      case 'crashBug': return { message: `Istio ${p.version} (${p.source}): sidecars of 1.8.0 to 1.8.2 can crash on aggregate-cluster EnvoyFilters (istio/istio#28620)`, hint: 'upgrade Istio to 1.8.3 or later' };
      case 'profileMismatch': return {
        message: `Istio ${p.version} runs (${p.source}), which needs the ${p.needs} output profile, but MeshCluster ${p.cluster} has ${said(p.declared)}, which renders the ${p.renders} profile`,
        hint: `set spec.istio.version: "${minor(p.version)}" on MeshCluster ${p.cluster}`,
      };
      case 'versionDiffers': return {
        message: `Istio ${p.version} runs (${p.source}); MeshCluster ${p.cluster} says ${p.declared}: same ${p.profile} output profile, but keep them equal`,
        hint: `set spec.istio.version: "${minor(p.version)}" on MeshCluster ${p.cluster}`,
      };
      case 'matches': return { message: `Istio ${p.version} (${p.source}): ${p.profile} output profile, as MeshCluster ${p.cluster} selects (${said(p.declared)})` };
    }
  },
  SPC110: (p:
    | { result: 'noManagement' }
    | { result: 'unreachable'; via: string; error: string }
    | { result: 'crdsUnreadable'; error: string }
    | { result: 'crdsMissing'; version: string; missing: string[] }
    | { result: 'installed'; version: string; crds: string[] }): Finding => {
    switch (p.result) {
      case 'noManagement': return { message: 'no management cluster given (inputs came from files): CRDs and controller not checked' };
      case 'unreachable': return { message: `cannot reach the management cluster (${p.via}): ${p.error}`, hint: 'check --kubeconfig/--management-context' };
      case 'crdsUnreadable': return { message: `could not read CustomResourceDefinitions: ${p.error}`, hint: 'grant get on customresourcedefinitions, or check by hand: kubectl get crd -l app.kubernetes.io/part-of=spillway' };
      case 'crdsMissing': return { message: `CRDs missing or not serving ${p.version}: ${list(p.missing)}`, hint: 'spillway crds | kubectl apply -f -   (or spillway install | kubectl apply -f -)' };
      case 'installed': return { message: `CRDs installed: ${list(p.crds)} (${p.version})` };
    }
  },
  SPC111: (p:
    | { result: 'notInstalled' | 'notReady' | 'neverHeld'; namespace: string }
    | { result: 'leaseUnreadable'; namespace: string; error: string }
    | { result: 'notHeld'; namespace: string; holder?: string; renewedSecondsAgo?: number; leaseSeconds: number }
    | { result: 'leads'; holder: string; renewedSecondsAgo: number; deployment: 'ready' | 'notServed' | 'none'; ready: number }): Finding => {
    switch (p.result) {
      case 'notInstalled': return { message: `no spillway-controller Deployment and no leader Lease in namespace ${p.namespace}: the controller is not installed`, hint: 'spillway install | kubectl apply -f -   (or run spillway controller --kubeconfig ...)' };
      case 'notReady': return { message: `Deployment ${p.namespace}/spillway-controller has no ready replica`, hint: `kubectl -n ${p.namespace} describe deploy spillway-controller; kubectl -n ${p.namespace} logs deploy/spillway-controller` };
      case 'leaseUnreadable': return { message: `could not read Lease ${p.namespace}/spillway-controller: ${p.error}`, hint: 'grant get on leases in the controller namespace' };
      case 'neverHeld': return { message: `no controller has ever held Lease ${p.namespace}/spillway-controller`, hint: `kubectl -n ${p.namespace} logs deploy/spillway-controller` };
      case 'notHeld': return {
        message: `no controller holds Lease ${p.namespace}/spillway-controller${p.holder ? ` (${p.holder} last renewed it ${p.renewedSecondsAgo ?? '?'}s ago, lease ${p.leaseSeconds}s)` : ''}: nothing keeps the clusters in sync`,
        hint: `kubectl -n ${p.namespace} get pods -l app.kubernetes.io/name=spillway; kubectl -n ${p.namespace} logs deploy/spillway-controller`,
      };
      case 'leads': return { message: `controller ${p.holder} leads (Lease renewed ${p.renewedSecondsAgo}s ago)${p.deployment === 'ready' ? `, Deployment ${p.ready} ready` : p.deployment === 'notServed' ? '' : ', running outside a Deployment'}` };
    }
  },
  SPC120: (p:
    | { result: 'podsOff'; cluster: string; hosts: string[]; off: number; candidates: number; pods: string[]; meshConfig?: string; rootNamespace: string; meshWideOff: boolean }
    | { result: 'meshWide'; cluster: string; hosts: string[]; meshConfig?: string; rootNamespace: string }
    | { result: 'allPods'; cluster: string; pods: number }
    | { result: 'off'; cluster: string; hosts: string[]; meshConfig?: string; rootNamespace: string; meshConfigError?: string; podsUnread?: Unverified }
    | { result: 'noClient' }): Finding => {
    const where = (q: { meshConfig?: string; rootNamespace: string }): string => (q.meshConfig !== undefined ? `mesh config ${q.meshConfig}` : `mesh config (no ConfigMap istio in ${q.rootNamespace})`);
    switch (p.result) {
      case 'podsOff': return {
        message: `${p.off} of ${p.candidates} client pod(s) have Istio's DNS proxy off, so ${list(p.hosts)} does not resolve there: ${list(p.pods.slice(0, 5))}${p.off > 5 ? ', ...' : ''}`,
        hint: p.meshWideOff
          ? `${where(p)} sets ISTIO_META_DNS_CAPTURE to false; set it to "true" under defaultConfig.proxyMetadata and restart the pods`
          : 'set meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE: "true" (or annotate the pods proxy.istio.io/config: \'{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}\') and restart them',
      };
      case 'meshWide': return { message: `DNS capture is on mesh-wide (${where(p)}): ${list(p.hosts)} resolves in every sidecar` };
      case 'allPods': return { message: `DNS capture is off mesh-wide but on in all ${p.pods} client pod(s) found` };
      case 'off': return {
        message: `DNS capture is not on mesh-wide (${where(p)}${p.meshConfigError ? `: ${p.meshConfigError}` : ''})${p.podsUnread ? `, and ${unverified(p.podsUnread)}` : ', and no client pod found sets it'}: apps cannot resolve ${list(p.hosts)}`,
        hint: 'set meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE: "true" (istioctl install --set meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true) and restart the client pods',
      };
      case 'noClient': return { message: 'no reachable client cluster' };
    }
  },
  SPC121: (p:
    | { result: 'noIstiocoredns'; cluster: string; rootNamespace: string }
    | { result: 'dnsUnreadable'; cluster: string; error: string }
    | { result: 'noStubDomain'; cluster: string; hosts: string[]; rootNamespace: string }
    | { result: 'ok'; cluster: string; hosts: string[] }): Finding => {
    switch (p.result) {
      case 'noIstiocoredns': return { message: `Istio 1.5-1.7 resolves .global hosts with the istiocoredns add-on, and there is no Service ${p.rootNamespace}/istiocoredns`, hint: 'install Istio with the istiocoredns add-on (values.istiocoredns.enabled=true)' };
      case 'dnsUnreadable': return { message: `istiocoredns present; kube-system DNS ConfigMaps could not be read (${p.error}), so the "global" stub domain is unverified`, hint: 'check kubectl -n kube-system get cm coredns -o yaml for a global:53 block forwarding to istiocoredns' };
      case 'noStubDomain': return { message: `istiocoredns present, but CoreDNS/kube-dns has no stub domain for "global": ${list(p.hosts)} will not resolve`, hint: `add to the Corefile: global:53 { errors; cache 30; forward . <clusterIP of ${p.rootNamespace}/istiocoredns>:53 }` };
      case 'ok': return { message: `istiocoredns and the "global" stub domain are in place for ${list(p.hosts)}` };
    }
  },
  SPC130: (p:
    | { result: 'noRoot'; cluster: string; lookedIn: string[] }
    | { result: 'unreadable'; cluster: string; source: string; error: string }
    | { result: 'rotating'; cluster: string; groups: string[][] }
    | { result: 'different'; clusters: [string, string]; roots: [RootCertRef[], RootCertRef[]] }
    | { result: 'shared'; clusters: string[]; common: RootCertRef[] }
    | { result: 'noMutualSpillover' }): Finding => {
    const describe = (certs: readonly RootCertRef[]): string => certs.map((c) => `${c.subject} ${c.sha256.slice(0, 23)}`).join('; ');
    switch (p.result) {
      case 'noRoot': return { message: `no istio-ca-root-cert ConfigMap found (looked in ${list(p.lookedIn)}): is istiod running?`, hint: 'istiod writes istio-ca-root-cert into every namespace; check that it runs and can write ConfigMaps' };
      case 'unreadable': return { message: `${p.source} holds no readable root certificate: ${p.error}`, hint: 'check the cacerts Secret istiod signs with (Istio\'s "plug in CA certificates" task)' };
      case 'rotating': return { message: `istio-ca-root-cert differs between namespaces (${p.groups.map((g) => g.join(' + ')).join(' vs ')}): a root rotation is under way or istiod has not caught up`, hint: 'wait for istiod to rewrite the ConfigMaps, then run check again' };
      case 'different': {
        const [a, b] = p.clusters;
        return {
          message: `clusters ${a} and ${b} have different roots of trust (${a}: ${describe(p.roots[0])}; ${b}: ${describe(p.roots[1])}): ISTIO_MUTUAL between them fails the TLS handshake, so spill-over between them fails`,
          hint: 'give every cluster\'s istiod intermediate certificates from one root (Istio\'s "plug in CA certificates" task: a cacerts Secret in istio-system), then restart istiod and the workloads',
        };
      }
      case 'shared': return { message: `${p.clusters.length} cluster(s) share a root of trust${p.common.length > 0 ? `: ${describe(p.common)}` : ' pairwise'}` };
      case 'noMutualSpillover': return { message: 'no ISTIO_MUTUAL spill-over between reachable clusters' };
    }
  },
  SPC140: (p:
    | { result: 'servicesUnreadable'; cluster: string; error: string }
    | { result: 'noService'; cluster: string; selector: Record<string, string> }
    | { result: 'portNotExposed'; cluster: string; port: number; service: string; type: string; ports: ServicePortRef[]; listenPort?: number }
    | { result: 'exposed'; cluster: string; port: number; service: string; type: string; nodePortOf?: number }
    | { result: 'noReceiver' }): Finding => {
    switch (p.result) {
      case 'servicesUnreadable': return { message: `Services could not be read (${p.error}): the gateway Service is unverified`, hint: 'grant list on services' };
      case 'noService': {
        const sel = Object.entries(p.selector).map(([k, v]) => `${k}=${v}`).join(',');
        return {
          message: `no Service selects the gateway pods (${sel}): other clusters cannot reach this gateway`,
          hint: `expose the gateway with a LoadBalancer or NodePort Service selecting ${sel}, or set spec.gateway.selector on MeshCluster ${p.cluster} to the labels of the gateway pods`,
        };
      }
      case 'portNotExposed': {
        const first = p.ports[0];
        return {
          message: `MeshCluster ${p.cluster} says other clusters dial port ${p.port}, but ${p.service} (${p.type}) exposes ${list(p.ports.map(showPort))}${p.listenPort !== undefined ? ` for Gateway port ${p.listenPort}` : ''}`,
          hint: p.type === 'LoadBalancer' ? `set spec.gateway.port: ${first?.port ?? '?'} on MeshCluster ${p.cluster}` : `set spec.gateway.port on MeshCluster ${p.cluster} to ${first?.nodePort !== undefined ? `the NodePort ${first.nodePort}` : 'an exposed port'} (or make ${p.service} a LoadBalancer/NodePort Service)`,
        };
      }
      case 'exposed': return { message: `${p.service} (${p.type}) exposes port ${p.port}${p.nodePortOf !== undefined ? ` as the NodePort of port ${p.nodePortOf}` : ''}` };
      case 'noReceiver': return { message: 'no reachable receiving cluster' };
    }
  },
  SPC141: (p:
    | { result: 'unbound'; cluster: string; serverPorts: number[]; listenPort: number; services: { service: string; ports: ServicePortRef[] }[]; nodePortOf?: number }
    | { result: 'port' | 'targetPort'; cluster: string; listenPort: number; service: string; port: ServicePortRef }): Finding => {
    if (p.result === 'unbound') {
      const rendered = list(p.serverPorts.map(String)) || String(p.listenPort);
      const all = p.services.map((s) => `${s.service} [${list(s.ports.map(showPort))}]`).join('; ');
      return {
        message: `the rendered Gateway server port ${rendered} is neither a port nor a target port of ${all}${p.nodePortOf !== undefined ? `; it is the NodePort of Service port ${p.nodePortOf}` : ''}: istiod will use it as a container port the gateway does not listen on`,
        hint: `set spec.gateway.listenPort on MeshCluster ${p.cluster} to the Service port the gateway serves mTLS on${p.nodePortOf !== undefined ? ` (${p.nodePortOf})` : ''}, keeping spec.gateway.port the port other clusters dial`,
      };
    }
    if (p.result === 'port') return { message: `Gateway server port ${p.listenPort} is port ${showPort(p.port)} of ${p.service}: istiod listens on target port ${p.port.targetPort ?? p.port.port}` };
    return {
      message: `Gateway server port ${p.listenPort} is no port of ${p.service} but the target port of its port ${p.port.port}: istiod uses it as the container port, which works, but breaks if the chart changes the mapping`,
      hint: `set spec.gateway.listenPort: ${p.port.port} on MeshCluster ${p.cluster} (the Service port; istiod translates it to ${p.listenPort})`,
    };
  },
  SPC142: (p:
    | { result: 'nodesUnreadable'; cluster: string; error: string; address: string; port: number }
    | { result: 'nodeAddress'; cluster: string; address: string; port: number }
    | { result: 'loadBalancerNodePort'; cluster: string; address: string; port: number; service: string; servicePort: number }
    | { result: 'notANode'; cluster: string; address: string; port: number; nodes: number }
    | { result: 'loadBalancer' | 'externalIP'; cluster: string; address: string; port: number; service: string }
    | { result: 'noLoadBalancerAddress'; cluster: string; address: string; port: number; service: string; serviceNamespace: string; serviceName: string }
    | { result: 'addressMismatch'; cluster: string; address: string; service: string; exposedAt: string[] }
    | { result: 'clusterIP'; cluster: string; address: string; port: number; service: string; isClusterIP: boolean }): Finding => {
    const where = (q: { address: string; port: number }): string => `${q.address}:${q.port}`;
    switch (p.result) {
      case 'nodesUnreadable': return { message: `nodes could not be read (${p.error}): ${p.address} is unverified as a node address for NodePort ${p.port}`, hint: 'grant list on nodes, or check by hand: kubectl get nodes -o wide' };
      case 'nodeAddress': return { message: `other clusters dial ${where(p)}: ${p.address} is a node address` };
      case 'loadBalancerNodePort': return { message: `${p.address} is the load balancer of ${p.service}, but ${p.port} is its NodePort: dial ${p.address}:${p.servicePort} instead`, hint: `set spec.gateway.port: ${p.servicePort} on MeshCluster ${p.cluster}` };
      case 'notANode': return {
        message: `${p.address} is not an address of any node${p.nodes === 0 ? ' (no Nodes listed)' : ''}: fine only if something in front of the nodes forwards ${where(p)} to NodePort ${p.port}`,
        hint: `set spec.gateway.address on MeshCluster ${p.cluster} to a node address other clusters can route to (kubectl get nodes -o wide)`,
      };
      case 'loadBalancer':
      case 'externalIP': return { message: `other clusters dial ${where(p)}: the ${p.result === 'loadBalancer' ? 'load balancer address' : 'external IP'} of ${p.service}` };
      case 'noLoadBalancerAddress': return { message: `${p.service} has no load balancer address yet: nothing answers at ${where(p)}`, hint: `kubectl -n ${p.serviceNamespace} describe svc ${p.serviceName} (is a load balancer controller running?)` };
      case 'addressMismatch': return { message: `MeshCluster ${p.cluster} says other clusters dial ${p.address}, but ${p.service} is exposed at ${list(p.exposedAt)}`, hint: `set spec.gateway.address: ${p.exposedAt[0] ?? ''} on MeshCluster ${p.cluster}` };
      case 'clusterIP': return {
        message: `${p.service} is a ClusterIP Service${p.isClusterIP ? ` and ${p.address} its cluster IP: reachable only from inside this cluster's network` : `: ${where(p)} is not where it is exposed`}`,
        hint: `expose the gateway with type LoadBalancer or NodePort and point spec.gateway on MeshCluster ${p.cluster} at that address and port`,
      };
    }
  },
  SPC150: (p:
    | { result: 'noNamespace'; cluster: string; namespace: string; service: string }
    | { result: 'podsWithoutSidecar'; cluster: string; namespace: string; service: string; without: number; pods: number; names: string[]; namespaceInjects: boolean }
    | { result: 'injectionDisabled'; cluster: string; namespace: string }
    | { result: 'injects'; cluster: string; namespace: string; service: string; by: 'label' | 'revision' | 'pods'; revision?: string; pods?: number }
    | { result: 'noInjectionLabel'; cluster: string; namespace: string; service: string; podsUnread?: Unverified; serviceExists: boolean }
    | { result: 'noService' }): Finding => {
    switch (p.result) {
      case 'noNamespace': return { message: `namespace ${p.namespace} does not exist`, hint: `create it and deploy ${p.service} there, or fix MeshWorkload for cluster ${p.cluster}` };
      case 'podsWithoutSidecar': return {
        message: `${p.without} of ${p.pods} pod(s) of Service/${p.namespace}/${p.service} have no istio-proxy sidecar: ${list(p.names.slice(0, 5))}${p.namespaceInjects ? ' (the namespace injects: restart them)' : ''}`,
        hint: p.namespaceInjects ? `kubectl -n ${p.namespace} rollout restart deploy` : `kubectl label ns ${p.namespace} istio-injection=enabled, then kubectl -n ${p.namespace} rollout restart deploy`,
      };
      case 'injectionDisabled': return { message: `namespace ${p.namespace} has istio-injection=disabled`, hint: `kubectl label ns ${p.namespace} istio-injection=enabled --overwrite, then restart the pods` };
      case 'injects': {
        const how = p.by === 'label' ? 'istio-injection=enabled' : p.by === 'revision' ? `istio.io/rev=${p.revision ?? ''}` : 'pods injected individually';
        return { message: `namespace ${p.namespace} injects sidecars (${how})${p.pods !== undefined ? `; ${p.pods} pod(s) of ${p.service} all have one` : ''}` };
      }
      case 'noInjectionLabel': return {
        message: `namespace ${p.namespace} has no injection label (istio-injection=enabled or istio.io/rev)${p.podsUnread ? ` and ${unverified(p.podsUnread)}` : p.serviceExists ? `, and ${p.service} has no pods` : `, and there is no Service ${p.service}`}`,
        hint: `kubectl label ns ${p.namespace} istio-injection=enabled (or istio.io/rev=<revision>), then restart the pods`,
      };
      case 'noService': return { message: 'no reachable cluster runs a failover service' };
    }
  },
  SPC151: (p:
    | { result: 'ambientNamespace'; cluster: string; namespace: string; service: string; globalHost: string }
    | { result: 'ambientPods'; cluster: string; namespace: string; service: string; count: number; pods: string[] }): Finding => {
    if (p.result === 'ambientNamespace') {
      return {
        message: `namespace ${p.namespace} is in ambient mode (istio.io/dataplane-mode=ambient): ztunnel and waypoints ignore Spillway's EnvoyFilter, so ${p.globalHost} gets no aggregate cluster here`,
        hint: `run ${p.service} and its callers with sidecars: kubectl label ns ${p.namespace} istio.io/dataplane-mode- istio-injection=enabled, then restart the pods`,
      };
    }
    return { message: `${p.count} pod(s) of Service/${p.namespace}/${p.service} are enrolled in ambient mode: ${list(p.pods.slice(0, 3))}`, hint: 'remove the istio.io/dataplane-mode label from those pods and inject sidecars' };
  },
  SPC160: (p:
    | { result: 'unreadable'; cluster: string; unread: Unverified; host: string }
    | { result: 'trafficPolicy'; cluster: string; rule: string; host: string; role: 'local' | 'global' | 'remote'; service: string }
    | { result: 'subsetsOnly'; cluster: string; rule: string; host: string; role: 'local' | 'global' | 'remote' }
    | { result: 'none'; cluster: string; hosts: string[] }
    | { result: 'noClient' }): Finding => {
    const role = (r: 'local' | 'global' | 'remote'): string => (r === 'local' ? 'the local tier' : r === 'global' ? 'the global host' : 'a remote tier');
    switch (p.result) {
      case 'unreadable': return { message: `${unverified(p.unread)}: user rules for ${p.host} are unverified`, hint: 'grant list on destinationrules.networking.istio.io' };
      case 'trafficPolicy': return {
        message: `${p.rule} sets a trafficPolicy for ${p.host} (${role(p.role)}); Istio applies one rule's trafficPolicy per host, so either Spillway's outlier detection or this rule's policy is silently dropped${p.role === 'local' ? ' (and with it failover from the local tier)' : ''}`,
        hint: `merge its settings into one rule: move its trafficPolicy (tls, connectionPool, ...) next to outlierDetection, or delete ${p.rule} and keep Spillway's ${p.service}-local`,
      };
      case 'subsetsOnly': return { message: `${p.rule} also targets ${p.host} (${role(p.role)}), with subsets only: Istio merges it, but keep trafficPolicy out of it`, hint: 'add no top-level trafficPolicy to this rule' };
      case 'none': return { message: `no user DestinationRule for ${list(p.hosts)}` };
      case 'noClient': return { message: 'no reachable client cluster' };
    }
  },
  SPC161: (p:
    | { result: 'unreadable'; cluster: string; unread: Unverified; host: string }
    | { result: 'routesElsewhere'; cluster: string; virtualService: string; hosts: string[]; to: string[]; globalHost: string }
    | { result: 'bindsGateway'; cluster: string; virtualService: string; hosts: string[]; globalHost: string }
    | { result: 'alsoNames'; cluster: string; virtualService: string; hosts: string[]; gateways?: string[] }
    | { result: 'none'; cluster: string; hosts: string[] }
    | { result: 'noService' }): Finding => {
    switch (p.result) {
      case 'unreadable': return { message: `${unverified(p.unread)}: user routes for ${p.host} are unverified`, hint: 'grant list on virtualservices.networking.istio.io' };
      case 'routesElsewhere': return {
        message: `${p.virtualService} routes ${list(p.hosts)} to ${list(p.to)}: client sidecars follow it instead of the aggregate, so requests never fail over`,
        hint: `remove ${list(p.hosts)} from its hosts (Spillway's aggregate already routes the global host), or route to ${p.globalHost} itself`,
      };
      case 'bindsGateway': return {
        message: `${p.virtualService} binds to Spillway's gateway for ${list(p.hosts)} as well: the receiving gateway merges two VirtualServices for one host in an order you do not control`,
        hint: `delete ${p.virtualService} or drop ${p.globalHost} from its hosts`,
      };
      case 'alsoNames': return { message: `${p.virtualService} also names ${list(p.hosts)}${p.gateways !== undefined ? ` (gateways ${list(p.gateways)})` : ''}`, hint: 'keep routes for Spillway\'s hosts in Spillway\'s objects only' };
      case 'none': return { message: `no user VirtualService for ${list(p.hosts)}` };
      case 'noService': return { message: 'no reachable cluster runs a failover service' };
    }
  },
  SPC162: (p:
    | { result: 'unreadable'; cluster: string; unread: Unverified; host: string }
    | { result: 'hides'; cluster: string; sidecar: string; egressHosts: string[]; missing: string[]; scope: 'selected' | 'meshDefault' | 'namespace'; sidecarNamespace: string; globalHost: string; serviceNamespace: string }
    | { result: 'none'; cluster: string; hosts: string[] }
    | { result: 'noClient' }): Finding => {
    switch (p.result) {
      case 'unreadable': return { message: `${unverified(p.unread)}: visibility of ${p.host} is unverified`, hint: 'grant list on sidecars.networking.istio.io' };
      case 'hides': {
        const scope = p.scope === 'selected' ? `pods it selects in ${p.sidecarNamespace}` : p.scope === 'meshDefault' ? 'every namespace without a Sidecar of its own (mesh-wide default)' : `every pod in ${p.sidecarNamespace}`;
        return {
          message: `${p.sidecar} (egress hosts ${list(p.egressHosts)}) hides ${list(p.missing)} from ${scope}: those callers get no aggregate cluster for ${p.globalHost}`,
          hint: `add "${p.serviceNamespace}/*" (or ${list(p.missing.map((m) => `"${p.serviceNamespace}/${m}"`))}) to its egress hosts`,
        };
      }
      case 'none': return { message: `no Sidecar hides ${list(p.hosts)}` };
      case 'noClient': return { message: 'no reachable client cluster' };
    }
  },
  SPC163: (p:
    | { result: 'hidden'; source: string; setting: string; value: string[]; kinds: string[]; namespace: string; visible: string[]; effect: string }
    | { result: 'visible'; namespace: string; meshDefaults: boolean }
    | { result: 'noService' }): Finding => {
    if (p.result === 'hidden') {
      return {
        message: `mesh config ${p.source} sets ${p.setting}: [${list(p.value)}] and Spillway's ${p.kinds.join('/')} objects in ${p.namespace} set no exportTo: visible only to ${list(p.visible)}; ${p.effect}`,
        hint: `set ${p.setting}: ["*"] in the mesh config, or keep the callers in ${p.namespace}`,
      };
    }
    if (p.result === 'visible') return { message: `exportTo defaults let every namespace see Spillway's objects in ${p.namespace}${p.meshDefaults ? ' (mesh defaults: everywhere)' : ''}` };
    return { message: 'no reachable cluster runs a failover service' };
  },
  SPC164: (p:
    | { result: 'notRead'; cluster: string; reason: string }
    | { result: 'unreadable'; cluster: string; unread: Unverified; host: string }
    | { result: 'noRemoteSecrets'; cluster: string; host: string }
    | { result: 'clusterLocal'; cluster: string; remotes: number; secrets: string[]; host: string; setting: string }
    | { result: 'merged'; cluster: string; remotes: number; secrets: string[]; host: string }
    | { result: 'noClient' }): Finding => {
    switch (p.result) {
      case 'notRead': return { message: `remote secrets ${p.reason}` };
      case 'unreadable': return { message: `${unverified(p.unread)}: whether Istio merges other clusters' endpoints into ${p.host} is unverified`, hint: 'grant list on secrets in the Istio root namespace (names and labels are all that is read)' };
      case 'noRemoteSecrets': return { message: `no remote secrets: Istio's endpoint discovery is local to this cluster, so ${p.host} holds local endpoints only` };
      case 'clusterLocal': return { message: `Istio discovers endpoints from ${p.remotes} remote cluster(s) (${list(p.secrets)}), but serviceSettings keeps ${p.host} cluster-local (${p.setting})` };
      case 'merged': return {
        message: `Istio discovers endpoints from ${p.remotes} remote cluster(s) (${list(p.secrets)}) and ${p.host} is not clusterLocal: the local tier already holds other clusters' endpoints in Istio's locality order, not Spillway's`,
        hint: `add to the mesh config: serviceSettings: [{settings: {clusterLocal: true}, hosts: ["${p.host}"]}] (or remove the remote secrets: Spillway fits independent control planes)`,
      };
      case 'noClient': return { message: 'no reachable client cluster' };
    }
  },
  SPC199: (p: { check: string; error: string }): Finding => ({ message: `internal error in check ${p.check}: ${p.error} (please report it)` }),
} as const satisfies Record<CheckCode, (p: never) => Finding>;
export type FindingCode = keyof typeof CHECK_FINDINGS;
export type FindingParams<C extends FindingCode> = Parameters<(typeof CHECK_FINDINGS)[C]>[0];

export function renderFinding<C extends FindingCode>(code: C, params: FindingParams<C>): Finding {
  return (CHECK_FINDINGS[code] as (p: FindingParams<C>) => Finding)(params);
}

const mib = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);
/** An object as `--out-dir` names it in a collision: `Kind namespace/name` (`Kind /name` when cluster-scoped). */
const outObject = (o: { kind: string; namespace?: string; name: string }): string => `${o.kind} ${o.namespace ?? ''}/${o.name}`;

/**
 * The CLI's input errors (exit status 2, one line `SPW003 big.yaml: ...`). `at` is where: an input (`big.yaml`,
 * `stdin`) or a position in one (`big.yaml:12:3`, `big.yaml:12`).
 */
export const INPUT_CODES = {
  SPW001: entry('error', 'Unreadable', 'an input file cannot be read', (p: { reason: 'cannotRead'; at: string; why: string } | { reason: 'noInput' }) =>
    p.reason === 'noInput' ? 'no input: give at least one -f FILE' : `${p.at}: cannot read: ${p.why}`),
  SPW002: entry('error', 'NotARegularFile', 'an input path is not a regular file', (p: { at: string; is: string }) =>
    `${p.at}: is ${p.is}, not a regular file; give files, directories or - (standard input)`),
  SPW003: entry('error', 'TooLarge', 'an input file is larger than the limit', (p: { at: string; maxBytes: number }) =>
    `${p.at}: input exceeds ${mib(p.maxBytes)} (all inputs together); split it into several runs`),
  SPW004: entry('error', 'TooManyDocuments', 'an input has more YAML documents than the limit', (p: { at: string; maxDocuments: number }) =>
    `${p.at}: more than ${p.maxDocuments} documents (all inputs together, List items included); split the input into several runs`),
  SPW005: entry('error', 'TooDeep', 'an input document nests deeper than the limit', (p: { reason: 'nested' | 'aliases'; at: string; maxDepth: number } | { reason: 'parser'; at: string }) =>
    p.reason === 'parser' ? `${p.at}: nested too deeply to parse` : `${p.at}: nested more than ${p.maxDepth} levels deep${p.reason === 'aliases' ? ' through aliases' : ''}`),
  SPW006: entry('error', 'AliasExpansion', 'YAML aliases expand past the limit', (p: { reason: 'recursive'; at: string } | { reason: 'budget'; at: string; maxAliasNodes: number }) =>
    p.reason === 'recursive' ? `${p.at}: a recursive alias (a node that contains itself)` : `${p.at}: aliases expand to more than ${p.maxAliasNodes} nodes beyond the text (all inputs together)`),
  SPW007: entry('error', 'Syntax', 'an input is not valid YAML or JSON', (p: { at: string; reason: string }) =>
    `${p.at}: YAML syntax error: ${p.reason}`),
  SPW008: entry('error', 'NoObjects', 'the input holds no object', (p: { reason: 'noFiles'; at: string; subdirectoriesSkipped: boolean } | { reason: 'empty'; inputs: string[] }) =>
    p.reason === 'noFiles'
      ? `${p.at}: no *.yaml, *.yml or *.json files${p.subdirectoriesSkipped ? ' at its top level (-R reads subdirectories)' : ''}`
      : `${list(p.inputs)}: no objects in the input (only empty documents or comments)`),
  SPW009: entry('error', 'OutDir', 'the output directory cannot be written safely', (p:
    | { reason: 'clusterFolder'; dir: string; cluster: string }
    | { reason: 'leavesDir'; dir: string; cluster: string }
    | { reason: 'fileName'; dir: string; kind: string; name: string }
    | { reason: 'collision'; file: string; first: { kind: string; namespace?: string; name: string }; second: { kind: string; namespace?: string; name: string } }
    | { reason: 'symlinkOutside'; folder: string; dir: string }
    | { reason: 'cannotWrite'; path: string; why: 'symlink' | 'permission' | 'other'; error?: string }) => {
    const head = '--out-dir ';
    switch (p.reason) {
      case 'clusterFolder': return `${head}${p.dir}: cluster name ${JSON.stringify(p.cluster)} cannot name a folder`;
      case 'leavesDir': return `${head}${p.dir}: ${JSON.stringify(p.cluster)} would leave the directory`;
      case 'fileName': return `${head}${p.dir}: ${p.kind} ${JSON.stringify(p.name)} cannot name a file`;
      case 'collision': return `${head}${p.file}: both ${outObject(p.first)} and ${outObject(p.second)} would be written here`;
      case 'symlinkOutside': return `${head}${p.folder}: is a symlink that leads outside ${p.dir}`;
      case 'cannotWrite': return `${head}${p.path}: cannot write: ${p.why === 'symlink' ? 'is a symlink (not followed)' : p.why === 'permission' ? 'permission denied' : (p.error ?? '')}`;
    }
  }),
  SPW010: entry('error', 'TooMuchOutput', 'the output is larger than the limit', (p: { at: string; maxTiers: number }) =>
    `${p.at}: the FailoverServices would render more than ${p.maxTiers} cluster tiers (the sum of each one's workloads squared); render a namespace or a few at a time`),
} as const;
export type InputCode = keyof typeof INPUT_CODES;
export type InputParams<C extends InputCode> = Parameters<(typeof INPUT_CODES)[C]['render']>[0];

/** The text of an input error (without its code). */
export function renderInput<C extends InputCode>(code: C, params: InputParams<C>): string {
  return (INPUT_CODES[code].render as (p: InputParams<C>) => string)(params);
}

/**
 * The only param names a kubeconfig code may take. A member kubeconfig holds tokens, keys, passwords and plugin
 * commands: its codes' params name where a problem is (`field`, a path of names) and what kind of problem, never a
 * value read from it. `NO_SECRET_PARAMS` below fails to compile when a renderer takes any other key (the error names
 * it), and test/kube/member-config.test.ts checks at run time that no value of a kubeconfig reaches params.
 */
export type KubeconfigParamKey = 'reason' | 'field' | 'section' | 'scheme' | 'contexts' | 'line' | 'maxBytes' | 'expected' | 'inMemberOnly' | 'embedAs' | 'cluster' | 'expiresAt' | 'window';
const kentry = entry;

/**
 * Refused member kubeconfigs (controller, `cluster register`; the text names the field, never its value), and
 * the controller's credential warnings. `field` is a path into the kubeconfig built from entry names
 * (`users["admin"].user.exec`), quoted and cut to 63 characters.
 */
export const KUBECONFIG_CODES = {
  SPW200: kentry('error', 'KubeconfigUnparseable', 'a member kubeconfig is not YAML, not a mapping, has a nameless entry, or is over 1 MiB', (p:
    | { reason: 'notList' | 'noName'; field: string }
    | { reason: 'noSection'; field: string; section: string }
    | { reason: 'notMapping' }
    | { reason: 'notYaml'; line?: number }
    | { reason: 'tooLarge'; maxBytes: number }
    | { reason: 'refused' }) => {
    switch (p.reason) {
      case 'notList': return `${p.field} is not a list`;
      case 'noName': return `${p.field} has no name`;
      case 'noSection': return `${p.field} has no ${p.section} section`;
      case 'notMapping': return 'the kubeconfig is not a YAML mapping';
      case 'notYaml': return `the kubeconfig is not valid YAML${p.line !== undefined ? ` (line ${p.line})` : ''}`;
      case 'tooLarge': return `the kubeconfig is larger than ${p.maxBytes} bytes`;
      case 'refused': return 'the kubeconfig was refused';
    }
  }),
  SPW201: kentry('error', 'KubeconfigExecPlugin', 'a member kubeconfig runs a credential plugin command (users[].user.exec)', (p: { field: string }) =>
    `${p.field} runs a credential plugin command; member kubeconfigs may not run commands`),
  SPW202: kentry('error', 'KubeconfigAuthProvider', 'a member kubeconfig uses an auth-provider plugin', (p: { field: string }) =>
    `${p.field} runs an auth-provider plugin; member kubeconfigs may not run plugins`),
  SPW203: kentry('error', 'KubeconfigFileReference', 'a member kubeconfig names a file path', (p: { reason: 'userFile'; field: string; embedAs: string } | { reason: 'caFile' | 'path'; field: string }) =>
    p.reason === 'userFile'
      ? `${p.field} reads a file of the controller's pod; embed the value as ${p.embedAs} instead`
      : p.reason === 'caFile'
        ? `${p.field} reads a file of the controller's pod; embed it as certificate-authority-data instead`
        : `${p.field} names a file of the controller's pod`),
  SPW204: kentry('error', 'KubeconfigProxy', 'a member kubeconfig sets a proxy-url', (p: { field: string }) =>
    `${p.field} sends the cluster's traffic and credentials through a proxy; member kubeconfigs connect directly`),
  SPW205: kentry('error', 'KubeconfigImpersonation', 'a member kubeconfig impersonates (as, as-groups, as-uid, as-user-extra)', (p: { field: string }) =>
    `${p.field} impersonates another identity; grant the member identity its own RBAC instead`),
  SPW206: kentry('error', 'KubeconfigBasicAuth', 'a member kubeconfig uses basic authentication', (p: { field: string }) =>
    `${p.field} is basic authentication; use a ServiceAccount token or a client certificate`),
  SPW207: kentry('error', 'KubeconfigInsecureTransport', 'a member kubeconfig does not verify the server (insecure-skip-tls-verify, http://)', (p: { reason: 'skipVerify' | 'http'; field: string }) =>
    p.reason === 'skipVerify'
      ? `${p.field} turns off server verification; embed the server's CA as certificate-authority-data instead`
      : `${p.field} is plain http://; member clusters are reached over https with a CA`),
  SPW208: kentry('error', 'KubeconfigInvalidServer', 'a member kubeconfig\'s server URL is not https, or carries user info, a query or a fragment', (p: { reason: 'missing' | 'notUrl' | 'userInfo' | 'queryOrFragment'; field: string } | { reason: 'scheme'; field: string; scheme: string }) => {
    switch (p.reason) {
      case 'missing': return `${p.field} is missing`;
      case 'notUrl': return `${p.field} is not a URL`;
      case 'userInfo': return `${p.field} carries user info (a user name or password in the URL); put credentials in the user entry`;
      case 'queryOrFragment': return `${p.field} has a query or fragment`;
      case 'scheme': return `${p.field} has scheme ${JSON.stringify(p.scheme)}; use https://`;
    }
  }),
  SPW209: kentry('error', 'KubeconfigAmbiguousContext', 'a member kubeconfig does not say which context, cluster or user to use', (p:
    | { reason: 'duplicate' | 'unknownCluster'; field: string }
    | { reason: 'unknownCurrent' | 'noCurrent'; contexts: number }
    | { reason: 'noContext' }) => {
    switch (p.reason) {
      case 'duplicate': return `${p.field} is defined twice; which one applies would be a guess`;
      case 'unknownCluster': return `${p.field} names no cluster in clusters`;
      case 'unknownCurrent': return `current-context names a context that is not in contexts (have ${p.contexts})`;
      case 'noCurrent': return `the kubeconfig has ${p.contexts} contexts and no current-context; set current-context (or keep one context)`;
      case 'noContext': return 'the kubeconfig has no context';
    }
  }),
  SPW210: kentry('error', 'KubeconfigNoCredentials', 'a member kubeconfig has no usable credentials', (p: { reason: 'certWithoutKey' | 'keyWithoutCert' | 'unknownUser' | 'none'; field: string }) => {
    switch (p.reason) {
      case 'certWithoutKey': return `${p.field} has a client certificate without a key`;
      case 'keyWithoutCert': return `${p.field} has a client key without a certificate`;
      case 'unknownUser': return `${p.field} names no user in users`;
      case 'none': return `${p.field} has no token and no client-certificate-data/client-key-data`;
    }
  }),
  SPW211: kentry('error', 'KubeconfigUnknownField', 'a member kubeconfig has a field Spillway does not accept', (p: { field: string; inMemberOnly: boolean }) =>
    p.inMemberOnly ? `${p.field} is not a field Spillway accepts in a member kubeconfig` : `${p.field} is not a kubeconfig field Spillway accepts`),
  SPW212: kentry('error', 'KubeconfigInvalidData', 'a member kubeconfig\'s data is not what its field says (CA, certificate, key, token)', (p: { field: string; expected: 'certificate' | 'privateKey' | 'hostName' | 'token' }) => {
    switch (p.expected) {
      case 'certificate': return `${p.field} is not base64 of a PEM certificate`;
      case 'privateKey': return `${p.field} is not base64 of a PEM private key`;
      case 'hostName': return `${p.field} is not a host name`;
      case 'token': return `${p.field} is not a bearer token (printable characters, no spaces)`;
    }
  }),
  SPW213: kentry('error', 'KubeconfigExpiredCredentials', 'a member kubeconfig\'s token has expired', (p: { cluster: string; expiresAt: string }) =>
    `the member token expired at ${p.expiresAt}; rotate it (spillway cluster register ${p.cluster})`),
  SPW214: kentry('warning', 'KubeconfigExpiringCredentials', 'member credentials expire within the controller\'s warning window', (p: { cluster: string; expiresAt: string; window: string }) =>
    `the member credentials expire at ${p.expiresAt}, within ${p.window}; run \`spillway cluster register ${p.cluster}\` again and apply its output to rotate them`),
} as const;
export type KubeconfigCode = keyof typeof KUBECONFIG_CODES;
type KeysOf<P> = P extends unknown ? keyof P : never;
type UnsafeKeys<T> = { [C in keyof T]: T[C] extends CodeEntry<infer P> ? Exclude<KeysOf<P>, KubeconfigParamKey> : never }[keyof T];
/** Compiles only while every SPW2xx renderer's params use KubeconfigParamKey names alone (see above). */
export const NO_SECRET_PARAMS: [UnsafeKeys<typeof KUBECONFIG_CODES>] extends [never] ? true : UnsafeKeys<typeof KUBECONFIG_CODES> = true;
export type KubeconfigParams<C extends KubeconfigCode> = Parameters<(typeof KUBECONFIG_CODES)[C]['render']>[0];

/** The text of a kubeconfig code (without the code). */
export function renderKubeconfig<C extends KubeconfigCode>(code: C, params: KubeconfigParams<C>): string {
  return (KUBECONFIG_CODES[code].render as (p: KubeconfigParams<C>) => string)(params);
}

/** `SPW214: the member credentials expire at ...`: how statuses, logs and Events carry a kubeconfig code. */
export function kubeconfigLine<C extends KubeconfigCode>(code: C, params: KubeconfigParams<C>): string {
  return `${code}: ${renderKubeconfig(code, params)}`;
}

/** One tier a client spills to, as an Event names it. */
export interface SpillShare {
  cluster: string;
  percent: number;
}

/**
 * The controller's Events about live tier shares (src/controller/serving.ts), on the FailoverService: the Event's
 * `reason` is the code's name and its `message` the code's rendering; `client` is the client cluster.
 */
export const EVENT_CODES = {
  SPW300: entry('warning', 'Spillover', 'a client cluster\'s requests spill over to other clusters\' tiers', (p:
    | { clientOnly?: false; client: string; spilled: number; to: SpillShare[]; local: number; failing: number; changed: boolean }
    | { clientOnly: true; client: string; to: SpillShare[]; failing: number }) => {
    if (p.clientOnly) {
      return `${p.client} clients: no local workload (client-only cluster); ${p.to.map((t) => `${t.percent}% to ${t.cluster}`).join(', ') || 'nothing'} through the remote gateways${p.failing > 0 ? `; ${p.failing}% predicted to fail` : ''}`;
    }
    const where = p.to.length === 1 ? `to ${p.to[0]!.cluster}` : `(${p.to.map((t) => `${t.percent}% to ${t.cluster}`).join(', ')})`;
    return p.changed
      ? `${p.client} clients: ${p.spilled}% now spill ${where}${p.local > 0 ? `, ${p.local}% stay on ${p.client}` : ''}${p.failing > 0 ? `; ${p.failing}% predicted to fail` : ''}`
      : `${p.client} clients: ${p.spilled}% spill ${where}`;
  }),
  SPW301: entry('info', 'Failback', 'a client cluster\'s requests are all served locally again', (p: { client: string }) =>
    `${p.client} clients: all traffic back on ${p.client}`),
  SPW302: entry('warning', 'NoHealthyTier', 'no tier a client cluster can use has a healthy endpoint: every request fails', (p: { client: string }) =>
    `${p.client} clients: no tier has a healthy endpoint; every request fails`),
  SPW303: entry('warning', 'Failing', 'the share of a client cluster\'s requests predicted to fail changed', (p: { client: string; failing: number }) =>
    `${p.client} clients: ${p.failing}% of requests predicted to fail`),
} as const;
export type EventCode = keyof typeof EVENT_CODES;
export type EventParams<C extends EventCode> = Parameters<(typeof EVENT_CODES)[C]['render']>[0];

export function renderEvent<C extends EventCode>(code: C, params: EventParams<C>): string {
  return (EVENT_CODES[code].render as (p: EventParams<C>) => string)(params);
}

export type Code = MessageCode | CheckCode | InputCode | KubeconfigCode | EventCode;

/** Every code, in code order: its level, name, title and docs anchor. */
export function codeTable(): { code: Code; level: Level; name: string; title: string; anchor: string }[] {
  const rows = [...Object.entries(INPUT_CODES), ...Object.entries(MESSAGES), ...Object.entries(KUBECONFIG_CODES), ...Object.entries(EVENT_CODES), ...Object.entries(CHECK_CODES)].map(([code, e]) => ({
    code: code as Code,
    level: e.level,
    name: e.name,
    title: e.title,
    anchor: docsAnchor(code as Code),
  }));
  return rows.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** Where a code is documented (relative to the repository root). */
export function docsAnchor(code: Code): string {
  return `docs/messages.md#${code.toLowerCase()}`;
}

export function isCode(s: string): s is Code {
  return Object.hasOwn(MESSAGES, s) || Object.hasOwn(CHECK_CODES, s) || Object.hasOwn(INPUT_CODES, s) || Object.hasOwn(KUBECONFIG_CODES, s) || Object.hasOwn(EVENT_CODES, s);
}

/**
 * The controller's own condition and sync texts (FailoverService status.conditions Accepted/Programmed/Degraded and
 * status.clusters[].message). They are not codes: a condition's reason is a fixed word (the key here) or the code of
 * the first message it quotes. Each renders from typed params; a quoted message is its code and its rendered text.
 */
export interface Quoted {
  code: string;
  message: string;
}
/** One cluster named in a Programmed condition, with its own sync message if it has one. */
export interface SyncNote {
  name: string;
  message?: string;
}
const quote = (ms: readonly Quoted[]): string => ms.map((m) => `${m.code}: ${m.message}`).join('; ');
const notes = (cs: readonly SyncNote[], fallback: string): string => cs.map((c) => `${c.name}: ${c.message ?? fallback}`).join('; ');

export const CONDITIONS = {
  Accepted: {
    /** Valid, nothing to say. */
    Accepted: (_p: Record<string, never>) => 'valid',
    AcceptedWithWarnings: (p: { notes: readonly Quoted[] }) => quote(p.notes) || 'valid',
    /** Not accepted; the reason is the first error's code (else Invalid). */
    Rejected: (p: { messages: readonly Quoted[]; held: readonly string[] }) =>
      `${quote(p.messages) || 'not accepted'}${p.held.length ? `; the last good configuration is still served (${list(p.held)})` : ''}`,
  },
  Programmed: {
    LastGoodServed: (p: { held: readonly string[] }) => `this generation is not accepted; the last good configuration is still served in ${list(p.held)}`,
    NotAccepted: (_p: Record<string, never>) => 'nothing is written for a FailoverService that is not accepted',
    SyncFailed: (p: { failed: readonly SyncNote[] }) => notes(p.failed, 'failed'),
    Pending: (p: { pending: readonly SyncNote[] }) => notes(p.pending, 'pending'),
    Programmed: (p: { clusters: readonly string[] }) => `written to ${list(p.clusters)}`,
  },
  Degraded: {
    NotAccepted: (p: { held: readonly string[] }) => (p.held.length ? `the last good configuration is still served in ${list(p.held)}` : 'nothing is served'),
    /** Some tier is not served; the reason is the first degraded message's code. */
    Degraded: (p: { left: readonly string[]; clientsOnly: readonly string[]; tiers: readonly string[]; degraded: readonly Quoted[] }) =>
      `${p.left.length ? `${list(p.left)} left out of the tiers; ` : ''}${p.clientsOnly.length ? `${list(p.clientsOnly)} ${p.clientsOnly.length === 1 ? 'serves' : 'serve'} no local tier (clients only); ` : ''}serving from ${list(p.tiers)}${p.tiers.length === 1 ? ' only (locally, no failover)' : ''}: ${quote(p.degraded)}`,
    AllTiersServing: (_p: Record<string, never>) => 'every listed workload is served',
  },
  /** status.clusters[].message: a cluster's sync state. */
  Sync: {
    NotConnected: (_p: Record<string, never>) => 'cluster not connected yet',
    ObjectErrors: (p: { errors: readonly string[] }) => p.errors.join('; '),
    WriteErrors: (p: { count: number; first: string }) => `write errors (${p.count}): ${p.first}`,
    /**
     * Writes outlasting the controller's wait for a cluster. Stable facts only (how many, since when), so that the
     * statuses are written once when a batch turns slow, not on every reconcile while it runs.
     */
    SlowWrites: (p: { objects: number; since: string }) => `writes of ${p.objects} ${p.objects === 1 ? 'object' : 'objects'} still in progress since ${p.since} (slow API server); other clusters are not held back`,
    LeftOut: (p: { gone: readonly Quoted[] }) => `left out of the tiers: ${quote(p.gone)}`,
    /** A client-only cluster says why it hosts no tier, then its own sync message if any. */
    ClientOnly: (p: { note: Quoted; sync?: string }) => `${quote([p.note])}${p.sync ? `; ${p.sync}` : ''}`,
    /**
     * A member's kubeconfig failed for a reason other than our own policy (whose SPW2xx problems are reported as they
     * are): only where it came from is named, never the error, which may quote the kubeconfig.
     */
    /** The MeshCluster's kubeconfig Secret: not read yet, absent, or without the `kubeconfig` key. */
    SecretPending: (p: { secret: string }) => `waiting to read Secret ${p.secret}`,
    SecretNotFound: (p: { secret: string }) => `Secret ${p.secret} not found`,
    SecretNoKubeconfig: (p: { secret: string }) => `Secret ${p.secret} has no data key "kubeconfig"`,
    KubeconfigUnusable: (p: { secret?: string }) => `the kubeconfig in ${p.secret !== undefined ? `Secret ${p.secret}` : 'the Secret'} could not be used`,
  },
} as const;
export type ConditionKind = keyof typeof CONDITIONS;
export type ConditionKey<T extends ConditionKind> = keyof (typeof CONDITIONS)[T] & string;
export type ConditionParams<T extends ConditionKind, K extends ConditionKey<T>> = (typeof CONDITIONS)[T][K] extends (p: infer P) => string ? P : never;

/** A condition's (or a cluster's sync) message, rendered from the table. */
export function conditionText<T extends ConditionKind, K extends ConditionKey<T>>(kind: T, key: K, params: ConditionParams<T, K>): string {
  return ((CONDITIONS[kind] as Record<string, (p: unknown) => string>)[key]!)(params);
}
