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
import { FAILOVER_SERVICES, MESH_CLUSTERS } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { Fleet } from './harness.ts';
import { TEST_TIMEOUT, applyAs, converged, create, divergence, failoverService, get, remove, service, startFleet, until } from './harness.ts';

const SE: ResourceType = { group: 'networking.istio.io', version: 'v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true };
const ALL = ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3'];

async function seed(f: Fleet, names = ['reviews']): Promise<void> {
  for (const n of names) for (const c of f.clients) await create(c, service(n));
}

function metric(ctl: Controller, name: string): number {
  const m = ctl.metrics.registry.expose().split('\n').filter((l) => l.startsWith(name));
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

  it('watches dropped: reconnects and converges', { timeout: 90_000 }, async () => {
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
    assert.ok(metric(ctl, 'spillway_watch_restarts{cluster="cluster1",reason="error"}') >= 1, 'the drops were seen as watch errors');
  });

  it('watches stalled silently: the watchdog aborts and re-watches', { timeout: 90_000 }, async () => {
    const ctl = await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'initial');
    for (const d of [f.mgmt, ...f.members]) d.stallWatches();
    // Neither the input change nor the drift can be seen until the stalled watches are replaced.
    await applyAs(f.mc, failoverService('reviews', [ALL[1]!, ALL[0]!]));
    await remove(f.clients[0]!, { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'reviews-global', namespace: 'default' } });
    await converged(f, 'after stall', { timeoutMs: 15_000 });
    assert.ok(metric(ctl, 'spillway_watch_restarts{cluster="cluster1",reason="stall"}') >= 1, 'a stall was detected in cluster1');
  });

  it('410 Gone during watch: re-lists (changes made meanwhile, deletions included, are not lost)', { timeout: 90_000 }, async () => {
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
    assert.ok(metric(ctl, 'spillway_watch_restarts{cluster="cluster3",reason="gone"}') >= 1);
  });

  it('409 on apply and 500s on every verb: retried with backoff until converged', { timeout: 90_000 }, async () => {
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
    assert.ok(metric(ctl, 'spillway_cluster_errors_total') > 0, 'the failures were seen');
    await until(async () => {
      const s = (await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { conditions?: { type: string; status: string }[] } | undefined;
      return s?.conditions?.find((c) => c.type === 'Programmed')?.status === 'True' ? [] : [JSON.stringify(s)];
    }, 'status recovers');
  });

  it('a member unreachable for a while: others converge, its objects stay, it catches up', { timeout: 90_000 }, async () => {
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

  it('unowned objects with colliding names are left untouched and reported', { timeout: 90_000 }, async () => {
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

  it('two controllers at once: only the leader writes; the other takes over when it stops', { timeout: 90_000 }, async () => {
    const le = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 };
    const a = await f.startController({ identity: 'a', leaderElection: le });
    const b = await f.startController({ identity: 'b', leaderElection: le });
    await until(async () => (a.isLeader !== b.isLeader ? [] : ['no single leader']), 'one leader');
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    const followerUA = `spillway/${follower === a ? 'a' : 'b'}`;
    const leaderUA = `spillway/${leader === a ? 'a' : 'b'}`;
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'leader converges');
    for (const d of [f.mgmt, ...f.members]) assert.equal(writesBy(d).get(followerUA) ?? 0, 0, `${d.name}: the follower wrote nothing`);
    assert.ok(f.members.every((d) => (writesBy(d).get(leaderUA) ?? 0) > 0));
    await leader.stop();
    await until(async () => (follower.isLeader ? [] : ['not yet']), 'failover of leadership');
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

  it('the restarted controller converges exactly: missing objects written, orphans pruned', { timeout: 90_000 }, async () => {
    f = await startFleet(3);
    await seed(f, ['reviews', 'ratings', 'details']);
    dir = mkdtempSync(join(tmpdir(), 'spillway-kill-'));
    const kubeconfig = join(dir, 'management.kubeconfig');
    writeFileSync(kubeconfig, f.mgmt.kubeconfig());
    // VirtualService writes are slow, so the kill lands after the other kinds were written and before those.
    const undo = f.members.map((d) => d.addLatency(1_000, { verb: 'patch', resource: 'virtualservices' }));
    for (const n of ['reviews', 'ratings', 'details']) await create(f.mc, failoverService(n, ALL.map((w) => w.replace('reviews', n))));
    const script = `import('./src/cli/controller.ts').then((m) => m.controllerCommand({ kubeconfig: ${JSON.stringify(kubeconfig)}, namespace: 'spillway-system', metricsAddr: '', leaderElect: false }))`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    const vsPatches = (d: KubeDouble) => d.requests.filter((r) => r.info?.verb === 'patch' && r.info.resource === 'virtualservices');
    try {
      await until(
        async () => (f.members.every((d) => d.peek('networking.istio.io', 'serviceentries', 'default', 'reviews-global') && vsPatches(d).length > 0) ? [] : ['not mid-apply yet']),
        'the child is mid-apply',
        20_000,
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(f.members.every((d) => vsPatches(d).some((r) => r.code === 0)), 'writes were in flight when the controller died');
    // The API server finishes the writes it had accepted.
    await until(async () => (f.members.every((d) => vsPatches(d).every((r) => r.code !== 0)) ? [] : ['in flight']), 'in-flight writes land', 5_000);
    assert.ok((await divergence(f)).length > 0, 'the first controller did not finish');
    assert.match(log, /"msg":"starting"/);
    assert.doesNotMatch(log, /kube-double/, 'no token in the logs');
    for (const u of undo) u();
    // While no controller runs, inputs change: one service goes away (its objects become orphans), one is reordered.
    await remove(f.mc, failoverService('details', []));
    await applyAs(f.mc, failoverService('ratings', ['ratings-cluster3', 'ratings-cluster1']));
    await f.startController();
    await converged(f, 'restarted controller');
  });
});
