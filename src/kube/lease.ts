/**
 * Leader election on a coordination.k8s.io/v1 Lease, with the usual semantics: the holder renews every
 * `retryPeriodMs`; others take over once the record has not changed for `leaseDurationMs` as measured on
 * *their own* clock (no cross-machine clock comparison); updates use resourceVersion as an optimistic lock, so
 * two candidates can never both win. A leader that could not renew for `renewDeadlineMs` (< leaseDurationMs)
 * steps down before anyone else may take over, and `isLeader()` turns false at that deadline even if the renew
 * loop is stuck, so a deposed leader stops writing before a successor can start.
 */
import type { Clock, Jitter } from './clock.ts';
import { sleep } from './clock.ts';
import type { KubeClient } from './client.ts';
import { describeError, isKubeApiError } from './errors.ts';
import { LEASES, collectionPath, objectPath } from './resources.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  clock: Clock;
  jitter: Jitter;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  onLog?: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private validUntil = 0;
  private running = false;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private observed: { record: string; at: number } | undefined;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(private readonly o: LeaderElectionOptions) {
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseMs) throw new Error('renewDeadline must be shorter than leaseDuration');
  }

  /** True while this replica holds the lease and its last renewal is within the renew deadline. */
  isLeader(): boolean {
    return this.leading && this.o.clock.now() < this.validUntil;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the lease so a successor need not wait for it to expire. */
  async stop(release = true): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      if (release) await this.release().catch(() => undefined);
    }
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    if (v) this.o.onStartedLeading?.();
    else this.o.onStoppedLeading?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (e) {
        this.o.onLog?.('warn', 'lease request failed', { lease: `${this.o.namespace}/${this.o.name}`, error: describeError(e) });
      }
      if (!this.running) break;
      if (ok) {
        if (this.leading && this.o.clock.now() >= this.validUntil) {
          // Renewed, but only after the renew deadline: isLeader() has been false since then and every write tried
          // meanwhile was refused. That was a lost term, so say so, and start a new one below: the controller then
          // reconciles again instead of waiting for the next event with a plan it abandoned half-way.
          this.o.onLog?.('warn', 'lost leadership (renew deadline passed)', { lease: `${this.o.namespace}/${this.o.name}` });
          this.setLeading(false);
        }
        this.validUntil = this.o.clock.now() + this.renewDeadlineMs;
        if (!this.leading) this.o.onLog?.('info', 'became leader', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
        this.setLeading(true);
      } else if (this.leading && this.o.clock.now() >= this.validUntil) {
        this.o.onLog?.('warn', 'lost leadership (renew deadline passed)', { lease: `${this.o.namespace}/${this.o.name}` });
        this.setLeading(false);
      } else if (this.leading && this.observed && !this.observed.record.includes(`"holderIdentity":${JSON.stringify(this.o.identity)}`)) {
        this.o.onLog?.('warn', 'lost leadership (lease taken)', { lease: `${this.o.namespace}/${this.o.name}` });
        this.setLeading(false);
      }
      await sleep(this.o.clock, this.o.jitter(this.retryMs), this.abort.signal);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.clock.wallTime();
    const path = objectPath(LEASES, this.o.name, this.o.namespace);
    let lease: Lease | undefined;
    try {
      lease = (await this.o.client.request({ method: 'GET', path, timeoutMs: this.renewDeadlineMs, signal: this.abort.signal })) as Lease;
    } catch (e) {
      if (!(isKubeApiError(e) && e.notFound)) throw e;
    }
    const durationSeconds = Math.max(1, Math.round(this.leaseMs / 1000));
    if (!lease) {
      const body: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        await this.o.client.request({ method: 'POST', path: collectionPath(LEASES, this.o.namespace), body, timeoutMs: this.renewDeadlineMs, signal: this.abort.signal });
        this.observed = { record: JSON.stringify(body.spec), at: this.o.clock.now() };
        return true;
      } catch (e) {
        if (isKubeApiError(e) && e.conflict) return false; // someone else created it first
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify(spec);
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: this.o.clock.now() };
    const holder = spec.holderIdentity ?? '';
    const mine = holder === this.o.identity;
    const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (!mine && holder !== '' && this.observed.at + leaseMs > this.o.clock.now()) return false; // held by someone alive
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(now),
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      await this.o.client.request({ method: 'PUT', path, body: next, timeoutMs: this.renewDeadlineMs, signal: this.abort.signal });
    } catch (e) {
      if (isKubeApiError(e) && e.conflict) return false;
      throw e;
    }
    this.observed = { record: JSON.stringify(next.spec), at: this.o.clock.now() };
    return true;
  }

  private async release(): Promise<void> {
    const path = objectPath(LEASES, this.o.name, this.o.namespace);
    const lease = (await this.o.client.request({ method: 'GET', path, timeoutMs: 5_000 })) as Lease;
    if (lease.spec?.holderIdentity !== this.o.identity) return;
    const now = microTime(this.o.clock.wallTime());
    await this.o.client.request({
      method: 'PUT',
      path,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now } },
      timeoutMs: 5_000,
    });
  }
}
