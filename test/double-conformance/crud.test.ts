// CRUD, errors, metadata and selectors through @kubernetes/client-node's typed APIs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { REAL_START_MS, TARGETS, failure, startHarness } from './helpers.ts';

for (const target of TARGETS) describe(`CRUD with client-node (${target})`, { timeout: 600_000 }, () => {
  let h: Harness;
  let core: k8s.CoreV1Api;
  before(async () => {
    h = await startHarness({}, target);
    core = h.kc.makeApiClient(k8s.CoreV1Api);
  }, { timeout: REAL_START_MS });
  after(() => h?.close());

  it('serves version and discovery that client-node can read', async () => {
    const v = await h.kc.makeApiClient(k8s.VersionApi).getCode();
    assert.equal(v.major, '1');
    const groups = await h.kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    const names = groups.groups.map((g) => g.name);
    assert.ok(names.includes('coordination.k8s.io'));
    assert.ok(names.includes('apiextensions.k8s.io'));
    const core1 = await core.getAPIResources();
    const kinds = core1.resources.map((r) => r.kind);
    for (const k of ['Namespace', 'ConfigMap', 'Secret', 'Service']) assert.ok(kinds.includes(k), k);
  });

  it('creates, reads, updates and deletes a ConfigMap with server-set metadata', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c1', labels: { app: 'x' } }, data: { a: '1' } } });
    assert.equal(created.metadata?.name, 'c1');
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(created.metadata?.creationTimestamp instanceof Date);
    const rv1 = Number(created.metadata?.resourceVersion);
    assert.ok(rv1 > 0);
    assert.equal(created.metadata?.managedFields?.[0]?.operation, 'Update');

    const got = await core.readNamespacedConfigMap({ name: 'c1', namespace: 'default' });
    assert.deepEqual(got.data, { a: '1' });

    got.data = { a: '2' };
    const updated = await core.replaceNamespacedConfigMap({ name: 'c1', namespace: 'default', body: got });
    assert.ok(Number(updated.metadata?.resourceVersion) > rv1);
    assert.equal(updated.metadata?.uid, created.metadata?.uid);

    // Stale resourceVersion: 409 Conflict.
    const stale = await failure(core.replaceNamespacedConfigMap({ name: 'c1', namespace: 'default', body: got }));
    assert.equal(stale.code, 409);
    assert.equal(stale.reason, 'Conflict');
    assert.match(stale.message ?? '', /the object has been modified/);

    // An update that changes nothing keeps the resourceVersion.
    const same = await core.replaceNamespacedConfigMap({ name: 'c1', namespace: 'default', body: updated });
    assert.equal(same.metadata?.resourceVersion, updated.metadata?.resourceVersion);

    await core.deleteNamespacedConfigMap({ name: 'c1', namespace: 'default' });
    const gone = await failure(core.readNamespacedConfigMap({ name: 'c1', namespace: 'default' }));
    assert.equal(gone.code, 404);
    assert.equal(gone.reason, 'NotFound');
    assert.equal(gone.message, 'configmaps "c1" not found');
  });

  it('answers AlreadyExists, Invalid, BadRequest and namespace NotFound like the apiserver', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } });
    const dup = await failure(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } }));
    assert.equal(dup.code, 409);
    assert.equal(dup.reason, 'AlreadyExists');

    const bad = await failure(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'Bad_Name' } } }));
    assert.equal(bad.code, 422);
    assert.equal(bad.reason, 'Invalid');
    assert.equal(bad.details?.causes?.[0]?.field, 'metadata.name');

    const mismatch = await failure(core.replaceNamespacedConfigMap({ name: 'dup', namespace: 'default', body: { metadata: { name: 'other' } } }));
    assert.equal(mismatch.code, 400);
    assert.equal(mismatch.reason, 'BadRequest');

    const nons = await failure(core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'x' } } }));
    assert.equal(nons.code, 404);
    assert.equal(nons.message, 'namespaces "nope" not found');
  });

  it('keeps one monotonically increasing resourceVersion across types', async () => {
    const a = await core.createNamespace({ body: { metadata: { name: 'rv-test' } } });
    const b = await core.createNamespacedSecret({ namespace: 'rv-test', body: { metadata: { name: 's' }, stringData: { k: 'v' } } });
    const c = await h.kc.makeApiClient(k8s.CoordinationV1Api).createNamespacedLease({ namespace: 'rv-test', body: { metadata: { name: 'l' }, spec: { holderIdentity: 'me' } } });
    const rvs = [a, b, c].map((o) => Number(o.metadata?.resourceVersion));
    assert.ok(rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, rvs.join(','));
    assert.equal(a.status?.phase, 'Active');
    // stringData is folded into base64 data.
    assert.deepEqual(b.data, { k: Buffer.from('v').toString('base64') });
    assert.equal(b.type, 'Opaque');
    const list = await core.listNamespacedSecret({ namespace: 'rv-test' });
    // A list is as of the latest write: on a real server that may be one of its own (its leases renew every 10 s).
    assert.ok(Number(list.metadata?.resourceVersion) >= rvs[2]!, `list at ${list.metadata?.resourceVersion}, last create ${rvs[2]}`);
    if (h.target === 'double') assert.equal(list.metadata?.resourceVersion, String(rvs[2]));
  });

  it('defaults and allocates Service fields', async () => {
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, name: 'http' }] } },
    });
    assert.equal(svc.spec?.type, 'ClusterIP');
    assert.match(svc.spec?.clusterIP ?? '', /^10\.96\./);
    assert.equal(svc.spec?.ports?.[0]?.protocol, 'TCP');
    assert.equal(svc.spec?.ports?.[0]?.targetPort, 80);
    const noPorts = await failure(core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'np' }, spec: {} } }));
    assert.equal(noPorts.code, 422);
    assert.equal(noPorts.details?.causes?.[0]?.field, 'spec.ports');
  });

  it('filters lists with label selectors (=, !=, in, notin, exists, !key) and field selectors', async () => {
    await core.createNamespace({ body: { metadata: { name: 'sel' } } });
    const mk = (name: string, labels: Record<string, string>) => core.createNamespacedConfigMap({ namespace: 'sel', body: { metadata: { name, labels } } });
    await mk('a', { app: 'web', tier: 'front' });
    await mk('b', { app: 'web', tier: 'back' });
    await mk('c', { app: 'db' });
    await mk('d', {});
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedConfigMap({ namespace: 'sel', ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) })).items.map((i) => i.metadata?.name);
    assert.deepEqual(await names(), ['a', 'b', 'c', 'd']);
    assert.deepEqual(await names('app=web'), ['a', 'b']);
    assert.deepEqual(await names('app==web,tier!=front'), ['b']);
    assert.deepEqual(await names('app!=web'), ['c', 'd']);
    assert.deepEqual(await names('tier in (front, back)'), ['a', 'b']);
    assert.deepEqual(await names('app notin (web)'), ['c', 'd']);
    assert.deepEqual(await names('tier'), ['a', 'b']);
    assert.deepEqual(await names('!tier'), ['c', 'd']);
    assert.deepEqual(await names(undefined, 'metadata.name=c'), ['c']);
    assert.deepEqual(await names(undefined, 'metadata.name!=c'), ['a', 'b', 'd']);
    const all = await core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.namespace=sel' });
    assert.equal(all.items.length, 4);
    const badField = await failure(core.listNamespacedConfigMap({ namespace: 'sel', fieldSelector: 'data.x=1' }));
    assert.equal(badField.code, 400);
  });

  it('pages lists with limit and continue', async () => {
    const first = await core.listNamespacedConfigMap({ namespace: 'sel', limit: 3 });
    assert.equal(first.items.length, 3);
    assert.ok(first.metadata?._continue);
    assert.equal(first.metadata?.remainingItemCount, 1);
    const second = await core.listNamespacedConfigMap({ namespace: 'sel', limit: 3, _continue: first.metadata._continue });
    assert.deepEqual(second.items.map((i) => i.metadata?.name), ['d']);
    assert.equal(second.metadata?._continue, undefined);
  });

  it('pages a list over namespaces whose names prefix each other in namespace/name order, each object once', async () => {
    // team1 and team10: a page that ends in team1 must resume after it, not at team10 again.
    for (const ns of ['pg10', 'pg1', 'pg1-a']) {
      await core.createNamespace({ body: { metadata: { name: ns } } });
      for (const name of ['b', 'a']) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { paging: 'yes' } } } });
    }
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listConfigMapForAllNamespaces({ labelSelector: 'paging=yes', limit: 2, _continue: cont });
      seen.push(...page.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`));
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont && pages < 20);
    assert.deepEqual(seen, ['pg1-a/a', 'pg1-a/b', 'pg1/a', 'pg1/b', 'pg10/a', 'pg10/b']);
  });

  it('applies JSON patch and merge patch', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'p' }, data: { a: '1', b: '2' } } });
    const merged = await core.patchNamespacedConfigMap(
      { name: 'p', namespace: 'default', body: { data: { a: null, c: '3' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.data, { b: '2', c: '3' });
    const jp = await core.patchNamespacedConfigMap({
      name: 'p',
      namespace: 'default',
      body: [
        { op: 'test', path: '/data/b', value: '2' },
        { op: 'replace', path: '/data/b', value: '20' },
      ],
    });
    assert.deepEqual(jp.data, { b: '20', c: '3' });
    const failed = await failure(core.patchNamespacedConfigMap({ name: 'p', namespace: 'default', body: [{ op: 'test', path: '/data/b', value: 'nope' }] }));
    assert.equal(failed.code, 422);
  });

  it('holds objects with finalizers until the last finalizer is removed', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } } });
    await core.deleteNamespacedConfigMap({ name: 'fin', namespace: 'default' });
    const held = await core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' });
    assert.ok(held.metadata?.deletionTimestamp);
    await core.patchNamespacedConfigMap(
      { name: 'fin', namespace: 'default', body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.equal((await failure(core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' }))).code, 404);
  });

  it('deleting a namespace deletes its contents', { skip: target === 'real' ? 'needs the namespace controller of kube-controller-manager, which the test clusters do not run' : false }, async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'x' } } });
    await core.deleteNamespace({ name: 'doomed' });
    assert.equal((await failure(core.readNamespacedConfigMap({ name: 'x', namespace: 'doomed' }))).code, 404);
    assert.equal((await failure(core.readNamespace({ name: 'doomed' }))).code, 404);
  });
});
