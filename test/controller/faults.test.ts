/**
 * The fault matrix: each fault is injected into the API doubles while FailoverServices change, and each test
 * asserts that every member converges to exactly the render (no lost, duplicated or orphaned object).
 */
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WRITE_VERBS } from '../double/index.ts';
import type { KubeDouble } from '../double/index.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { Fleet } from './harness.ts';
import { TEST_TIMEOUT, applyAs, fits, step, within, converged, create, divergence, failoverService, get, list, loadIstioCrds, meshCluster, remove, service, startFleet, until } from './harness.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/api/types.ts';

const SE: ResourceType = { group: 'networking.istio.io', version: 'v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true };
const ALL = ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3'];

async function seed(f: Fleet, names = ['reviews']): Promise<void> {
  for (const n of names) for (const c of f.clients) await create(c, service(n));
}

async function metric(ctl: Controller, name: string): Promise<number> {
  const m = (await ctl.metrics.registry.expose()).split('\n').filter((l) => l.startsWith(name));
  return m.reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Writes (not counting Lease traffic) that reached `d`, by User-Agent. */
function writesBy(d: KubeDouble): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of d.requests) {
    if (!r.info || !WRITE_VERBS.includes(r.info.verb) || r.info.resource === 'leases') continue;
    out.set(r.userAgent, (out.get(r.userAgent) ?? 0) + 1);
  }
  return out;
}

