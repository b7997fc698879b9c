/**
 * `spillway check`: the facts a gatherer read from live clusters, and what a check reports about them.
 *
 * The checks (src/check/checks/) are pure functions of a `CheckSnapshot`; only the gatherer (gather.ts) talks
 * to API servers. A fact the gatherer could not read (not served, forbidden, unreachable) is a `Listing` with
 * `error` set, never a missing key, so a check can say "could not verify" instead of passing by accident.
 */
import type { KubeObject, MeshCluster } from '../api/types.ts';
import type { CheckCode } from '../api/messages.ts';
import type { DetailedRenderResult } from '../core/render.ts';

/** `skip`: the check does not apply, or had nothing to look at (never counted as a failure). */
export type CheckLevel = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable code of the finding (SPC1xx), never reused: a code of the table (CHECK_CODES in src/api/messages.ts). */
  code: CheckCode;
  /** Name of the check that produced it (its file in src/check/checks/). */
  check: string;
  level: CheckLevel;
  /** Member cluster the finding is about; absent for mesh-wide findings. */
  cluster?: string;
  /** A finding about a pair (or set) of clusters, such as two roots of trust: the clusters it names. */
  clusters?: string[];
  /**
   * The FailoverServices (`FailoverService/ns/name`) the finding concerns; absent when it concerns every
   * FailoverService that uses `cluster` (or `clusters`), such as Istio missing there.
   */
  services?: string[];
  /** `Kind/namespace/name` of the object the finding is about, live or input. */
  object?: string;
  /** The finding's typed parameters (CHECK_FINDINGS in src/api/messages.ts, by code and `result`); message and hint are rendered from them. */
  params: unknown;
  /** The text, rendered from `params` by the table. */
  message: string;
  /** What to change (present on every warn and fail). */
  hint?: string;
}

/** Objects of one kind as read, or why they could not be read. */
export interface Listing {
  items: KubeObject[];
  /** Set when the list failed: not served (404), forbidden (403), unreachable. `items` is then empty. */
  error?: string;
  /** The API answered 404 for the resource type itself: this server does not serve it. */
  notServed?: boolean;
  /**
   * The failure may well pass on its own (no answer in time, connection reset or refused, 429, 5xx), unlike a 403
   * or a 404: the controller confirms such a reading before it changes a condition (src/controller/checks.ts).
   */
  transient?: boolean;
  /** Deliberately not read (the reader is not allowed to): checks that need it skip, saying why. */
  skipped?: string;
}

/** A root certificate as the gatherer fingerprinted it (pure checks never parse PEM). */
export interface RootCert {
  sha256: string;
  subject: string;
  notAfter: string;
}

export interface RootOfTrust {
  /** Where it was read: `ConfigMap/<ns>/istio-ca-root-cert`. */
  source: string;
  certs: RootCert[];
  /** The ConfigMap held something that is not a PEM certificate. */
  error?: string;
}

/** What was read from one member cluster. */
export interface ClusterFacts {
  name: string;
  /** How it was reached: a kubeconfig context, a Secret, or the management cluster. */
  via: string;
  /** Set when the cluster could not be reached at all (then every listing is empty). */
  unreachable?: string;
  /** Kubernetes version from /version (`v1.30.0`). */
  kubernetesVersion?: string;
  /** Versions of `networking.istio.io` the server serves, with the plurals each serves. */
  istioApi: { versions: Record<string, string[]>; error?: string };
  namespaces: Listing;
  /** ConfigMaps in Istio's root namespace (mesh config `istio`/`istio-<rev>`, `istio-ca-root-cert`, ...). */
  rootConfigMaps: Listing;
  /** Deployments in Istio's root namespace (istiod, istiocoredns). */
  rootDeployments: Listing;
  /** Pods in Istio's root namespace (istiod, when Deployments cannot be read). */
  rootPods: Listing;
  /** `coredns` / `kube-dns` ConfigMaps of kube-system (the `global` stub domain of Istio 1.5 to 1.7). */
  dnsConfigMaps: Listing;
  /** Every Service (gateway Services, the failover services and their selectors). */
  services: Listing;
  /** Pods of the namespaces the failover services run in, and pods matching clientSelectors. Container specs trimmed. */
  pods: Listing;
  nodes: Listing;
  /** Secrets of Istio's multi-cluster endpoint discovery (label `istio/multiCluster=true`): metadata only, data dropped on read. */
  remoteSecrets: Listing;
  /** Per namespace the failover services run in: its `istio-ca-root-cert`. */
  roots: Record<string, RootOfTrust | undefined>;
  destinationRules: Listing;
  virtualServices: Listing;
  sidecars: Listing;
  gateways: Listing;
}

/** What was read from the management cluster (where Spillway's CRDs and controller live). */
export interface ManagementFacts {
  via: string;
  unreachable?: string;
  /** Spillway's CRDs found, by name (`meshclusters.spillway.dev`); value = served versions. */
  crds: Record<string, string[] | undefined>;
  crdError?: string;
  /** Deployments of the controller namespace. */
  deployments: Listing;
  /** The controller's leader Lease, if present. */
  lease?: KubeObject;
  leaseError?: string;
  namespace: string;
}

export interface CheckSnapshot {
  /** The Spillway inputs (MeshClusters, MeshWorkloads, FailoverServices) rendered: the objects checks compare against. */
  render: DetailedRenderResult;
  meshClusters: MeshCluster[];
  clusters: Record<string, ClusterFacts>;
  management?: ManagementFacts;
  /** When the snapshot was taken (Lease ages). */
  now: Date;
}

/** One check: a pure function of the snapshot, reporting at least one result for every cluster it looked at. */
export interface Check {
  name: string;
  /** One line: what it verifies. */
  title: string;
  run(s: CheckSnapshot): CheckResult[];
}

export interface CheckReport {
  results: CheckResult[];
  summary: { pass: number; warn: number; fail: number; skip: number };
}
