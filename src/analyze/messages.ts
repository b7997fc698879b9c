/**
 * Every message Spillway reports, as data: a stable code (never reused), a level and a template.
 * The wording may change; the codes may not. Checks report through a `Reporter` keyed by the input object.
 */

import { escapeControl } from '../api/text.ts';

export type Level = 'error' | 'warning' | 'info';

export interface MessageType {
  code: string;
  level: Level;
  title: string;
}

const t = (code: string, level: Level, title: string): MessageType => ({ code, level, title });

/** The table of codes. Append only; never renumber or reuse a code. */
export const MSG = {
  InvalidSpec: t('SPW100', 'error', 'the object does not match its schema'),
  UnknownWorkload: t('SPW101', 'error', 'a referenced MeshWorkload is invalid'),
  UnknownCluster: t('SPW102', 'error', 'a referenced MeshCluster is invalid'),
  DuplicateCluster: t('SPW103', 'error', 'two workloads of one FailoverService are in the same cluster'),
  TooFewClusters: t('SPW104', 'error', 'a FailoverService needs workloads in at least two clusters'),
  PortMismatch: t('SPW105', 'error', 'the failover port differs across workloads'),
  ProtocolMismatch: t('SPW106', 'error', 'the failover port\'s protocol differs across workloads'),
  PortNotChosen: t('SPW107', 'error', 'a multi-port service needs spec.port'),
  PortNotFound: t('SPW108', 'error', 'spec.port is not a port of the workload'),
  UnsupportedProtocol: t('SPW109', 'error', 'the protocol cannot be carried by the L7 spill-over path'),
  MissingGateway: t('SPW110', 'error', 'a cluster that receives spill-over has no gateway'),
  InvalidName: t('SPW111', 'error', 'a name or host is not valid DNS-1123'),
  HostConflict: t('SPW112', 'error', 'two FailoverServices claim the same host'),
  ServiceConflict: t('SPW113', 'error', 'two FailoverServices claim the same service'),
  AddressConflict: t('SPW114', 'error', 'two FailoverServices claim the same virtual address'),
  AddressMoved: t('SPW115', 'warning', 'the derived virtual address was taken; another was chosen'),
  IstioVersionUnsupported: t('SPW116', 'error', 'the cluster\'s Istio version is too old'),
  IstioVersionCrash: t('SPW117', 'warning', 'this Istio version can crash sidecars on aggregate clusters'),
  DuplicateWorkload: t('SPW118', 'error', 'a workload is listed twice'),
  DuplicateObject: t('SPW119', 'error', 'two input documents have the same kind and name'),
  IgnoredKind: t('SPW120', 'info', 'the document is not a Spillway resource and is ignored'),
  AssumedApiVersion: t('SPW121', 'warning', 'the document was read with an assumed apiVersion or kind spelling'),
  ObjectConflict: t('SPW122', 'error', 'two FailoverServices would write the same object'),
  InvalidAddress: t('SPW123', 'error', 'an address is not valid'),
  NotADocument: t('SPW124', 'error', 'a YAML document is not a Kubernetes object'),
  ZeroEjection: t('SPW125', 'warning', 'outlier detection can never eject a host, so failover depends on readiness alone'),
  PanicThreshold: t('SPW126', 'warning', 'a non-zero panic threshold can send traffic to a tier with no healthy host'),
  UnknownKind: t('SPW130', 'error', 'a document of the spillway.dev group (or spelled like one of its kinds) has a kind Spillway does not serve'),
  ReservedAddress: t('SPW131', 'warning', 'the pinned virtual address is in Istio\'s auto-allocation range 240.240.0.0/16'),
  SharedLocalHost: t('SPW132', 'warning', 'the local tier\'s health settings go on the Service host, shared with every caller'),
  GatewayNodePort: t('SPW134', 'warning', 'a gateway port in the NodePort range has no servicePort, so the Gateway server names a port no Service has'),
  PlaintextSharesPort: t('SPW135', 'error', 'plain-HTTP spill-over would share a gateway port with HTTPS servers'),
  InvalidTargetPort: t('SPW133', 'error', 'a workload port\'s targetPort is not a port number or a container port name'),
  CrossNamespaceWorkload: t('SPW140', 'error', 'a FailoverService uses a MeshWorkload or Service of another namespace without a MeshWorkloadGrant'),
  KubernetesHost: t('SPW141', 'error', 'spec.hostname names a host Kubernetes owns (a *.svc.<clusterDomain> name)'),
  HostOutsideNamespace: t('SPW142', 'error', 'spec.hostname is not under the FailoverService\'s namespace and an allowed suffix'),
  ExistingServiceEntryHost: t('SPW143', 'error', 'the global host is a host of a ServiceEntry Spillway did not write (the mesh already routes it)'),
  WorkloadUnavailable: t('SPW127', 'warning', 'a listed MeshWorkload does not exist: its cluster is left out of the tiers'),
  ClusterUnavailable: t('SPW128', 'warning', 'a listed MeshWorkload names a cluster with no MeshCluster: it is left out of the tiers'),
  NoWorkloadAvailable: t('SPW129', 'error', 'none of the listed MeshWorkloads is available'),
  LocalOnly: t('SPW160', 'warning', 'only one listed cluster is available: it serves locally, with no failover'),
} as const satisfies Record<string, MessageType>;

export type MessageKey = keyof typeof MSG;

export interface Message {
  code: string;
  level: Level;
  /** The input object the message is about: `Kind/namespace/name`, or `Kind/name` for cluster-scoped kinds. */
  object: string;
  message: string;
}

export const LEVEL_ORDER: Record<Level, number> = { error: 0, warning: 1, info: 2 };

/** Collects messages keyed by input object; a check never throws for bad user input. */
export class Reporter {
  readonly messages: Message[] = [];
  private readonly failed = new Set<string>();

  report(type: MessageType, object: string, detail: string): void {
    // Input text reaches messages (names, values, file names): never a control character to a terminal or a log.
    this.messages.push({ code: type.code, level: type.level, object: escapeControl(object), message: escapeControl(detail) });
    if (type.level === 'error') this.failed.add(object);
  }

  /** Re-reports messages recorded by an earlier run (a render cache hit). */
  replay(messages: readonly Message[]): void {
    for (const m of messages) {
      this.messages.push(m);
      if (m.level === 'error') this.failed.add(m.object);
    }
  }

  hasErrors(object: string): boolean {
    return this.failed.has(object);
  }

  /**
   * Messages sorted deterministically, causes before their consequences: documents that are not objects first,
   * then MeshClusters, MeshWorkloads (which refer to clusters), FailoverServices (which refer to both) and other
   * kinds; within a kind by object, then level, code and text.
   */
  sorted(): Message[] {
    return [...this.messages].sort(
      (a, b) =>
        kindRank(a.object) - kindRank(b.object) ||
        cmp(a.object, b.object) ||
        LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
        cmp(a.code, b.code) ||
        cmp(a.message, b.message),
    );
  }
}

const KIND_RANK: Record<string, number> = { MeshCluster: 1, MeshWorkload: 2, FailoverService: 3 };

/** 0 for a document position (`file:line`), 1-3 for Spillway's kinds in dependency order, 4 for other kinds. */
function kindRank(object: string): number {
  const rank = KIND_RANK[object.slice(0, object.indexOf('/'))];
  if (rank !== undefined) return rank;
  return /:\d+$|^document #/.test(object) ? 0 : 4;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