describe('fault matrix', () => {
  let f: Fleet;
  beforeEach(async () => {
    f = await startFleet(3);
    await seed(f);
  });
  afterEach(async () => f.close(), TEST_TIMEOUT);

  it('watches dropped: reconnects and converges', fits(60_000, 60_000, 60_000, 60_000), async () => {
    const ctl = await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'initial');
    const dropped = [f.mgmt, ...f.members].reduce((n, d) => n + d.dropWatches(), 0);
    assert.ok(dropped > 0);
    await applyAs(f.mc, failoverService('reviews', [ALL[2]!, ALL[0]!]));
    await converged(f, 'after dropped watches');
    // Drift made while watches were down is repaired too.
    for (const d of f.members) d.dropWatches();
    await remove(f.clients[0]!, { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'reviews-global', namespace: 'default' } });
    await converged(f, 'drift repaired');
    assert.ok(await metric(ctl, 'spillway_watch_restarts{cluster="cluster1",reason="error"}') >= 1, 'the drops were seen as watch errors');
  });

  it('watches stalled silently: the watchdog aborts and re-watches', fits(60_000, 60_000, 60_000), async () => {
    const ctl = await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'initial');
    for (const d of [f.mgmt, ...f.members]) d.stallWatches();
    // Neither the input change nor the drift can be seen until the stalled watches are replaced.
    await applyAs(f.mc, failoverService('reviews', [ALL[1]!, ALL[0]!]));
    await remove(f.clients[0]!, { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'reviews-global', namespace: 'default' } });
    await converged(f, 'after stall');
    assert.ok(await metric(ctl, 'spillway_watch_restarts{cluster="cluster1",reason="stall"}') >= 1, 'a stall was detected in cluster1');
  });

  it('410 Gone during watch: re-lists (changes made meanwhile, deletions included, are not lost)', fits(60_000, 60_000, 60_000), async () => {
    const ctl = await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await create(f.mc, failoverService('ratings', [ALL[0]!, ALL[1]!].map((w) => w.replace('reviews', 'ratings'))));
    await seed(f, ['ratings']);
    await converged(f, 'initial');
    // Members: history compacted, so re-watching from the last resourceVersion is answered 410.
    for (const d of f.members) {
      d.compactHistory();
      d.dropWatches();
    }
    // Management: the next watches get an Expired ERROR event.
    f.mgmt.injectFailures({ verb: 'watch', code: 410, count: 3 });
    f.mgmt.dropWatches();
    await remove(f.mc, failoverService('ratings', []));
    await remove(f.clients[2]!, { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'reviews-global', namespace: 'default' } });
    await converged(f, 'after 410');
    assert.ok(await metric(ctl, 'spillway_watch_restarts{cluster="cluster3",reason="gone"}') >= 1);
  });

  it('409 on apply and 500s on every verb: retried with backoff until converged', fits(60_000, 60_000, 60_000, 60_000), async () => {
    const ctl = await f.startController();
    for (const d of f.members) {
      d.injectFailures({ verb: 'patch', group: 'networking.istio.io', code: 409, count: 3, message: 'the object has been modified' });
      d.injectFailures({ verb: ['patch', 'get', 'delete'], code: 500, count: 4 });
    }
    f.mgmt.injectFailures({ verb: 'patch', resource: 'failoverservices', subresource: 'status', code: 500, count: 2 });
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'create under 409/500');
    for (const d of f.members) d.injectFailures({ verb: ['patch', 'delete'], code: 500, count: 3 });
    await applyAs(f.mc, failoverService('reviews', [ALL[0]!, ALL[2]!]));
    await converged(f, 'update under 500');
    assert.ok(await metric(ctl, 'spillway_cluster_errors_total') > 0, 'the failures were seen');
    await until(async () => {
      const s = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { conditions?: { type: string; status: string }[] } | undefined;
      return s?.conditions?.find((c) => c.type === 'Programmed')?.status === 'True' ? [] : [JSON.stringify(s)];
    }, 'status recovers');
  });

  it('a member unreachable for a while: others converge, its objects stay, it catches up', fits(60_000, 60_000, 60_000, 60_000, 60_000), async () => {
    await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'initial');
    await f.members[2]!.down();
    await applyAs(f.mc, failoverService('reviews', [ALL[1]!, ALL[0]!, ALL[2]!]));
    await create(f.mc, failoverService('details', ['details-cluster1', 'details-cluster2']));
    await seed(f, []);
    await create(f.clients[0]!, service('details'));
    await create(f.clients[1]!, service('details'));
    await converged(f, 'cluster1 and cluster2 converge while cluster3 is down', { only: ['cluster1', 'cluster2'] });
    await until(async () => {
      const st = (await get(f.mc, MESH_CLUSTERS, undefined, 'cluster3'))?.status as { reachable?: boolean; lastError?: string } | undefined;
      const fs = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { clusters?: { name: string; syncState: string }[] } | undefined;
      const c3 = fs?.clusters?.find((c) => c.name === 'cluster3');
      return st?.reachable === false && st.lastError && c3?.syncState === 'Failed' ? [] : [JSON.stringify({ st, c3 })];
    }, 'cluster3 reported unreachable');
    // Nothing was deleted in cluster3 while it was away (its store still has the objects).
    assert.ok(f.members[2]!.peek('networking.istio.io', 'serviceentries', 'default', 'reviews-global'));
    await f.members[2]!.up();
    await converged(f, 'cluster3 caught up');
  });

  it('unowned objects with colliding names are left untouched and reported', fits(60_000, 60_000, 60_000, 60_000), async () => {
    await f.startController();
    const mine = await create(f.clients[0]!, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'reviews-global', namespace: 'default', labels: { team: 'payments' } },
      spec: { hosts: ['something.else'], resolution: 'DNS', ports: [{ name: 'http', number: 80, protocol: 'HTTP' }] },
    });
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'clusters without the collision converge', { only: ['cluster2', 'cluster3'] });
    await until(async () => {
      const s = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { clusters?: { name: string; syncState: string; message?: string }[]; conditions?: { type: string; status: string; reason: string }[] } | undefined;
      const c1 = s?.clusters?.find((c) => c.name === 'cluster1');
      const prog = s?.conditions?.find((c) => c.type === 'Programmed');
      return c1?.syncState === 'Failed' && /not managed by Spillway/.test(c1.message ?? '') && prog?.status === 'False' ? [] : [JSON.stringify(s)];
    }, 'collision reported');
    const still = await get(f.clients[0]!, SE, 'default', 'reviews-global');
    assert.equal(still?.metadata.resourceVersion, mine.metadata.resourceVersion, 'the unowned object was not written');
    assert.deepEqual(still?.spec, mine.spec);
    const d = await divergence(f, ['cluster1']);
    assert.deepEqual(d.filter((p) => !p.includes('ServiceEntry/default/reviews-global')), [], 'everything else in cluster1 is in place');
    // Once the owner removes it, Spillway writes its own.
    await remove(f.clients[0]!, mine);
    await converged(f, 'after the unowned object is removed');
  });

  // Each wait has its own bound and the test's timeout fits them (fits()): a slow step fails saying what it waited
  // for, never as a bare test timeout. Two controller starts, one leader, a convergence, the leader's stop, the
  // hand-over and a convergence.
  it('two controllers at once: only the leader writes; the other takes over when it stops', fits(60_000, 60_000, 30_000, 60_000, 30_000, 30_000, 60_000), async () => {
    // Leases long enough that the leader keeps its lease however loaded the machine is: if the lease moves (with 15 s
    // leases a starved soak run saw "renew deadline passed"), the "follower" rightly writes as the leader it became,
    // which this test cannot tell from a second writer. Stepping down on a lapse is the management-outage test's
    // subject. The hand-over stays fast: a stopping leader releases the lease, and the other retries every 100 ms.
    const le = { leaseDurationMs: 90_000, renewDeadlineMs: 60_000, retryPeriodMs: 100 };
    const a = await f.startController({ identity: 'a', leaderElection: le });
    const b = await f.startController({ identity: 'b', leaderElection: le });
    await until(async () => (a.isLeader !== b.isLeader ? [] : ['no single leader']), 'one leader', 30_000);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    const followerUA = `spillway/${follower === a ? 'a' : 'b'}`;
    const leaderUA = `spillway/${leader === a ? 'a' : 'b'}`;
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'leader converges');
    for (const d of [f.mgmt, ...f.members]) assert.equal(writesBy(d).get(followerUA) ?? 0, 0, `${d.name}: the follower wrote nothing`);
    assert.ok(f.members.every((d) => (writesBy(d).get(leaderUA) ?? 0) > 0));
    await step('leader stopped', () => within(leader.stop(), 30_000, 'the leader did not stop'));
    // The stopped leader released the lease: the follower's next try (every 100 ms) takes it.
    await until(async () => (follower.isLeader ? [] : ['not yet']), 'failover of leadership', 30_000);
    for (const d of [f.mgmt, ...f.members]) d.resetLog();
    await applyAs(f.mc, failoverService('reviews', [ALL[2]!, ALL[1]!]));
    await converged(f, 'new leader converges');
    for (const d of [f.mgmt, ...f.members]) assert.equal(writesBy(d).get(leaderUA) ?? 0, 0, 'the stopped leader wrote nothing');
  });
});

