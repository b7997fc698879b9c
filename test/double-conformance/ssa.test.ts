// Server-side apply through client-node's KubernetesObjectApi (PATCH application/apply-patch+yaml).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { REAL_START_MS, TARGETS, createWidgetCRD, failure, recordWatch, startHarness, waitFor } from './helpers.ts';

type Obj = k8s.KubernetesObject & { spec?: Record<string, unknown>; data?: Record<string, string>; status?: Record<string, unknown> };

for (const target of TARGETS) describe(`server-side apply (${target})`, { timeout: 600_000 }, () => {
  let h: Harness;
  let api: k8s.KubernetesObjectApi;
  const apply = (o: Obj, manager: string, force = false) =>
    api.patch<Obj>(o, undefined, undefined, manager, force, k8s.PatchStrategy.ServerSideApply);
  const widget = (spec: Record<string, unknown>, name = 'w'): Obj => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, namespace: 'default' }, spec });
  const read = (name = 'w') => api.read<Obj>({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, namespace: 'default' } });

  before(async () => {
    h = await startHarness({}, target);
    api = k8s.KubernetesObjectApi.makeApiClient(h.kc);
    await createWidgetCRD(h.kc);
  }, { timeout: REAL_START_MS });
  after(() => h?.close());

  it('creates on apply and records the manager in managedFields (FieldsV1)', async () => {
    const w = await apply(widget({ size: 1, ports: [{ name: 'http', port: 80 }] }), 'alice');
    assert.equal(w.metadata?.generation, 1);
    const mf = w.metadata?.managedFields ?? [];
    assert.equal(mf.length, 1);
    assert.equal(mf[0]?.manager, 'alice');
    assert.equal(mf[0]?.operation, 'Apply');
    assert.equal(mf[0]?.fieldsType, 'FieldsV1');
    assert.deepEqual(mf[0]?.fieldsV1, {
      'f:spec': { 'f:ports': { 'k:{"name":"http"}': { '.': {}, 'f:name': {}, 'f:port': {} } }, 'f:size': {} },
    });
  });

  it('an apply that changes nothing leaves resourceVersion alone and emits no watch event', async () => {
    const before = await read();
    const watch = await recordWatch(h.kc, '/apis/example.com/v1/namespaces/default/widgets', { resourceVersion: before.metadata?.resourceVersion ?? '' });
    const again = await apply(widget({ size: 1, ports: [{ name: 'http', port: 80 }] }), 'alice');
    assert.equal(again.metadata?.resourceVersion, before.metadata?.resourceVersion);
    // A later real change is the fence: its event must be the first one seen.
    await apply(widget({ size: 1, ports: [{ name: 'http', port: 80 }] }, 'fence'), 'alice');
    await waitFor('fence event', () => watch.events.length >= 1);
    watch.stop();
    assert.deepEqual(watch.events.map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED fence']);
  });

  it('an apply that sends an empty labels or annotations map is never a no-op: the empty map is not stored', async () => {
    for (const key of ['labels', 'annotations']) {
      const o: Obj = { ...widget({ size: 1 }, `empty-${key}`), metadata: { name: `empty-${key}`, namespace: 'default', [key]: {} } };
      const first = await apply(o, 'alice');
      assert.equal((first.metadata as Record<string, unknown>)[key], undefined, `${key}: {} is not stored`);
      // managedFields times have second precision: a second later the manager's entry gets a new time, and a write.
      await new Promise((r) => setTimeout(r, 1_100));
      const again = await apply(o, 'alice');
      assert.notEqual(again.metadata?.resourceVersion, first.metadata?.resourceVersion, `${key}: the second apply wrote`);
      assert.deepEqual(again.metadata?.managedFields?.map((m) => m.fieldsV1), [{ 'f:metadata': { [`f:${key}`]: {} }, 'f:spec': { 'f:size': {} } }]);
    }
  });

  it('refuses a configuration with an undeclared field (500, the first field, any fieldValidation); nothing is pruned', async () => {
    const co = h.kc.makeApiClient(k8s.CustomObjectsApi);
    for (const fieldValidation of [undefined, 'Ignore', 'Warn', 'Strict']) {
      const c = await failure(co.patchNamespacedCustomObject(
        { group: 'example.com', version: 'v1', namespace: 'default', plural: 'widgets', name: 'undeclared', body: widget({ size: 1, ports: [{ name: 'a', port: 1, bogus: 2 }] }, 'undeclared'), fieldManager: 'x', ...(fieldValidation ? { fieldValidation } : {}) },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
      ));
      assert.equal(c.code, 500, String(fieldValidation));
      assert.equal(c.reason, undefined);
      assert.equal(c.message, 'failed to create typed patch object (default/undeclared; example.com/v1, Kind=Widget): .spec.ports[name="a"].bogus: field not declared in schema');
    }
  });

  it('merges Service ports by port and protocol, a missing protocol counting as TCP', async () => {
    const svc = (ports: unknown[]): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ports', namespace: 'default' }, spec: { selector: { app: 'p' }, ports } as Record<string, unknown> });
    await apply(svc([{ name: 'http', port: 80, targetPort: 8080 }]), 'a');
    const two = await apply(svc([{ name: 'https', port: 443 }]), 'b');
    const ports = (s: Obj) => (s.spec?.ports as { name: string; port: number; protocol: string; targetPort: number }[]).map((p) => `${p.name} ${p.port}/${p.protocol}->${p.targetPort}`);
    assert.deepEqual(ports(two), ['http 80/TCP->8080', 'https 443/TCP->443']);
    const mine = two.metadata?.managedFields?.find((m) => m.manager === 'b');
    assert.deepEqual(mine?.fieldsV1, { 'f:spec': { 'f:ports': { 'k:{"port":443,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {} } }, 'f:selector': {} } });
    // The same configuration again, protocol still left out: the same item, nothing written.
    const again = await apply(svc([{ name: 'http', port: 80, targetPort: 8080 }]), 'a');
    assert.equal(again.metadata?.resourceVersion, two.metadata?.resourceVersion);
    const udp = await apply(svc([{ name: 'dns', port: 53, protocol: 'UDP' }]), 'c');
    assert.deepEqual(ports(udp), ['http 80/TCP->8080', 'https 443/TCP->443', 'dns 53/UDP->53']);
  });

  it('conflicts when another manager owns a changed field, unless forced', async () => {
    const c = await failure(apply(widget({ size: 2 }), 'bob'));
    assert.equal(c.code, 409);
    assert.equal(c.reason, 'Conflict');
    assert.deepEqual(c.details?.causes?.map((x) => [x.reason, x.field]), [['FieldManagerConflict', '.spec.size']]);
    assert.match(c.message ?? '', /conflict with "alice"/);
    // Same value: shared ownership, no conflict.
    const shared = await apply(widget({ size: 1 }), 'bob');
    // Entry order is not part of the API (a real server puts the latest applier first): compare as a set.
    assert.deepEqual(shared.metadata?.managedFields?.map((m) => m.manager).sort(), ['alice', 'bob']);
    // Force takes the field over.
    const forced = await apply(widget({ size: 5 }), 'bob', true);
    assert.equal(forced.spec?.size, 5);
    assert.equal(forced.metadata?.generation, 2);
    const alice = forced.metadata?.managedFields?.find((m) => m.manager === 'alice');
    assert.deepEqual(alice?.fieldsV1, { 'f:spec': { 'f:ports': { 'k:{"name":"http"}': { '.': {}, 'f:name': {}, 'f:port': {} } } } });
  });

  it('removes fields the manager stopped applying, unless another manager still owns them', async () => {
    await apply(widget({ size: 1, tags: ['a'], extra: { x: 1 } }, 'rm'), 'carol');
    await apply(widget({ size: 1, tags: ['a'] }, 'rm'), 'dave');
    const dropped = await apply(widget({ size: 1 }, 'rm'), 'carol');
    assert.deepEqual(dropped.spec?.tags, ['a'], 'dave still owns tags');
    assert.equal(dropped.spec?.extra, undefined, 'extra was carol\'s alone');
    const dropped2 = await apply(widget({ size: 1 }, 'rm'), 'dave');
    assert.equal(dropped2.spec?.tags, undefined);
  });

  it('merges map-lists by key across managers', async () => {
    await apply(widget({ size: 1, ports: [{ name: 'a', port: 1 }] }, 'ml'), 'm1');
    const both = await apply(widget({ size: 1, ports: [{ name: 'b', port: 2 }] }, 'ml'), 'm2');
    assert.deepEqual(both.spec?.ports, [{ name: 'a', port: 1 }, { name: 'b', port: 2 }]);
    const oneLeft = await apply(widget({ size: 1 }, 'ml'), 'm2');
    assert.deepEqual(oneLeft.spec?.ports, [{ name: 'a', port: 1 }]);
  });

  it('tracks updaters too: a merge patch takes ownership, so a later apply conflicts with it', async () => {
    await apply(widget({ size: 1, color: 'red' }, 'up'), 'erin');
    await api.patch<Obj>(widget({ color: 'blue' }, 'up'), undefined, undefined, 'patcher', undefined, k8s.PatchStrategy.MergePatch);
    const c = await failure(apply(widget({ size: 1, color: 'red' }, 'up'), 'erin'));
    assert.equal(c.code, 409);
    assert.match(c.message ?? '', /conflict with "patcher"/);
  });

  it('applies status through the status subresource only', async () => {
    // KubernetesObjectApi has no subresource paths, so this goes through CustomObjectsApi.
    const co = h.kc.makeApiClient(k8s.CustomObjectsApi);
    const r = (await co.patchNamespacedCustomObjectStatus(
      { group: 'example.com', version: 'v1', namespace: 'default', plural: 'widgets', name: 'w', body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, status: { ready: true }, spec: { size: 42 } }, fieldManager: 'status-writer' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    )) as Obj;
    assert.deepEqual(r.status, { ready: true });
    assert.notEqual(r.spec?.size, 42);
    const mf = r.metadata?.managedFields?.find((m) => m.manager === 'status-writer');
    assert.equal(mf?.subresource, 'status');
    // Applying the main resource does not touch status.
    const main = await apply({ ...widget({ size: 5 }), status: { ready: false } }, 'bob');
    assert.deepEqual(main.status, { ready: true });
  });

  it('requires a fieldManager and validates the result', async () => {
    const noManager = await failure(api.patch<Obj>(widget({ size: 1 }, 'nm'), undefined, undefined, undefined, undefined, k8s.PatchStrategy.ServerSideApply));
    assert.equal(noManager.code, 422);
    const invalid = await failure(apply(widget({ size: 0 }, 'inv'), 'x'));
    assert.equal(invalid.code, 422);
    assert.equal(invalid.details?.causes?.[0]?.field, 'spec.size');
  });

  it('works on built-in kinds (ConfigMap data keys are owned one by one)', async () => {
    const cm = (data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' }, data });
    await apply(cm({ a: '1' }), 'one');
    const two = await apply(cm({ b: '2' }), 'two');
    assert.deepEqual(two.data, { a: '1', b: '2' });
    const c = await failure(apply(cm({ a: 'x' }), 'two'));
    assert.equal(c.code, 409);
  });
});
