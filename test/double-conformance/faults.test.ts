// Fault hooks and request accounting, observed through client-node.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { failure, recordWatch, startHarness, waitFor, within } from './helpers.ts';

const CMS = '/api/v1/namespaces/default/configmaps';

describe('kube double: fault hooks', () => {
  let h: Harness;
  let core: k8s.CoreV1Api;
  before(async () => {
    h = await startHarness();
    core = h.kc.makeApiClient(k8s.CoreV1Api);
  });
  after(() => h.close());

  it('dropWatches resets open watch connections', async () => {
    const w = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion });
    await waitFor('watch open', () => h.double.openWatches === 1);
    assert.equal(h.double.dropWatches(), 1);
    await within(w.done, 5000, 'watch to end');
    assert.equal(h.double.openWatches, 0);
    // The server still works for new watches.
    const w2 = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-drop' } } });
    await waitFor('event', () => w2.events.length === 1);
    w2.stop();
  });

  it('stallWatches keeps connections open but silent', async () => {
    const stalled = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 1 });
    await waitFor('watch open', () => h.double.openWatches === 1);
    h.double.stallWatches();
    const live = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion });
    await waitFor('second watch open', () => h.double.openWatches === 2);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'during-stall' } } });
    h.double.sendBookmarks();
    await waitFor('live watch event', () => live.events.length === 1);
    // Events are written to every watch synchronously, so the stalled one would have it by now.
    assert.equal(stalled.events.length, 0);
    assert.equal(stalled.ended, false);
    live.stop();
    stalled.stop();
    h.double.dropWatches();
  });

  it('stallWatches({ includeNew }) silences new watches until released', async () => {
    const release = h.double.stallWatches({ includeNew: true });
    const silent = await recordWatch(h.kc, CMS, {});
    await waitFor('watch open', () => h.double.openWatches === 1);
    release();
    const live = await recordWatch(h.kc, CMS, {});
    await waitFor('initial events on the new watch', () => live.events.length > 0);
    assert.equal(silent.events.length, 0);
    silent.stop();
    live.stop();
    h.double.dropWatches();
  });

  it('injectFailures fails N matching requests without side effects', async () => {
    const f = h.double.injectFailures({ verb: 'create', resource: 'configmaps', code: 500, count: 2 });
    for (let i = 0; i < 2; i++) {
      const e = await failure(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'flaky' } } }));
      assert.equal(e.code, 500);
      assert.equal(e.reason, 'InternalError');
    }
    assert.equal(f.remaining(), 0);
    assert.equal(h.double.peek('', 'configmaps', 'default', 'flaky'), undefined);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'flaky' } } });

    // Non-matching requests are untouched; 409 on updates of one name.
    const c = h.double.injectFailures({ verb: ['update', 'patch'], name: 'flaky', code: 409 });
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'untouched' } } });
    const cm = await core.readNamespacedConfigMap({ name: 'flaky', namespace: 'default' });
    assert.equal((await failure(core.replaceNamespacedConfigMap({ name: 'flaky', namespace: 'default', body: cm }))).code, 409);
    assert.equal(c.remaining(), 0);
    await core.replaceNamespacedConfigMap({ name: 'flaky', namespace: 'default', body: cm });
  });

  it('injectFailures with 410 on watch delivers an Expired ERROR event; on list, HTTP 410', async () => {
    h.double.injectFailures({ verb: 'watch', resource: 'configmaps', code: 410 });
    const w = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion });
    await within(w.done, 5000, 'watch to end');
    assert.equal(w.events[0]?.type, 'ERROR');
    assert.equal(w.events[0]?.object.code, 410);
    h.double.injectFailures({ verb: 'list', resource: 'configmaps', code: 410, message: 'The provided continue parameter is too old' });
    const e = await failure(core.listNamespacedConfigMap({ namespace: 'default' }));
    assert.equal(e.code, 410);
    assert.equal(e.reason, 'Expired');
  });

  it('cancelled failures no longer apply', async () => {
    const f = h.double.injectFailures({ verb: 'get', resource: 'namespaces', code: 503, count: 5 });
    assert.equal((await failure(core.readNamespace({ name: 'default' }))).code, 503);
    f.cancel();
    assert.equal((await core.readNamespace({ name: 'default' })).metadata?.name, 'default');
    assert.equal(f.remaining(), 4);
  });

  it('addLatency delays only matching requests', async () => {
    const remove = h.double.addLatency(1500, { verb: 'get', resource: 'configmaps' });
    let slowDone = false;
    const slow = core.readNamespacedConfigMap({ name: 'flaky', namespace: 'default' }).then((r) => {
      slowDone = true;
      return r;
    });
    await waitFor('slow request to arrive', () => h.double.requests.some((r) => r.info?.verb === 'get' && r.info.resource === 'configmaps' && r.code === 0));
    await core.readNamespace({ name: 'default' });
    assert.equal(slowDone, false, 'the delayed request finished before an undelayed one started after it');
    assert.equal((await slow).metadata?.name, 'flaky');
    remove();
  });

  it('down refuses connections and ends watches; up restores the same port and state', async () => {
    const port = h.double.port;
    const w = await recordWatch(h.kc, CMS, { resourceVersion: h.double.resourceVersion });
    await waitFor('watch open', () => h.double.openWatches === 1);
    const rv = h.double.resourceVersion;
    await h.double.down();
    assert.equal(h.double.isUp, false);
    await within(w.done, 5000, 'watch to end');
    await assert.rejects(core.readNamespace({ name: 'default' }), (e: Error & { code?: string; cause?: { code?: string } }) => {
      const code = e.code ?? e.cause?.code ?? '';
      return /ECONNREFUSED/.test(code) || /ECONNREFUSED/.test(e.message);
    });
    await h.double.up();
    assert.equal(h.double.port, port);
    assert.equal(h.double.resourceVersion, rv);
    assert.equal((await core.readNamespacedConfigMap({ name: 'flaky', namespace: 'default' })).metadata?.name, 'flaky');
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-restart' } } });
    assert.ok(Number(created.metadata?.resourceVersion) > Number(rv));
  });

  it('counts requests so tests can assert "no writes"', async () => {
    h.double.resetLog();
    await core.listNamespacedConfigMap({ namespace: 'default' });
    await core.readNamespacedConfigMap({ name: 'flaky', namespace: 'default' });
    assert.equal(h.double.writeCount(), 0);
    await core.patchNamespacedConfigMap({ name: 'flaky', namespace: 'default', body: [{ op: 'add', path: '/data', value: { a: 'b' } }] });
    await core.deleteNamespacedConfigMap({ name: 'after-restart', namespace: 'default' });
    assert.equal(h.double.writeCount(), 2);
    assert.equal(h.double.writeCount({ verb: 'patch', resource: 'configmaps' }), 1);
    assert.equal(h.double.writeCount({ resource: 'secrets' }), 0);
    assert.deepEqual(h.double.requestCounts(), { 'list configmaps': 1, 'get configmaps': 1, 'patch configmaps': 1, 'delete configmaps': 1 });
  });
});
