/**
 * A member whose API discovery is starved (its request times out after 15 s, or is answered 429/5xx) gets the same
 * first-sync grace as one whose first lists fail: the statuses that depend on it wait instead of reporting it Failed at once
 * and flipping back when it answers; past the grace it is reported Failed. A refusal (403, 401, a refused connection)
 * is reported at once.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FAILOVER_SERVICES } from '../../src/kube/resources.ts';
import type { Fleet } from './harness.ts';
import { converged, create, failoverService, fits, get, meshWorkload, startFleet, until } from './harness.ts';

const ISTIO_DISCOVERY = '/apis/networking.istio.io';

interface FsStatus {
  observedGeneration?: number;
  clusters?: { name: string; syncState: string; message?: string }[];
}

async function syncStates(f: Fleet): Promise<string> {
  const o = await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews');
  const s = (o?.status ?? {}) as FsStatus;
  return (s.clusters ?? []).map((c) => `${c.name}=${c.syncState}`).join(',');
}

async function stateUntil(f: Fleet, want: string, what: string, timeoutMs = 60_000): Promise<void> {
  await until(async () => {
    const got = await syncStates(f);
    return got === want ? [] : [got];
  }, what, timeoutMs);
}

describe('a member whose discovery is starved waits within the first-sync grace', () => {
  let f: Fleet;
  beforeEach(async () => {
    f = await startFleet(2);
    for (const name of f.names) await create(f.mc, meshWorkload(`reviews-${name}`, name, 'reviews'));
    await create(f.mc, failoverService('reviews', f.names.map((n) => `reviews-${n}`)));
  });
  afterEach(async () => {
    await f?.close();
  });

  it('discovery timing out (15 s): statuses wait, not Failed, until the grace ends; Failed after it; Synced once it answers', fits(15_000, 45_000, 15_000), async () => {
    const held = f.members[1]!.hold({ path: ISTIO_DISCOVERY });
    const ctl = await f.startController({ discovery: false, serving: false, firstSyncGraceMs: 45_000 });
    // The first discovery request was held past the client's 15 s timeout and the connection asked again.
    await until(async () => (held.held() >= 2 ? [] : [`${held.held()} held`]), 'a discovery request timed out and was retried', 60_000);
    await ctl.idle();
    // Statuses that depend on a member in its first sync wait: nothing is written, rather than cluster2=Failed.
    assert.equal(await syncStates(f), '', 'a starved member waits within the grace');
    await stateUntil(f, 'cluster1=Synced,cluster2=Failed', 'reported Failed once the grace is over');
    const s = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as FsStatus;
    assert.match(s.clusters?.[1]?.message ?? '', /timed out after 15000ms/);
    held.release();
    await stateUntil(f, 'cluster1=Synced,cluster2=Synced', 'Synced once discovery answers');
    await converged(f, 'both clusters programmed');
  });

  it('discovery answered 429 or 503 (a server shedding load): statuses wait, not Failed; it then syncs', fits(30_000), async () => {
    const shed = f.members[1]!.injectFailures({ path: ISTIO_DISCOVERY, code: 429, count: 1_000_000 });
    const ctl = await f.startController({ discovery: false, serving: false });
    await until(async () => (shed.remaining() <= 1_000_000 - 3 ? [] : ['not yet']), 'three discovery attempts turned away', 30_000);
    await ctl.idle();
    assert.equal(await syncStates(f), '', 'the statuses wait');
    shed.cancel();
    const busy = f.members[1]!.injectFailures({ path: ISTIO_DISCOVERY, code: 503, count: 3 });
    ctl.trigger();
    await until(async () => (busy.remaining() === 0 ? [] : ['not yet']), 'the 503s served', 30_000);
    await stateUntil(f, 'cluster1=Synced,cluster2=Synced', 'Synced once discovery answers');
  });

  for (const code of [403, 401]) {
    it(`discovery refused (${code}) is reported Failed at once, well within the grace`, fits(30_000), async () => {
      f.members[1]!.injectFailures({ path: ISTIO_DISCOVERY, code, count: 1_000_000 });
      await f.startController({ discovery: false, serving: false });
      await stateUntil(f, 'cluster1=Synced,cluster2=Failed', 'Failed at once', 30_000);
      const s = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as FsStatus;
      assert.match(s.clusters?.[1]?.message ?? '', new RegExp(String(code)));
    });
  }

  it('a member that refuses connections (no answer, but no timeout either) is reported Failed at once', fits(30_000), async () => {
    await f.members[1]!.down();
    await f.startController({ discovery: false, serving: false });
    await stateUntil(f, 'cluster1=Synced,cluster2=Failed', 'Failed at once', 30_000);
    await f.members[1]!.up();
  });
});
