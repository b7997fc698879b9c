// Watch through client-node's Watch: events, resumption, 410 Expired, bookmarks, timeouts, selectors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { REAL_START_MS, TARGETS, recordWatch, startHarness, waitFor, within } from './helpers.ts';

const CMS = '/api/v1/namespaces/default/configmaps';

for (const target of TARGETS) describe(`watch (${target})`, { timeout: 600_000 }, () => {
  let h: Harness;
  let core: k8s.CoreV1Api;
  const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  /** Tests that drive the double's history or bookmarks by hand; a real server cannot be made to. */
  const doubleOnly = { skip: target === 'real' ? 'drives the double\'s watch history or bookmarks by hand' : false };
  /** The current resourceVersion, as a list reports it. */
  const rv = async (): Promise<string> => (await core.listNamespacedConfigMap({ namespace: 'default', limit: 1 })).metadata?.resourceVersion ?? '';
  before(async () => {
    h = await startHarness({ bookmarkIntervalMs: 3_600_000 }, target);
    core = h.kc.makeApiClient(k8s.CoreV1Api);
  }, { timeout: REAL_START_MS });
  after(() => h?.close());

  it('streams ADDED, MODIFIED and DELETED with increasing resourceVersions', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const w = await recordWatch(h.kc, CMS, { resourceVersion: list.metadata?.resourceVersion ?? '' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' }, data: { k: '1' } } });
    await core.patchNamespacedConfigMap({ name: 'a', namespace: 'default', body: { data: { k: '2' } } }, merge);
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
    await waitFor('3 events', () => w.events.length >= 3);
    w.stop();
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    const rvs = w.events.map((e) => Number(e.object.metadata?.resourceVersion));
    assert.ok(rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, rvs.join(','));
    assert.equal(w.events[0]?.object.kind, 'ConfigMap');
  });

  it('without a resourceVersion, starts with ADDED for every existing object', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x1' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x2' } } });
    const w = await recordWatch(h.kc, CMS, {});
    await waitFor('2 events', () => w.events.length >= 2);
    w.stop();
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED x1', 'ADDED x2']);
  });

  it('resumes from a resourceVersion by replaying only later events', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'r1' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'r2' } } });
    await core.deleteNamespacedConfigMap({ name: 'r1', namespace: 'default' });
    const w = await recordWatch(h.kc, CMS, { resourceVersion: a.metadata?.resourceVersion ?? '' });
    await waitFor('2 events', () => w.events.length >= 2);
    w.stop();
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED r2', 'DELETED r1']);
  });

  it('answers a too-old resourceVersion with an Expired (410) ERROR event and closes', doubleOnly, async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'old' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'newer' } } });
    h.double.compactHistory();
    const w = await recordWatch(h.kc, CMS, { resourceVersion: a.metadata?.resourceVersion ?? '' });
    const err = await within(w.done, 5000, 'watch end');
    assert.equal(err, null);
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0]?.type, 'ERROR');
    assert.equal(w.events[0]?.object.code, 410);
    assert.equal(w.events[0]?.object.reason, 'Expired');
    // The current resourceVersion is still fine.
    const w2 = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'new' } } });
    await waitFor('event', () => w2.events.length >= 1);
    w2.stop();
    assert.equal(w2.events[0]?.type, 'ADDED');
  });

  it('expires resourceVersions older than the retained history', doubleOnly, async () => {
    const small = await startHarness({ historyLimit: 3 });
    try {
      const api = small.kc.makeApiClient(k8s.CoreV1Api);
      const first = await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'h0' } } });
      // Four more events push h0's own event out of a 3-event history.
      for (let i = 1; i <= 4; i++) await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `h${i}` } } });
      const w = await recordWatch(small.kc, CMS, { resourceVersion: first.metadata?.resourceVersion ?? '' });
      await within(w.done, 5000, 'watch end');
      assert.equal(w.events[0]?.object.code, 410);
      // One newer than the oldest retained still resumes.
      const second = Number(first.metadata?.resourceVersion) + 1;
      const ok = await recordWatch(small.kc, CMS, { resourceVersion: String(second) });
      await waitFor('replay', () => ok.events.length >= 3);
      ok.stop();
      assert.deepEqual(ok.events.map((e) => e.object.metadata?.name), ['h2', 'h3', 'h4']);
    } finally {
      await small.close();
    }
  });

  it('sends BOOKMARK events only to watches that allow them', doubleOnly, async () => {
    const withB = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion, allowWatchBookmarks: true });
    const without = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion });
    await waitFor('both watches open', () => h.double.openWatches >= 2);
    h.double.sendBookmarks();
    await waitFor('bookmark', () => withB.events.length >= 1);
    assert.equal(withB.events[0]?.type, 'BOOKMARK');
    assert.equal(withB.events[0]?.object.metadata?.resourceVersion, h.double.resourceVersion);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-bookmark' } } });
    await waitFor('fence', () => without.events.length >= 1);
    withB.stop();
    without.stop();
    assert.deepEqual(without.events.map((e) => e.type), ['ADDED']);
  });

  it('sends periodic bookmarks and the initial-events-end bookmark', doubleOnly, async () => {
    const fast = await startHarness({ bookmarkIntervalMs: 20 });
    try {
      const w = await recordWatch(fast.kc, CMS, { allowWatchBookmarks: true, sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' });
      await waitFor('two bookmarks', () => w.events.filter((e) => e.type === 'BOOKMARK').length >= 2);
      w.stop();
      const first = w.events[0]!;
      assert.equal(first.type, 'BOOKMARK');
      assert.equal(first.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
    } finally {
      await fast.close();
    }
  });

  it('closes the watch after timeoutSeconds', async () => {
    const w = await recordWatch(h.kc, CMS, { resourceVersion: await rv(), timeoutSeconds: 1 });
    const err = await within(w.done, 5000, 'watch end');
    assert.equal(err, null);
  });

  it('turns selector transitions into ADDED / DELETED', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'sel', labels: { app: 'x' } } } });
    const w = await recordWatch(h.kc, CMS, { resourceVersion: await rv(), labelSelector: 'app=x' });
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: 'default', body: { metadata: { labels: { app: 'y' } } } }, merge);
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: 'default', body: { metadata: { labels: { app: 'x' } } } }, merge);
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: 'default', body: { data: { k: 'v' } } }, merge);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'other', labels: { app: 'z' } } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'fence', labels: { app: 'x' } } } });
    await waitFor('4 events', () => w.events.length >= 4);
    w.stop();
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata?.name}`), ['DELETED sel', 'ADDED sel', 'MODIFIED sel', 'ADDED fence']);
  });

  it('watches one object by field selector', async () => {
    const w = await recordWatch(h.kc, CMS, { resourceVersion: await rv(), fieldSelector: 'metadata.name=only' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'not-this' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'only' } } });
    await waitFor('event', () => w.events.length >= 1);
    w.stop();
    assert.deepEqual(w.events.map((e) => e.object.metadata?.name), ['only']);
  });
});

describe('kube double: client-node informer', () => {
  let h: Harness;
  let core: k8s.CoreV1Api;
  before(async () => {
    h = await startHarness({ bookmarkIntervalMs: 3_600_000 });
    core = h.kc.makeApiClient(k8s.CoreV1Api);
  });
  after(() => h.close());

  it('lists, watches, re-watches after a clean close, relists after 410, and stops on a reset', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'pre' } } });
    const informer = k8s.makeInformer(h.kc, CMS, () => core.listNamespacedConfigMap({ namespace: 'default' }));
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    await waitFor('initial add', () => seen.includes('add pre'));
    await waitFor('watch open', () => h.double.openWatches === 1);

    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'live' } } });
    await core.patchNamespacedConfigMap({ name: 'live', namespace: 'default', body: { data: { a: '1' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await waitFor('update', () => seen.includes('update live'));

    // A clean close: the informer watches again from its resourceVersion, without relisting.
    h.double.resetLog();
    h.double.closeWatches();
    await waitFor('re-watch', () => h.double.openWatches === 1 && h.double.requests.some((r) => r.info?.verb === 'watch'));
    assert.equal(h.double.requestCounts()['list configmaps'] ?? 0, 0);
    await core.deleteNamespacedConfigMap({ name: 'pre', namespace: 'default' });
    await waitFor('delete', () => seen.includes('delete pre'));

    // 410 on the next watch: the informer relists and watches again.
    h.double.resetLog();
    h.double.injectFailures({ verb: 'watch', resource: 'configmaps', code: 410 });
    h.double.closeWatches();
    await waitFor('relist and re-watch', () => (h.double.requestCounts()['list configmaps'] ?? 0) === 1 && h.double.openWatches === 1);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-410' } } });
    await waitFor('add after relist', () => seen.includes('add after-410'));

    // A connection reset reaches the error handler; client-node 1.4 does not restart by itself.
    h.double.dropWatches();
    await waitFor('error callback', () => errors.length === 1);
    assert.equal(h.double.openWatches, 0);
    await informer.stop();
  });
});
