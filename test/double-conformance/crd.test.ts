// CRD registration, schema validation, pruning, defaulting and the status subresource (client-node).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { REAL_START_MS, TARGETS, WIDGET_CRD, crdModel, createWidgetCRD, failure, startHarness, waitServed } from './helpers.ts';

type Widget = { metadata: k8s.V1ObjectMeta; spec?: Record<string, unknown>; status?: Record<string, unknown> };

for (const target of TARGETS) describe(`CustomResourceDefinitions (${target})`, { timeout: 600_000 }, () => {
  let h: Harness;
  let co: k8s.CustomObjectsApi;
  const W = { group: 'example.com', version: 'v1', plural: 'widgets', namespace: 'default' };
  before(async () => {
    h = await startHarness({}, target);
    co = h.kc.makeApiClient(k8s.CustomObjectsApi);
  }, { timeout: REAL_START_MS });
  after(() => h?.close());

  it('serves nothing for the group until the CRD is created, then discovery and CRUD', async () => {
    assert.equal((await failure(co.listNamespacedCustomObject(W))).code, 404);
    await createWidgetCRD(h.kc);
    const crd = await h.kc.makeApiClient(k8s.ApiextensionsV1Api).readCustomResourceDefinition({ name: 'widgets.example.com' });
    const established = crd.status?.conditions?.find((c) => c.type === 'Established');
    assert.equal(established?.status, 'True');
    assert.equal(crd.metadata?.generation, 1);
    const groups = await h.kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    assert.ok(groups.groups.some((g) => g.name === 'example.com' && g.preferredVersion?.version === 'v1'));
    const res = await h.kc.makeApiClient(k8s.CustomObjectsApi).getAPIResources({ group: 'example.com', version: 'v1' });
    assert.deepEqual(res.resources.map((r) => r.name).sort(), ['widgets', 'widgets/status']);
    assert.equal(res.resources.find((r) => r.name === 'widgets')?.namespaced, true);

    const w = (await co.createNamespacedCustomObject({ ...W, body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 2 } } })) as Widget;
    assert.equal(w.metadata.generation, 1);
    assert.equal(w.spec?.color, 'red', 'schema default applied');
    const list = (await co.listNamespacedCustomObject(W)) as { items: Widget[]; kind: string };
    assert.equal(list.kind, 'WidgetList');
    assert.deepEqual(list.items.map((i) => i.metadata.name), ['w1']);
  });

  it('rejects invalid objects with 422 and field causes', async () => {
    const bad = await failure(
      co.createNamespacedCustomObject({ ...W, body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0, color: 'green', tags: 'x' } } }),
    );
    assert.equal(bad.code, 422);
    assert.equal(bad.reason, 'Invalid');
    const fields = (bad.details?.causes ?? []).map((c) => `${c.field}:${c.reason}`).sort();
    assert.deepEqual(fields, ['spec.color:FieldValueNotSupported', 'spec.size:FieldValueInvalid', 'spec.tags:FieldValueTypeInvalid']);
    assert.match(bad.message ?? '', /^Widget\.example\.com "bad" is invalid: \[/);
    const missing = await failure(co.createNamespacedCustomObject({ ...W, body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'bad' }, spec: {} } }));
    assert.deepEqual(missing.details?.causes?.map((c) => [c.field, c.reason]), [['spec.size', 'FieldValueRequired']]);
  });

  it('prunes undeclared fields (and keeps x-kubernetes-preserve-unknown-fields subtrees); Strict rejects them', async () => {
    const w = (await co.createNamespacedCustomObject({
      ...W,
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'pruned' }, spec: { size: 1, bogus: true, extra: { anything: { goes: 1 } } }, top: 1 },
    })) as Widget & { top?: number };
    assert.equal(w.spec?.bogus, undefined);
    assert.equal((w as { top?: number }).top, undefined);
    assert.deepEqual(w.spec?.extra, { anything: { goes: 1 } });
    const strict = await failure(
      co.createNamespacedCustomObject({ ...W, fieldValidation: 'Strict', body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'strict' }, spec: { size: 1, bogus: 1 } } }),
    );
    assert.equal(strict.code, 400);
    assert.match(strict.message ?? '', /unknown field "spec\.bogus"/);
  });

  it('separates spec and status writes and bumps generation on spec changes only', async () => {
    const get = async () => (await co.getNamespacedCustomObject({ ...W, name: 'w1' })) as Widget;
    const w = await get();
    // Main-resource writes ignore status.
    const put = (await co.replaceNamespacedCustomObject({ ...W, name: 'w1', body: { ...w, spec: { ...w.spec, size: 3 }, status: { ready: true } } })) as Widget;
    assert.equal(put.status, undefined);
    assert.equal(put.metadata.generation, 2);
    // Status writes ignore spec and keep generation.
    const st = (await co.replaceNamespacedCustomObjectStatus({ ...W, name: 'w1', body: { ...put, spec: { size: 99 }, status: { ready: true, observedGeneration: 2 } } })) as Widget;
    assert.deepEqual(st.status, { ready: true, observedGeneration: 2 });
    assert.equal(st.spec?.size, 3);
    assert.equal(st.metadata.generation, 2);
    assert.ok(Number(st.metadata.resourceVersion) > Number(put.metadata.resourceVersion));
    // A metadata-only change does not bump generation.
    const labelled = (await co.patchNamespacedCustomObject(
      { ...W, name: 'w1', body: { metadata: { labels: { a: 'b' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as Widget;
    assert.equal(labelled.metadata.generation, 2);
    assert.deepEqual(labelled.status, { ready: true, observedGeneration: 2 });
    // Status patch through the subresource.
    const sp = (await co.patchNamespacedCustomObjectStatus(
      { ...W, name: 'w1', body: { status: { ready: false } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as Widget;
    assert.equal(sp.status?.ready, false);
    assert.equal(sp.metadata.generation, 2);
  });

  it('rejects strategic merge patch on custom resources with 415, as the apiserver does', async () => {
    const r = await failure(
      co.patchNamespacedCustomObject({ ...W, name: 'w1', body: { spec: { size: 4 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch)),
    );
    assert.equal(r.code, 415);
  });

  it('serves cluster-scoped custom resources', async () => {
    const ext = h.kc.makeApiClient(k8s.ApiextensionsV1Api);
    const crd = structuredClone(WIDGET_CRD) as typeof WIDGET_CRD & { spec: { scope: string } };
    crd.metadata.name = 'gadgets.example.com';
    crd.spec.names = { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', shortNames: [] };
    crd.spec.scope = 'Cluster';
    await ext.createCustomResourceDefinition({ body: crdModel(crd) });
    await waitServed(h.kc, 'example.com', 'v1', 'gadgets');
    const g = (await co.createClusterCustomObject({ group: 'example.com', version: 'v1', plural: 'gadgets', body: { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 1 } } })) as Widget;
    assert.equal(g.metadata.namespace, undefined);
    const list = (await co.listClusterCustomObject({ group: 'example.com', version: 'v1', plural: 'gadgets' })) as { items: Widget[] };
    assert.equal(list.items.length, 1);
  });

  it('validates CRDs themselves', async () => {
    const ext = h.kc.makeApiClient(k8s.ApiextensionsV1Api);
    const crd = structuredClone(WIDGET_CRD);
    crd.metadata.name = 'wrong.example.com';
    const r = await failure(ext.createCustomResourceDefinition({ body: crdModel(crd) }));
    assert.equal(r.code, 422);
    assert.ok(r.details?.causes?.some((c) => c.field === 'metadata.name'));
  });

  it('deleting the CRD removes its objects and its API', async () => {
    const ext = h.kc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.deleteCustomResourceDefinition({ name: 'gadgets.example.com' });
    // A real server deletes the objects first (the CRD's cleanup finalizer), then stops serving.
    await waitServed(h.kc, 'example.com', 'v1', 'gadgets', true);
    assert.equal((await failure(co.listClusterCustomObject({ group: 'example.com', version: 'v1', plural: 'gadgets' }))).code, 404);
    if (h.target === 'double') assert.equal(h.double.peek('example.com', 'gadgets', '', 'g1'), undefined);
    // The other CRD of the group is still served.
    assert.ok(((await co.listNamespacedCustomObject(W)) as { items: unknown[] }).items.length > 0);
  });
});
