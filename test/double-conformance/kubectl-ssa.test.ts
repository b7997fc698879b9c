// kubectl against the double, part 2: server-side apply, get -w, delete, the status subresource.
// (Split from kubectl.test.ts so the two kubectl-bound files run in parallel.) Skipped only when kubectl is absent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { NO_KUBECTL, REAL_START_MS, TARGETS, createWidgetCRD, hasKubectl, kubectl, kubectlMinor, kubectlWatch, ok, startHarness, waitFor, widgetJson as widget } from './helpers.ts';

for (const target of TARGETS) describe(`kubectl server-side apply and watch (${target})`, { skip: hasKubectl ? false : NO_KUBECTL, timeout: 600_000 }, () => {
  let h: Harness;
  let minor = 0;
  before(async () => {
    h = await startHarness({}, target);
    await createWidgetCRD(h.kc);
    minor = await kubectlMinor(h);
  }, { timeout: REAL_START_MS });
  after(() => h?.close());

  it('server-side apply: create, no-op, conflict, force, field removal', async () => {
    assert.match(ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('ssa', { size: 1, tags: ['a'] })), 'ssa create'), /serverside-applied/);
    const rv = () => kubectl(h, ['get', 'wd', 'ssa', '-o', 'jsonpath={.metadata.resourceVersion}']).then((r) => ok(r, 'rv'));
    const rv1 = await rv();
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('ssa', { size: 1, tags: ['a'] })), 'ssa no-op');
    assert.equal(await rv(), rv1, 'a no-op apply must not write');

    const c = await kubectl(h, ['apply', '--server-side', '--field-manager=other', '-f', '-'], widget('ssa', { size: 3 }));
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /conflict with "kubectl"/);
    assert.match(c.stderr, /\.spec\.size/);
    ok(await kubectl(h, ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], widget('ssa', { size: 3 })), 'ssa force');

    // kubectl drops tags (and size, now owned by "other") from its configuration: tags go, size stays.
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('ssa', { color: 'blue' })), 'ssa drop');
    const w = JSON.parse(ok(await kubectl(h, ['get', 'wd', 'ssa', '-o', 'json', ...(minor >= 21 ? ['--show-managed-fields'] : [])]), 'get')) as { spec: Record<string, unknown>; metadata: k8s.V1ObjectMeta };
    assert.deepEqual(w.spec, { size: 3, color: 'blue' });
    assert.deepEqual(w.metadata.managedFields?.map((m) => `${m.manager}/${m.operation}`).sort(), ['kubectl/Apply', 'other/Apply']);
  });

  it('watches with get -w and deletes with delete (which waits for the object to go)', async () => {
    const w = kubectlWatch(h, ['get', 'wd', '-l', 'app=watched', '-w', '--output-watch-events', '-o', 'jsonpath={.type} {.object.metadata.name}{"\\n"}']);
    // The double counts open watches; a real server's audit log records the watch once it ends or, with
    // Metadata level, when it starts (ResponseStarted).
    await waitFor('kubectl watch to open', () => (h.target === 'double' ? h.double.openWatches >= 1 : h.real.audit().some((e) => e.verb === 'watch' && e.objectRef?.resource === 'widgets')), 10000);
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('watched', { size: 1 }, { app: 'watched' })), 'create watched');
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('watched', { size: 2 }, { app: 'watched' })), 'modify watched');
    ok(await kubectl(h, ['delete', 'wd', 'watched', '--timeout=10s']), 'delete watched');
    await waitFor('3 watch lines', () => w.lines.length >= 3, 10000);
    await w.stop();
    assert.deepEqual(w.lines.slice(0, 3), ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
    const gone = await kubectl(h, ['get', 'wd', 'watched']);
    assert.notEqual(gone.code, 0);
  });

  it('writes status through --subresource=status without touching spec or generation', { skip: false }, async (t) => {
    if (minor < 24) {
      t.skip(`kubectl 1.${minor} has no --subresource`);
      return;
    }
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('st', { size: 1 })), 'create');
    ok(await kubectl(h, ['patch', 'wd', 'st', '--subresource=status', '--type=merge', '-p', '{"status":{"ready":true},"spec":{"size":9}}']), 'patch status');
    const w = JSON.parse(ok(await kubectl(h, ['get', 'wd', 'st', '-o', 'json']), 'get')) as { spec: { size: number }; status: { ready: boolean }; metadata: k8s.V1ObjectMeta };
    assert.equal(w.status.ready, true);
    assert.equal(w.spec.size, 1);
    assert.equal(w.metadata.generation, 1);
  });

});
