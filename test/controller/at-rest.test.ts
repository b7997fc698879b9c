/**
 * A controller at rest writes nothing. Two members with live endpoints (one service spilling over from the start),
 * the whole controller in-process: reconciles, statuses, live tier shares (status.serving and their Events) and the
 * continuous checks. Once in sync, resyncs, check runs and EndpointSlice events that change no share make no write
 * request at any API server; in the same run, a real change (a scale-down) writes exactly its status and its one
 * Event, and that condition staying as it is does not write or record it again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { ServingClient } from '../../src/controller/serving.ts';
import { WRITE_VERBS } from '../double/index.ts';
import type { KubeDouble } from '../double/index.ts';
import { FAILOVER_SERVICES } from '../../src/kube/resources.ts';
import { applyAs, create, failoverService, get, meshWorkload, startFleet } from './harness.ts';
import type { Fleet } from './harness.ts';

const SERVICES = ['reviews', 'ratings', 'details'];

/** The EndpointSlice of `svc`: one endpoint per entry, ready or not (`pod` names the pods: `<svc>-<pod>-<i>`). */
function slice(svc: string, ready: boolean[], extra: { pod?: string; labels?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc, ...extra.labels } },
    addressType: 'IPv4',
    endpoints: ready.map((r, i) => ({ addresses: [`10.0.${SERVICES.indexOf(svc)}.${i + 1}`], conditions: { ready: r }, targetRef: { kind: 'Pod', namespace: 'default', name: `${svc}-${extra.pod ?? 'a'}-${i}` } })),
  };
}

/**
 * A MeshWorkload without a pod selector: its local tier is the Service host, where istiod sends not-ready pods marked
 * unhealthy, so they lower the tier's health (on Spillway's dedicated host they would be left out).
 */
