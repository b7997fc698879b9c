/**
 * Not-ready endpoints, on istiod's own code, for both forms of the local tier:
 * - the Service host (a MeshWorkload without selector): istiod builds its endpoints from the EndpointSlice and
 *   sends a not-ready pod marked UNHEALTHY (PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS, on by default since
 *   istio/istio#60690), so it counts in the tier's total;
 * - Spillway's dedicated host (a ServiceEntry selecting the pods: every MeshWorkload with a selector, so every
 *   discovered one): istiod builds its endpoints from ready pods only, so a not-ready pod is not sent at all.
 * A terminating pod is never sent on the dedicated host, nor as healthy on the Service host (where istiod leaves it out
 * once it knows the Service, see below). What the live tier shares publish for the tier (src/controller/serving.ts,
 * healthy/total from the same EndpointSlice) must be what the client sidecar gets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { computeServing, countSlices } from '../../src/controller/serving.ts';
import { renderDetailed } from '../../src/core/render.ts';
import { at, runOracle } from '../support/oracle.ts';
import type { Json, ProxyXds } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, ZONE_A, loadExample, member } from './mesh.ts';
import { renderedAggregates } from './pins.ts';

const SEED = loadExample('seed.yaml');
/** The seed without the MeshWorkloads' selectors: the local tier is the Service host itself. */
const NO_SELECTOR = SEED.map((d) => {
  const o = d as KubeObject;
  if (o.kind !== 'MeshWorkload') return d;
  const { selector: _s, ...spec } = o.spec as Record<string, unknown>;
  return { ...o, spec };
});

const NOT_READY = new Set(['reviews-3', 'reviews-4']);
const TERMINATING = 'reviews-5';

/** Six reviews pods in cluster1: three ready, two not ready, one terminating, as the kubelet and the EndpointSlice controller report them. */
function degrade(objects: readonly unknown[]): unknown[] {
  return objects.map((d) => {
    const o = d as KubeObject;
    if (o.kind === 'Pod' && (NOT_READY.has(o.metadata.name) || o.metadata.name === TERMINATING)) {
      const status = { ...(o.status as Record<string, unknown>), conditions: [{ type: 'Ready', status: 'False' }] };
      const metadata = o.metadata.name === TERMINATING ? { ...o.metadata, deletionTimestamp: '2026-12-01T10:00:00Z' } : o.metadata;
      return { ...o, metadata, status };
    }
    if (o.kind === 'EndpointSlice' && o.metadata.labels?.['kubernetes.io/service-name'] === 'reviews') {
      const endpoints = (o['endpoints'] as { targetRef: { name: string } }[]).map((ep) => {
        const name = ep.targetRef.name;
        if (NOT_READY.has(name)) return { ...ep, conditions: { ready: false, serving: false, terminating: false } };
        // A pod in its grace period: not ready, still serving, terminating (what Kubernetes writes).
        if (name === TERMINATING) return { ...ep, conditions: { ready: false, serving: true, terminating: true } };
        return ep;
      });
      return { ...o, endpoints };
    }
    return d;
  });
}

/** The health status istiod gives each endpoint of an EDS cluster, by IP (protojson omits UNKNOWN). */
function health(x: ProxyXds, cluster: string): Map<string, string> {
  const cla = x.endpoints.find((e) => e.clusterName === cluster);
  assert.ok(cla, `istiod sent no endpoints for ${cluster}`);
  const out = new Map<string, string>();
  for (const le of (at(cla, 'endpoints') as Json[] | undefined) ?? []) {
    for (const e of (at(le, 'lbEndpoints') as Json[] | undefined) ?? []) out.set(String(at(e, 'endpoint', 'address', 'socketAddress', 'address')), String(at(e, 'healthStatus') ?? 'UNKNOWN'));
  }
  return out;
}

const ipOf = (objects: readonly unknown[], pod: string): string => String(((objects as KubeObject[]).find((o) => o.kind === 'Pod' && o.metadata.name === pod)?.status as { podIP?: string } | undefined)?.podIP);

