/**
 * The cluster registry: one ClusterConnection per MeshCluster, started, restarted and stopped to match the
 * MeshClusters and the kubeconfig Secrets they name (watched per namespace). A connection is replaced whenever
 * what identifies the cluster behind a name changes (the kubeconfig's hash), and `onReplaced` tells the owner to
 * drop what it remembered about the old one.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import { conditionText } from '../api/messages.ts';
import type { Clock, Jitter } from '../kube/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { HttpKubeClient } from '../kube/client.ts';
import { KubeconfigPolicyError, memberConfigFromText } from '../kube/config.ts';
import type { MemberConfig } from '../kube/config.ts';
import { Informer } from '../kube/informer.ts';
import type { InformerTiming } from '../kube/informer.ts';
import { SECRETS } from '../kube/resources.ts';
import { ClusterConnection } from './connection.ts';
import { StringInterner } from './slim.ts';
import type { Logger } from './log.ts';
import type { ClusterOutcome } from './reconcile.ts';
import { isOwnedBy } from './reconcile.ts';

export interface ClusterEntry {
  /** What identifies the cluster behind the name: `management`, `<secret>#<sha256 of the kubeconfig>`, or why there is none. */
  fingerprint: string;
  conn?: ClusterConnection;
  error?: string;
  /** When the member credentials expire (a TokenRequest token's `exp`), if known. */
  expiresAt?: Date;
  /** When this connection was started (clock ms). */
  startedAt?: number;
}

/**
 * How long a connection that answered discovery may keep failing its first lists (a list timing out on a busy API
 * server, say), or whose discovery itself times out or is turned away for load (429, 5xx), before the statuses that
 * depend on it stop waiting and report it.
 */
export const FIRST_SYNC_GRACE_MS = 120_000;

export interface RegistryOptions {
  management: KubeClient;
  /** Default namespace of kubeconfig Secrets. */
  namespace: string;
  clock: Clock;
  jitter: Jitter;
  timing?: Partial<InformerTiming>;
  discovery: boolean;
  memberClient?: (config: MemberConfig, cluster: string) => KubeClient;
  log: Logger;
  /** The MeshClusters as listed now, or undefined while they are not listed yet. */
  meshClusters: () => readonly KubeObject[] | undefined;
  /** Something changed (a connection's state, a Secret): reconcile. */
  onChange: () => void;
  /** The connection behind `cluster` was replaced or removed: forget what was remembered about it. */
  onReplaced: (cluster: string) => void;
  /** How long a deleted MeshCluster's connection is kept to remove what Spillway wrote there (default 120 s). */
  drainTimeoutMs?: number;
  /** See FIRST_SYNC_GRACE_MS. */
  firstSyncGraceMs?: number;
}

interface Draining {
  conn: ClusterConnection;
  deadline: number;
}

function defaultMemberClient(config: MemberConfig): KubeClient {
  return new HttpKubeClient(config);
}

export class ClusterRegistry {
  readonly entries = new Map<string, ClusterEntry>();
  /** Deleted MeshClusters still reachable: kept until what Spillway wrote there is removed (or the deadline). */
  private readonly drains = new Map<string, Draining>();
  private readonly secretInformers = new Map<string, Informer>();
  private readonly stopping = new Set<Promise<void>>();
  /**
   * Names, namespaces, owners and cache keys of the members' cached objects: a FailoverService's objects have the
   * same names in every cluster, so the connections share one interner (bounded: past it strings are simply not
   * shared; 10,000 services over five clusters need about 340,000).
   */
  private readonly strings = new StringInterner(600_000);
  private started = false;

  constructor(private readonly o: RegistryOptions) {}

