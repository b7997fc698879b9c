// discovery.k8s.io/v1 EndpointSlices, a built-in kind of every real server (the controller's live tier shares
// watch them), through client-node's typed API: discovery, create/read/list by service label, watch-visible
// updates, and the validation the double reproduces (required and immutable addressType, addresses).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { REAL_START_MS, TARGETS, failure, startHarness } from './helpers.ts';

const slice = (name: string, addresses: string[][], extra: Partial<k8s.V1EndpointSlice> = {}): k8s.V1EndpointSlice => ({
  metadata: { name, labels: { 'kubernetes.io/service-name': 'reviews' } },
  addressType: 'IPv4',
  endpoints: addresses.map((a, i) => ({ addresses: a, conditions: { ready: i % 2 === 0, serving: true, terminating: false }, zone: 'zone-a', targetRef: { kind: 'Pod', namespace: 'default', name: `reviews-${i}` } })),
  ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
  ...extra,
});

for (const target of TARGETS) describe(`EndpointSlices (${target})`, { timeout: 600_000 }, () => {
  let h: Harness;
  let api: k8s.DiscoveryV1Api;
  before(async () => {
    h = await startHarness({}, target);
    api = h.kc.makeApiClient(k8s.DiscoveryV1Api);
  }, { timeout: REAL_START_MS });
  after(() => h?.close());

  it('are served by discovery.k8s.io/v1, namespaced', async () => {
    const res = await api.getAPIResources();
    const r = res.resources.find((x) => x.name === 'endpointslices');
    assert.equal(r?.kind, 'EndpointSlice');
    assert.equal(r?.namespaced, true);
    assert.ok(['create', 'get', 'list', 'watch', 'patch', 'delete'].every((v) => r?.verbs.includes(v)), r?.verbs.join(','));
  });

  it('round-trip endpoints, conditions, zone and ports; list by kubernetes.io/service-name', async () => {
    const created = await api.createNamespacedEndpointSlice({ namespace: 'default', body: slice('reviews-a', [['10.1.0.1'], ['10.1.0.2']]) });
    assert.equal(created.addressType, 'IPv4');
    const got = await api.readNamespacedEndpointSlice({ name: 'reviews-a', namespace: 'default' });
    assert.deepEqual(got.endpoints.map((e) => [e.addresses.join(','), e.conditions?.ready, e.conditions?.terminating, e.zone, e.targetRef?.name]), [['10.1.0.1', true, false, 'zone-a', 'reviews-0'], ['10.1.0.2', false, false, 'zone-a', 'reviews-1']]);
    assert.deepEqual(got.ports?.map((p) => [p.name, p.port, p.protocol]), [['http', 9080, 'TCP']]);
    await api.createNamespacedEndpointSlice({ namespace: 'default', body: { ...slice('other-a', [['10.2.0.1']]), metadata: { name: 'other-a', labels: { 'kubernetes.io/service-name': 'other' } } } });
    const listed = await api.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=reviews' });
    assert.deepEqual(listed.items.map((s) => s.metadata?.name), ['reviews-a']);
    got.endpoints[1]!.conditions = { ready: true, serving: true, terminating: false };
    const updated = await api.replaceNamespacedEndpointSlice({ name: 'reviews-a', namespace: 'default', body: got });
    assert.equal(updated.endpoints[1]!.conditions?.ready, true);
    assert.ok(Number(updated.metadata?.resourceVersion) > Number(got.metadata?.resourceVersion));
  });

  it('refuse a missing addressType, an endpoint without addresses, a bad IPv4 address, a changed addressType', async () => {
    const causes = async (p: Promise<unknown>): Promise<string[]> => {
      const s = await failure(p);
      assert.equal(s.code, 422, JSON.stringify(s));
      assert.equal(s.reason, 'Invalid');
      return (s.details?.causes ?? []).map((c) => `${c.reason} ${c.field}`);
    };
    const { addressType: _a, ...noType } = slice('bad-1', [['10.1.0.1']]);
    assert.deepEqual(await causes(api.createNamespacedEndpointSlice({ namespace: 'default', body: noType as k8s.V1EndpointSlice })), ['FieldValueRequired addressType']);
    assert.deepEqual(await causes(api.createNamespacedEndpointSlice({ namespace: 'default', body: slice('bad-2', [[]]) })), ['FieldValueRequired endpoints[0].addresses']);
    assert.deepEqual(await causes(api.createNamespacedEndpointSlice({ namespace: 'default', body: slice('bad-3', [['10.1.0.300']]) })), ['FieldValueInvalid endpoints[0].addresses[0]']);
    const live = await api.readNamespacedEndpointSlice({ name: 'reviews-a', namespace: 'default' });
    const changed = await causes(api.replaceNamespacedEndpointSlice({ name: 'reviews-a', namespace: 'default', body: { ...live, addressType: 'FQDN', endpoints: [{ addresses: ['reviews.example'] }] } }));
    assert.ok(changed.includes('FieldValueInvalid addressType'), changed.join('; '));
  });
});