describe('controller killed mid-apply (separate process, SIGKILL) and restarted', () => {
  let f: Fleet;
  let dir: string;
  after(async () => {
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the restarted controller converges exactly: missing objects written, orphans pruned', fits(60_000, 120_000, 60_000, 60_000, 60_000), async () => {
    f = await startFleet(3);
    await seed(f, ['reviews', 'ratings', 'details']);
    dir = mkdtempSync(join(tmpdir(), 'spillway-kill-'));
    const kubeconfig = join(dir, 'management.kubeconfig');
    writeFileSync(kubeconfig, f.mgmt.kubeconfig());
    // VirtualService writes are held in every member (accepted, not carried out), so the kill lands at a known point:
    // the other kinds written, each member with a VirtualService write in flight. Whatever the machine's load, the
    // child cannot finish while they are held.
    const holds = f.members.map((d) => d.hold({ verb: 'patch', resource: 'virtualservices' }));
    for (const n of ['reviews', 'ratings', 'details']) await create(f.mc, failoverService(n, ALL.map((w) => w.replace('reviews', n))));
    const script = `import('./src/cli/controller.ts').then((m) => m.controllerCommand({ kubeconfig: ${JSON.stringify(kubeconfig)}, namespace: 'spillway-system', metricsAddr: '', leaderElect: false }))`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    const vsPatches = (d: KubeDouble) => d.requests.filter((r) => r.info?.verb === 'patch' && r.info.resource === 'virtualservices');
    try {
      await until(
        // Mid-apply, with the workloads it discovered written (the expected render below is made from them).
        async () => (f.members.every((d, i) => d.peek('networking.istio.io', 'serviceentries', 'default', 'reviews-global') && holds[i]!.held() > 0) && (await list(f.mc, MESH_WORKLOADS)).length === 9 ? [] : ['not mid-apply yet']),
        'the child is mid-apply',
        120_000,
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(holds.every((h) => h.held() > 0), 'writes were in flight when the controller died');
    // cluster1 carries out the writes it had accepted (objects now exist that no running controller remembers
    // writing); cluster2 and cluster3 drop theirs (the client went away before the server wrote).
    holds[0]!.release();
    holds[1]!.drop();
    holds[2]!.drop();
    await until(async () => (f.members.every((d) => vsPatches(d).every((r) => r.code !== 0)) ? [] : ['in flight']), 'in-flight writes end', 60_000);
    assert.ok(vsPatches(f.members[0]!).some((r) => r.code >= 200 && r.code < 300), 'cluster1 carried out a write of the dead controller');
    const half = await divergence(f);
    for (const c of ['cluster2', 'cluster3']) assert.ok(half.some((p) => p.startsWith(`${c}: missing networking.istio.io/VirtualService/`)), `the first controller did not finish in ${c}: ${half.join('\n')}`);
    assert.match(log, /"msg":"starting"/);
    assert.doesNotMatch(log, /kube-double/, 'no token in the logs');
    // While no controller runs, inputs change: one service goes away (its objects become orphans), one is reordered.
    await remove(f.mc, failoverService('details', []));
    await applyAs(f.mc, failoverService('ratings', ['ratings-cluster3', 'ratings-cluster1']));
    await f.startController();
    await converged(f, 'restarted controller');
  });
});

const ISTIO = 'networking.istio.io';

/** Successful Istio-object writes of a member since its log was reset, by object path. */
function successfulWrites(d: KubeDouble): string[] {
  return d.requests.filter((r) => r.info?.group === ISTIO && WRITE_VERBS.includes(r.info.verb) && r.code >= 200 && r.code < 300).map((r) => `${r.method} ${r.path.split('?')[0]}`);
}

function assertNothingWrittenTwice(d: KubeDouble): void {
  const w = successfulWrites(d);
  const twice = w.filter((x, i) => w.indexOf(x) !== i);
  assert.deepEqual(twice, [], `${d.name}: no object written twice`);
}

/** An Istio CRD as an older Istio ships it: v1 not served (the remaining newest version stores). */
function withoutV1(crd: KubeObject): KubeObject {
  const spec = crd.spec as { versions: { name: string; served: boolean; storage: boolean }[] };
  const versions = spec.versions.filter((v) => v.name !== 'v1').map((v) => ({ ...v, served: true, storage: false }));
  const storage = versions.find((v) => v.name === 'v1beta1') ?? versions[0]!;
  storage.storage = true;
  return { apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: crd.metadata.name }, spec: { ...spec, versions } };
}

describe('faults real API servers produce', () => {
  let f: Fleet;
  beforeEach(async () => {
    f = await startFleet(3);
    await seed(f);
  });
  afterEach(async () => f.close(), TEST_TIMEOUT);

  it('429 with Retry-After: each throttled write is sent again no sooner than asked; nothing is written twice', fits(60_000, 60_000, 60_000), async () => {
    await f.startController();
    for (const d of f.members) d.injectFailures({ verb: 'patch', group: ISTIO, code: 429, count: 2, retryAfterSeconds: 1, message: 'too many requests, please try again later' });
    f.mgmt.injectFailures({ verb: 'patch', resource: 'failoverservices', subresource: 'status', code: 429, count: 1, retryAfterSeconds: 1 });
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'converged under 429');
    for (const d of f.members) {
      const patches = d.requests.filter((r) => r.info?.verb === 'patch' && r.info.group === ISTIO);
      const throttled = patches.filter((r) => r.code === 429);
      assert.equal(throttled.length, 2, `${d.name}: two writes throttled`);
      for (const t of throttled) {
        const next = patches.find((r) => r.path === t.path && r.at > t.at);
        assert.ok(next, `${d.name}: the throttled write was sent again`);
        assert.ok(next.at - t.doneAt! >= 950, `${d.name}: sent again after ${next.at - t.doneAt!} ms, the server asked for 1000`);
      }
      assertNothingWrittenTwice(d);
    }
    await until(async () => {
      const st = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { conditions?: { type: string; status: string }[] } | undefined;
      return st?.conditions?.find((c) => c.type === 'Programmed')?.status === 'True' ? [] : [JSON.stringify(st)];
    }, 'status written after its 429');
  });

  it('a member answering writes in 10 s holds back no other cluster, and /healthz stays healthy', fits(60_000, 60_000, 60_000, 90_000), async () => {
    const ctl = await f.startController({ memberClient: (config) => new HttpKubeClient(config, { timeoutMs: 30_000, userAgent: 'spillway/slow' }) });
    const undo = f.members[2]!.addLatency(10_000, { verb: 'patch', group: ISTIO });
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'cluster1 and cluster2 converge', { only: ['cluster1', 'cluster2'] });
    // They did not wait for cluster3: its writes are still in flight.
    const inFlight = f.members[2]!.requests.filter((r) => r.info?.verb === 'patch' && r.code === 0);
    assert.ok(inFlight.length > 0, 'cluster3 writes are still in flight when the others have converged');
    assert.equal(ctl.healthy, true);
    await until(async () => {
      const st = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { clusters?: { name: string; syncState: string; message?: string }[] } | undefined;
      const c3 = st?.clusters?.find((c) => c.name === 'cluster3');
      return c3?.syncState === 'Pending' && /still in progress since/.test(c3.message ?? '') ? [] : [JSON.stringify(c3)];
    }, 'cluster3 reported slow');
    undo();
    await converged(f, 'cluster3 catches up', { timeoutMs: 90_000 });
    for (const d of f.members) assertNothingWrittenTwice(d);
  });

  it('a member whose writes outlast a reconcile: the statuses say so once, and reconciles while the same writes run write no status again', fits(60_000, 60_000, 30_000, 30_000, 30_000, 30_000, 90_000, 30_000), async () => {
    // Writes to cluster3 are held (accepted, not answered) until released: the batch outlasts every reconcile below.
    const ctl = await f.startController({ serving: false, memberClient: (config) => new HttpKubeClient(config, { timeoutMs: 120_000, userAgent: 'spillway/slow' }) });
    const held = f.members[2]!.hold({ verb: 'patch', group: ISTIO });
    try {
      await create(f.mc, failoverService('reviews', ALL));
      await converged(f, 'cluster1 and cluster2 converge', { only: ['cluster1', 'cluster2'] });
      type St = { clusters?: { name: string; syncState: string; message?: string }[]; conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime?: string }[] };
      const statusOf = async (): Promise<St | undefined> => (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as St | undefined;
      await until(async () => {
        const st = await statusOf();
        const states = st?.clusters?.map((c) => `${c.name}=${c.syncState}`).join(',');
        return states === 'cluster1=Synced,cluster2=Synced,cluster3=Pending' ? [] : [JSON.stringify(st)];
      }, 'cluster3 reported Pending, the others Synced');
      assert.ok(held.held() > 0, 'cluster3 writes are held');
      assert.deepEqual(ctl.backgroundWrites, ['cluster3']);
      const before = (await statusOf())!;
      const c3 = before.clusters!.find((c) => c.name === 'cluster3')!;
      // What a platform engineer reads: how many objects, since when (a stable time, not a counter of seconds).
      assert.match(c3.message ?? '', /^writes of \d+ objects still in progress since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(slow API server\); other clusters are not held back$/);
      const programmed = before.conditions!.find((c) => c.type === 'Programmed')!;
      assert.equal(programmed.status, 'False');
      assert.ok(programmed.message.includes(`cluster3: ${c3.message}`), programmed.message);
      const mcBefore = (await get(f.mc, MESH_CLUSTERS, undefined, 'cluster3'))?.status as { lastError?: string } | undefined;
      assert.equal(mcBefore?.lastError, c3.message, "the MeshCluster's status says the same");
      f.mgmt.resetLog();
      // Three more reconciles over more than three seconds while the same writes are in flight.
      for (let k = 0; k < 3; k++) {
        await new Promise((r) => setTimeout(r, 1_100));
        const n = ctl.reconcileCount;
        ctl.trigger();
        await until(async () => (ctl.reconcileCount > n ? [] : ['no reconcile yet']), `reconcile ${k + 1} while cluster3 writes are in flight`, 30_000);
        const o = ctl.lastReport?.outcomes.find((x) => x.cluster === 'cluster3');
        assert.deepEqual([o?.state, o?.message], ['Pending', c3.message], 'the same outcome for the same batch');
      }
      const statusWrites = f.mgmt.requests.filter((r) => r.info?.verb === 'patch' && r.info.subresource === 'status' && r.userAgent.startsWith('spillway/'));
      assert.deepEqual(statusWrites.map((r) => r.path), [], 'no status written again while the same batch runs');
      assert.equal(held.held() > 0, true, 'still held: the reconciles above ran while the writes were in flight');
      const after = (await statusOf())!;
      assert.equal(after.conditions!.find((c) => c.type === 'Programmed')!.lastTransitionTime, programmed.lastTransitionTime);
    } finally {
      held.release();
    }
    await converged(f, 'cluster3 catches up', { timeoutMs: 90_000 });
    // The finished batch is forgotten and the next status says Synced.
    await until(async () => {
      const st = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { clusters?: { name: string; syncState: string }[] } | undefined;
      return st?.clusters?.every((c) => c.syncState === 'Synced') && ctl.backgroundWrites.length === 0 ? [] : [JSON.stringify(st), `background: ${ctl.backgroundWrites.join(',')}`];
    }, 'every cluster Synced, no background writes left', 30_000);
    for (const d of f.members) assertNothingWrittenTwice(d);
  });

  it('a slow batch in one cluster turns Pending only the services it writes: the others stay Synced and are not written', fits(60_000, 60_000, 30_000, 30_000, 90_000, 30_000), async () => {
    await seed(f, ['ratings']);
    const RATINGS = ['ratings-cluster1', 'ratings-cluster2', 'ratings-cluster3'];
    const ctl = await f.startController({ serving: false, memberClient: (config) => new HttpKubeClient(config, { timeoutMs: 120_000, userAgent: 'spillway/slow' }) });
    await create(f.mc, failoverService('reviews', ALL));
    await create(f.mc, failoverService('ratings', RATINGS));
    await converged(f, 'both services converge');
    type St = { clusters?: { name: string; syncState: string; message?: string }[]; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
    const statusOf = async (n: string): Promise<St | undefined> => (await get(f.mc, FAILOVER_SERVICES, 'default', n))?.status as St | undefined;
    const states = (st: St | undefined): string | undefined => st?.clusters?.map((c) => `${c.name}=${c.syncState}`).join(',');
    await until(async () => (states(await statusOf('ratings')) === 'cluster1=Synced,cluster2=Synced,cluster3=Synced' && ctl.backgroundWrites.length === 0 ? [] : [JSON.stringify(await statusOf('ratings'))]), 'ratings Synced everywhere');
    const ratingsBefore = await get(f.mc, FAILOVER_SERVICES, 'default', 'ratings');
    // Every member's writes held: whichever clusters the change writes to have a slow batch of reviews' objects only.
    const holds = f.members.map((d) => d.hold({ verb: 'patch', group: ISTIO }));
    try {
      f.mgmt.resetLog();
      await applyAs(f.mc, failoverService('reviews', [ALL[2]!, ALL[0]!, ALL[1]!]));
      await until(async () => (/Pending/.test(states(await statusOf('reviews')) ?? '') ? [] : [JSON.stringify(await statusOf('reviews'))]), 'reviews Pending where its writes are held');
      assert.ok(holds.some((h) => h.held() > 0), 'the change\'s writes are held');
      assert.ok(ctl.backgroundWrites.length > 0, 'writes in the background');
      // More reconciles while the batch runs.
      for (let k = 0; k < 2; k++) {
        const n = ctl.reconcileCount;
        ctl.trigger();
        await until(async () => (ctl.reconcileCount > n ? [] : ['no reconcile yet']), `reconcile ${k + 1} while the writes are in flight`, 30_000);
      }
      assert.ok(holds.some((h) => h.held() > 0), 'still held: the reconciles ran while the writes were in flight');
      const ratings = await get(f.mc, FAILOVER_SERVICES, 'default', 'ratings');
      assert.equal(states(ratings?.status as St), 'cluster1=Synced,cluster2=Synced,cluster3=Synced', 'ratings has nothing in the batch');
      assert.equal(ratings?.metadata.resourceVersion, ratingsBefore?.metadata.resourceVersion, 'ratings\' status was not written');
      const written = f.mgmt.requests.filter((r) => r.info?.verb === 'patch' && r.info.subresource === 'status' && r.info.resource === 'failoverservices' && r.userAgent.startsWith('spillway/')).map((r) => r.info!.name);
      assert.ok(written.length > 0 && written.every((n) => n === 'reviews'), `only reviews' status written: ${written.join(', ')}`);
    } finally {
      for (const h of holds) h.release();
    }
    await converged(f, 'the held writes land', { timeoutMs: 90_000 });
    await until(async () => (states(await statusOf('reviews')) === 'cluster3=Synced,cluster1=Synced,cluster2=Synced' && ctl.backgroundWrites.length === 0 ? [] : [JSON.stringify(await statusOf('reviews'))]), 'reviews Synced again', 30_000);
  });

  it('Istio CRDs removed and reinstalled serving other versions: versions rediscovered, objects re-created', fits(60_000, 60_000, 60_000, 60_000, 60_000), async () => {
    await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'initial');
    // cluster3 rolls back to Istio 1.20: its MeshCluster says so (objects at v1beta1), and its CRDs stop serving v1.
    const mc = meshCluster('cluster3', 3, 'cluster3-kubeconfig');
    await applyAs(f.mc, { ...mc, spec: { ...(mc.spec as object), istio: { version: '1.20' } } });
    await converged(f, 'cluster3 objects at v1beta1');
    const c = f.clients[2]!;
    for (const crd of loadIstioCrds()) await remove(c, crd);
    await until(async () => ((await get(c, { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false }, undefined, 'serviceentries.networking.istio.io')) ? ['still there'] : []), 'CRDs gone');
    for (const crd of loadIstioCrds()) await create(c, withoutV1(crd));
    await converged(f, 'cluster3 objects re-created at the versions now served');
    assertNothingWrittenTwice(f.members[0]!);
  });

  it('the management cluster unreachable (a minute, shortened to 4 s): the leader steps down, nothing is lost, it converges after', fits(60_000, 60_000, 60_000, 60_000, 60_000, 4_000, 60_000, 60_000), async () => {
    const le = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 };
    const ctl = await f.startController({ identity: 'a', leaderElection: le });
    await until(async () => (ctl.isLeader ? [] : ['not leader yet']), 'leader');
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'initial');
    await step('idle', () => within(ctl.idle(), 60_000, 'the controller did not go idle'));
    for (const d of f.members) d.resetLog();
    await f.mgmt.down();
    await until(async () => (ctl.isLeader ? ['still leader'] : []), 'the leader steps down when it cannot renew');
    await new Promise((r) => setTimeout(r, 4_000));
    assert.deepEqual(f.members.map((d) => successfulWrites(d)), [[], [], []], 'nothing written or removed in any member meanwhile');
    await f.mgmt.up();
    await until(async () => (ctl.isLeader ? [] : ['not leader again']), 'leader again', 60_000);
    assert.deepEqual(await divergence(f), [], 'every member still holds exactly the render');
    await applyAs(f.mc, failoverService('reviews', [ALL[2]!, ALL[0]!, ALL[1]!]));
    await converged(f, 'a change after the outage');
    for (const d of f.members) assertNothingWrittenTwice(d);
  });
});