describe('oracle: not-ready endpoints as istiod sends them, as the live tier shares count them', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  const cases = [
    { what: 'the dedicated ServiceEntry selecting the pods (the seed): only the 3 ready pods are sent; serving.ts publishes 3/3', docs: SEED, notReady: undefined },
    { what: 'the Service host (no selector): 3 ready HEALTHY and 2 not ready UNHEALTHY; serving.ts publishes 3/5', docs: NO_SELECTOR, notReady: 'UNHEALTHY' },
  ] as const;
  for (const { what, docs, notReady } of cases) {
    it(`local tier = ${what}; the terminating pod is not sent as healthy`, { timeout: ORACLE_TEST_TIMEOUT }, async () => {
      const m = member(docs, 'cluster1', { zones: Array.from({ length: 6 }, () => ZONE_A) });
      const objects = degrade(m.input.objects);
      const res = await runOracle({ ...m.input, objects });
      const x = res.proxy(m.client);
      const agg = renderedAggregates(m.rendered)[0]!;
      const local = agg.children[0]!;
      assert.match(local, docs === SEED ? /^outbound\|9080\|\|reviews-local\.default\.global$/ : /^outbound\|9080\|\|reviews\.default\.svc\.cluster\.local$/);
      const all = health(x, local);
      // On the Service host istiod marks an endpoint Terminating (and so never sends it) only when it already knows
      // the Service as it reads the EndpointSlice; the oracle loads every object at once, so which comes first varies,
      // and a terminating pod read first is sent as UNHEALTHY. A real cluster had the Service long before a pod of it
      // terminates. Its status is checked apart, the rest exactly.
      const terminatingIp = ipOf(objects, TERMINATING);
      const got = new Map([...all].filter(([ip]) => ip !== terminatingIp));
      if (notReady) assert.notEqual(all.get(terminatingIp), 'HEALTHY', 'a terminating pod is never sent as healthy');
      else assert.ok(!all.has(terminatingIp), 'the dedicated host never sends a terminating pod');
      const want = new Map<string, string>();
      for (let i = 0; i < 5; i++) {
        const name = `reviews-${i}`;
        if (!NOT_READY.has(name)) want.set(ipOf(objects, name), 'HEALTHY');
        else if (notReady) want.set(ipOf(objects, name), notReady);
      }
      assert.deepEqual([...got].sort(), [...want].sort(), 'the endpoints and health statuses istiod sends');

      // What the live tier shares publish for cluster1's tier, from the same EndpointSlice.
      const slices = (objects as KubeObject[]).filter((o) => o.kind === 'EndpointSlice' && o.metadata.labels?.['kubernetes.io/service-name'] === 'reviews');
      const rendered = renderDetailed(docs.map((value, i) => ({ value, source: `#${i}` })));
      const n = countSlices(slices);
      assert.deepEqual([n.ready, n.notReady, n.terminating], [3, 2, 1]);
      const published = computeServing({ render: rendered, endpoints: (c) => (c === 'cluster1' ? n : { ready: 1, notReady: 0, terminating: 0, zones: {} }), gateway: () => undefined }).get('FailoverService/default/reviews-remote')!;
      const tier = published.find((c) => c.client === 'cluster1')!.tiers[0]!;
      assert.equal(tier.cluster, 'cluster1');
      const sent = [...got.values()];
      assert.deepEqual({ healthy: tier.healthy, total: tier.total }, { healthy: sent.filter((x) => x === 'HEALTHY').length, total: sent.length }, 'healthy/total as serving.ts publishes them = what the client sidecar gets');
    });
  }

  it('a DestinationRule with outlierDetection.minHealthPercent > 0 makes istiod drop them instead (Spillway never sets it)', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const m = member(NO_SELECTOR, 'cluster1', { zones: Array.from({ length: 6 }, () => ZONE_A) });
    const objects = degrade(m.input.objects);
    const local = renderedAggregates(m.rendered)[0]!.children[0]!;
    // Spillway's own rule for the local tier host: no minHealthPercent.
    const dr = m.rendered.find((o) => o.kind === 'DestinationRule' && (o.spec as { host?: string }).host === 'reviews.default.svc.cluster.local');
    assert.ok(dr, 'Spillway writes a DestinationRule for the local tier');
    const spec = dr.spec as { [k: string]: Json };
    assert.equal(at(spec, 'trafficPolicy', 'outlierDetection', 'minHealthPercent'), undefined);
    const policy = spec['trafficPolicy'] as { [k: string]: Json };
    const withMin = objects.map((d) => (d === dr ? { ...dr, spec: { ...spec, trafficPolicy: { ...policy, outlierDetection: { ...(policy['outlierDetection'] as { [k: string]: Json }), minHealthPercent: 50 } } } } : d));
    const x = (await runOracle({ ...m.input, objects: withMin })).proxy(m.client);
    assert.deepEqual([...health(x, local).values()], ['HEALTHY', 'HEALTHY', 'HEALTHY']);
  });
});