function workload(name: string, cluster: string, svc: string): KubeObject {
  const { selector: _s, ...spec } = meshWorkload(name, cluster, svc).spec as Record<string, unknown>;
  return { ...meshWorkload(name, cluster, svc), spec };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The controller's write requests (its User-Agent) at every server, from index `from` of each log, by verb and resource. */
function writesSince(ds: readonly KubeDouble[], from: readonly number[]): string[] {
  const out: string[] = [];
  ds.forEach((d, i) => {
    for (const r of d.requests.slice(from[i])) {
      if (r.info && WRITE_VERBS.includes(r.info.verb) && r.userAgent.startsWith('spillway/')) out.push(`${r.info.verb} ${r.info.resource}${r.info.subresource ? `/${r.info.subresource}` : ''} ${r.info.name}`.trim());
    }
  });
  return out.sort();
}

describe('controller at rest', { timeout: 180_000 }, () => {
  let f: Fleet;
  let ctl: Controller;
  let all: KubeDouble[];
  const mark = (): number[] => all.map((d) => d.requests.length);
  const events = async (): Promise<KubeObject[]> => ((await f.mc.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: KubeObject[] }).items;
  const serving = async (svc: string): Promise<ServingClient[] | undefined> => ((await get(f.mc, FAILOVER_SERVICES, 'default', svc))?.status as { serving?: ServingClient[] } | undefined)?.serving;

  /** `n` resyncs, each waited for until the controller has nothing left to do (publishes and check runs included). */
  async function resyncs(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const r = ctl.reconcileCount;
      ctl.trigger();
      await until('a reconcile', async () => (ctl.reconcileCount > r ? true : undefined));
      await ctl.idle();
    }
  }

  before(async () => {
    f = await startFleet(2);
    all = [f.mgmt, ...f.members];
    for (const svc of SERVICES) {
      // ratings has one ready endpoint of three in cluster1 from the start: its clients there spill to cluster2.
      await applyAs(f.clients[0]!, slice(svc, svc === 'ratings' ? [true, false, false] : [true, true, true]));
      await applyAs(f.clients[1]!, slice(svc, [true, true, true]));
      for (const c of f.names) await create(f.mc, workload(`${svc}-${c}`, c, svc));
      await create(f.mc, failoverService(svc, f.names.map((c) => `${svc}-${c}`)));
    }
    ctl = await f.startController({ discovery: false, serving: { debounceMs: 20 }, checks: { firstDelayMs: 20, periodMs: 200, minIntervalMs: 20 } });
    // In sync: every service's tier shares published, the first check run's conditions written, nothing pending.
    await until('tier shares and Checked conditions of every service', async () => {
      for (const svc of SERVICES) {
        const fs = await get(f.mc, FAILOVER_SERVICES, 'default', svc);
        const st = fs?.status as { serving?: unknown[]; conditions?: { type: string }[] } | undefined;
        if (st?.serving?.length !== 2 || !st.conditions?.some((c) => c.type === 'Checked')) return undefined;
      }
      return true;
    });
    await ctl.idle();
  });
  after(async () => f?.close());

  it('in sync: one Event for the service that spills from the start, none for the healthy ones', async () => {
    const evs = await events();
    assert.deepEqual(evs.map((e) => [e['involvedObject'] && (e['involvedObject'] as { name: string }).name, e['reason'], e['message']]), [['ratings', 'Spillover', 'cluster1 clients: 54% now spill to cluster2, 46% stay on cluster1']]);
  });

  it('resyncs and check runs write nothing, anywhere', async () => {
    const from = mark();
    const reconciles = ctl.reconcileCount;
    const publishes = ctl.serving!.publishes;
    const checkRuns = ctl.checks!.runs;
    await resyncs(5);
    // Wait out a check period too, so that a periodic check run falls in the window.
    await until('a periodic check run', async () => (ctl.checks!.runs > checkRuns ? true : undefined));
    await ctl.idle();
    // Not vacuous: the reconciles ran, their renders were handed to the tier-share publisher and it computed.
    assert.ok(ctl.reconcileCount - reconciles >= 5, `${ctl.reconcileCount - reconciles} reconciles`);
    assert.ok(ctl.serving!.publishes - publishes >= 1, 'tier shares were computed again');
    assert.deepEqual(writesSince(all, from), []);
  });

  it('an EndpointSlice event that changes no share writes nothing', async () => {
    const from = mark();
    const publishes = ctl.serving!.publishes;
    // The same endpoints, relabelled: the slice informer reports it, the service is looked at again.
    await applyAs(f.clients[1]!, slice('reviews', [true, true, true], { labels: { rollout: 'b' } }));
    await until('a publish after the slice event', async () => (ctl.serving!.publishes > publishes ? true : undefined));
    await ctl.idle();
    assert.deepEqual(writesSince(all, from), []);
  });

  it('a real change writes its status and one Event; the new condition held writes and records nothing again', async () => {
    let from = mark();
    // reviews loses two of three endpoints in cluster1: its cluster1 clients now spill (a transition).
    await applyAs(f.clients[0]!, slice('reviews', [true, false, false]));
    const moved = await until('reviews to spill', async () => {
      const s = await serving('reviews');
      return s?.[0]?.tiers[1]?.percent === 54 ? s : undefined;
    });
    await ctl.idle();
    assert.equal(moved[0]!.client, 'cluster1');
    assert.deepEqual(writesSince(all, from), ['create events', 'patch failoverservices/status reviews']);
    const spill = (await events()).filter((e) => (e['involvedObject'] as { name: string }).name === 'reviews');
    assert.deepEqual(spill.map((e) => [e['reason'], e['message']]), [['Spillover', 'cluster1 clients: 54% now spill to cluster2, 46% stay on cluster1']]);

    // The same condition: other pods, the same readiness; then resyncs. Nothing is written, nothing recorded again.
    from = mark();
    const publishes = ctl.serving!.publishes;
    await applyAs(f.clients[0]!, slice('reviews', [true, false, false], { pod: 'b' }));
    await until('a publish after the slice event', async () => (ctl.serving!.publishes > publishes ? true : undefined));
    await resyncs(3);
    assert.deepEqual(writesSince(all, from), []);
    assert.equal((await events()).length, 2);
  });

  it('a restarted controller (no memory of what it published) writes nothing and records no Event again', async () => {
    await ctl.stop();
    const from = mark();
    const evs = (await events()).length;
    ctl = await f.startController({ discovery: false, serving: { debounceMs: 20 }, checks: { firstDelayMs: 20, periodMs: 200, minIntervalMs: 20 } });
    // Its first publish and first check run: both read what the last controller wrote, and find it current.
    await until('a publish with every member listed', async () => (ctl.serving!.lastReport && ctl.serving!.attached().length === 2 ? true : undefined));
    await until('a check run', async () => (ctl.checks!.runs > 0 ? true : undefined));
    await resyncs(2);
    await ctl.serving!.waitSynced();
    await resyncs(1);
    assert.ok(ctl.serving!.publishes >= 1);
    assert.deepEqual(writesSince(all, from), []);
    assert.equal((await events()).length, evs);
  });
});
