/** Leader election against an in-memory Lease endpoint with optimistic locking, on a fake clock. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, noJitter } from '../../src/kube/clock.ts';
import type { KubeClient, KubeRequest } from '../../src/kube/client.ts';
import { newStats } from '../../src/kube/client.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { LeaderElector } from '../../src/kube/lease.ts';

interface LeaseObj {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

/** One Lease behind GET/POST/PUT with resourceVersion checks; `down` makes every request fail. */
class LeaseServer {
  lease: LeaseObj | undefined;
  rv = 0;
  down = new Set<string>();
  /** Requests of these replicas wait until `resume` (a loaded machine: the renewal comes back late). */
  private stalled = new Map<string, (() => void)[]>();
  stall(who: string): void {
    this.stalled.set(who, []);
  }
  resume(who: string): void {
    const waiting = this.stalled.get(who) ?? [];
    this.stalled.delete(who);
    for (const w of waiting) w();
  }
  client(who: string): KubeClient {
    return {
      server: 'mem',
      stats: newStats(),
      close: () => undefined,
      watch: () => Promise.reject(new Error('no watch')),
      request: async (r: KubeRequest) => {
        const err = (status: number, message: string) => new KubeApiError({ status, message, verb: r.method, path: r.path });
        if (this.down.has(who)) throw err(0, 'unreachable');
        const waiting = this.stalled.get(who);
        if (waiting) await new Promise<void>((r) => waiting.push(r));
        if (r.method === 'GET') {
          if (!this.lease) throw err(404, 'not found');
          return structuredClone(this.lease);
        }
        const body = structuredClone(r.body) as LeaseObj;
        if (r.method === 'POST') {
          if (this.lease) throw err(409, 'exists');
        } else if (r.method === 'PUT') {
          if (body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw err(409, 'conflict');
        }
        body.metadata.resourceVersion = String(++this.rv);
        this.lease = body;
        return structuredClone(body);
      },
    };
  }
}

function elector(server: LeaseServer, clock: FakeClock, id: string, on: { started?: () => void; stopped?: () => void } = {}): LeaderElector {
  return new LeaderElector({ client: server.client(id), namespace: 'ns', name: 'spillway', identity: id, clock, jitter: noJitter, leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200, onStartedLeading: on.started, onStoppedLeading: on.stopped });
}

describe('leader election', () => {
  it('exactly one leader; a crashed leader is replaced only after the lease expires', { timeout: 300_000 }, async () => {
    const clock = new FakeClock();
    const srv = new LeaseServer();
    const a = elector(srv, clock, 'a');
    const b = elector(srv, clock, 'b');
    a.start();
    await clock.advance(0);
    b.start();
    for (let t = 0; t < 3_000; t += 100) {
      await clock.advance(100);
      assert.ok(a.isLeader() && !b.isLeader(), `at ${t}`);
    }
    await a.stop(false); // crash: no release
    const crashedAt = clock.now();
    let tookOver = -1;
    for (let t = 0; t < 3_000 && tookOver < 0; t += 50) {
      await clock.advance(50);
      if (b.isLeader()) tookOver = clock.now() - crashedAt;
    }
    // b last saw the record change at a's last renewal (< 200ms before the crash), then waited the 2s lease.
    assert.ok(tookOver >= 1_800 && tookOver <= 2_300, `took over after ${tookOver}ms`);
    assert.equal(srv.lease?.spec?.holderIdentity, 'b');
    assert.equal(srv.lease?.spec?.leaseTransitions, 1);
    await b.stop();
    assert.equal(srv.lease?.spec?.holderIdentity, '', 'a clean stop releases the lease');
  });

  it('a leader that cannot renew stops claiming leadership before anyone else may take over', { timeout: 300_000 }, async () => {
    const clock = new FakeClock();
    const srv = new LeaseServer();
    const a = elector(srv, clock, 'a');
    const b = elector(srv, clock, 'b');
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(500);
    srv.down.add('a');
    const cutAt = clock.now();
    let aStopped = -1;
    let bStarted = -1;
    for (let t = 0; t < 3_000; t += 50) {
      await clock.advance(50);
      if (aStopped < 0 && !a.isLeader()) aStopped = clock.now() - cutAt;
      if (bStarted < 0 && b.isLeader()) bStarted = clock.now() - cutAt;
      assert.ok(!(a.isLeader() && b.isLeader()), 'never two leaders');
    }
    assert.ok(aStopped >= 0 && bStarted > aStopped, `a stopped at ${aStopped}, b started at ${bStarted}`);
    await a.stop(false);
    await b.stop(false);
  });

  it('a renewal that comes back after the renew deadline ends the term and starts a new one (the controller is told twice)', { timeout: 300_000 }, async () => {
    const clock = new FakeClock();
    const srv = new LeaseServer();
    const events: string[] = [];
    const a = elector(srv, clock, 'a', { started: () => events.push(`started@${a.isLeader()}`), stopped: () => events.push('stopped') });
    a.start();
    await clock.advance(0);
    await clock.advance(500);
    assert.ok(a.isLeader());
    assert.deepEqual(events, ['started@true']);
    // The event loop of a loaded machine: a's renewal is answered only after its renew deadline (but before the lease
    // would let anyone else take over). Meanwhile a refuses to write (isLeader false), so a reconcile it ran was cut off.
    srv.stall('a');
    await clock.advance(1_700);
    assert.equal(a.isLeader(), false, 'past the renew deadline a does not claim leadership');
    srv.resume('a');
    await clock.advance(0);
    assert.ok(a.isLeader(), 'the late renewal succeeded: a holds the lease again');
    // Without the second `started`, the controller would never redo the reconcile the lapse aborted.
    assert.deepEqual(events, ['started@true', 'stopped', 'started@true']);
    await a.stop();
  });
});