  start(): void {
    this.started = true;
    for (const inf of this.secretInformers.values()) inf.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.secretInformers.values()].map((i) => i.stop()));
    await Promise.all([...this.entries.values()].map((e) => e.conn?.stop()));
    await Promise.all([...this.drains.values()].map((d) => d.conn.stop()));
    await Promise.all(this.stopping);
    this.entries.clear();
    this.drains.clear();
  }

  /** Keeps a background stop (of a replaced connection or informer) until it finishes. */
  private track(p: Promise<void>): void {
    const q = p.catch(() => undefined).finally(() => this.stopping.delete(q));
    this.stopping.add(q);
  }

  private secretsIn(namespace: string): Informer {
    let inf = this.secretInformers.get(namespace);
    if (!inf) {
      inf = new Informer({
        client: this.o.management,
        type: SECRETS,
        namespace,
        clock: this.o.clock,
        jitter: this.o.jitter,
        timing: this.o.timing,
        onEvent: () => {
          this.sync();
          this.o.onChange();
        },
        onLog: (l, m, f) => this.o.log[l](m, { cluster: '(management)', ...f }),
      });
      this.secretInformers.set(namespace, inf);
      if (this.started) inf.start();
    }
    return inf;
  }

  /** Starts, restarts and stops member connections to match the MeshClusters and their Secrets. */
  sync(): void {
    const meshClusters = this.o.meshClusters();
    if (!this.started || !meshClusters) return;
    const seen = new Set<string>();
    const namespaces = new Set<string>();
    for (const mc of meshClusters) {
      const name = mc.metadata.name;
      seen.add(name);
      const d = this.drains.get(name);
      if (d) {
        // Registered again while its objects were being removed: start afresh.
        this.track(d.conn.stop());
        this.drains.delete(name);
      }
      const ref = (mc.spec as { kubeconfigSecret?: { name?: string; namespace?: string } } | undefined)?.kubeconfigSecret;
      let fingerprint: string;
      let text: string | undefined;
      let error: string | undefined;
      if (!ref?.name) fingerprint = 'management';
      else {
        const ns = ref.namespace || this.o.namespace;
        namespaces.add(ns);
        const secrets = this.secretsIn(ns);
        const secretRef = `${ns}/${ref.name}`;
        const where = `Secret ${secretRef}`;
        const secret = secrets.synced ? secrets.get(ns, ref.name) : undefined;
        const data = (secret?.data as Record<string, string> | undefined)?.kubeconfig;
        if (!secrets.synced) {
          fingerprint = `waiting:${where}`;
          error = conditionText('Sync', 'SecretPending', { secret: secretRef });
        } else if (!secret) {
          fingerprint = `missing:${where}`;
          error = conditionText('Sync', 'SecretNotFound', { secret: secretRef });
        } else if (!data) {
          fingerprint = `nokey:${where}`;
          error = conditionText('Sync', 'SecretNoKubeconfig', { secret: secretRef });
        } else {
          text = Buffer.from(data, 'base64').toString('utf8');
          fingerprint = `${where}#${createHash('sha256').update(text).digest('hex')}`;
        }
      }
      const cur = this.entries.get(name);
      if (cur && cur.fingerprint === fingerprint) continue;
      if (cur?.conn) this.track(cur.conn.stop());
      this.o.onReplaced(name); // possibly another cluster behind the name now: trust nothing we remembered
      let conn: ClusterConnection | undefined;
      let expiresAt: Date | undefined;
      if (fingerprint === 'management' || text !== undefined) {
        try {
          let client: KubeClient;
          if (fingerprint === 'management') client = this.o.management;
          else {
            // The Secret is data, never code: refused fields get a coded error naming the field, never its value.
            const config = memberConfigFromText(text!);
            expiresAt = config.expiresAt;
            client = (this.o.memberClient ?? defaultMemberClient)(config, name);
          }
          conn = new ClusterConnection({
            name,
            client,
            ownsClient: fingerprint !== 'management',
            clock: this.o.clock,
            jitter: this.o.jitter,
            timing: this.o.timing,
            discovery: this.o.discovery,
            onChange: () => this.o.onChange(),
            log: this.o.log,
            strings: this.strings,
          });
        } catch (e) {
          // Only our own policy errors are known to hold no secret; anything else is summarized.
          error = e instanceof KubeconfigPolicyError ? e.message : conditionText('Sync', 'KubeconfigUnusable', ref?.name ? { secret: `${ref.namespace || this.o.namespace}/${ref.name}` } : {});
        }
      }
      this.entries.set(name, { fingerprint, conn, error, ...(expiresAt ? { expiresAt } : {}), ...(conn ? { startedAt: this.o.clock.now() } : {}) });
      conn?.start();
      this.o.log.info(cur ? 'cluster connection restarted' : 'cluster connection started', { cluster: name, server: conn?.client.server, ...(error ? { error } : {}) });
    }
    for (const [name, e] of this.entries) {
      if (seen.has(name)) continue;
      this.entries.delete(name);
      this.o.onReplaced(name);
      if (e.conn && e.conn.reachable) {
        // Still reachable: remove what Spillway wrote there before letting go.
        this.drains.set(name, { conn: e.conn, deadline: this.o.clock.now() + (this.o.drainTimeoutMs ?? 120_000) });
        this.o.log.info('MeshCluster deleted; removing its Spillway objects', { cluster: name });
        continue;
      }
      if (e.conn) this.track(e.conn.stop());
      this.o.log.info('cluster connection stopped (MeshCluster deleted; unreachable, its objects are left there)', { cluster: name });
    }
    for (const [ns, inf] of this.secretInformers) {
      if (namespaces.has(ns)) continue;
      this.track(inf.stop());
      this.secretInformers.delete(ns);
    }
  }

  /** Deleted clusters whose objects are being removed (past their deadline: let go, objects left behind). */
  draining(): Map<string, ClusterConnection> {
    const out = new Map<string, ClusterConnection>();
    for (const [name, d] of this.drains) {
      if (this.o.clock.now() > d.deadline) {
        this.track(d.conn.stop());
        this.drains.delete(name);
        this.o.log.warn('gave up removing the objects of a deleted MeshCluster; they are left there', { cluster: name, error: d.conn.error });
        continue;
      }
      out.set(name, d.conn);
    }
    return out;
  }

  /** A drain plan ran: once nothing of ours is left there, the connection stops. */
  drained(name: string, outcome: ClusterOutcome): void {
    const d = this.drains.get(name);
    if (!d || outcome.state !== 'Synced') return;
    const live = d.conn.live();
    if (!live.ready) return;
    for (const o of live.labelled.values()) if (isOwnedBy(o, name)) return;
    this.track(d.conn.stop());
    this.drains.delete(name);
    this.o.log.info('cluster connection stopped (MeshCluster deleted; its objects removed)', { cluster: name, pruned: outcome.pruned });
  }

  /**
   * A connection is still listing for the first time (or waiting for its Secret): statuses that depend on it wait.
   * A first list that fails after the cluster answered (a timeout on a loaded API server: a restart onto a large
   * fleet lists everything at once) is retried by its informer; the statuses wait for that too, for up to
   * `firstSyncGraceMs`, rather than flipping every FailoverService to Failed and back. So does a discovery request
   * that times out (15 s) or is answered 429/5xx by a starved server. A cluster that refuses (401/403, a CA that
   * does not match, connection refused, Istio's CRDs not served) or a kubeconfig that cannot be used is reported at once.
   */
  firstSync(name: string): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    if (e.fingerprint.startsWith('waiting:')) return true;
    if (e.error !== undefined || e.conn === undefined || e.conn.everReady) return false;
    if (e.conn.error === undefined) return true;
    return (e.conn.answered || e.conn.discoveryStarved) && this.o.clock.now() - (e.startedAt ?? 0) < (this.o.firstSyncGraceMs ?? FIRST_SYNC_GRACE_MS);
  }
}
