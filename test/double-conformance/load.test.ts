// KubeDouble.load (benchmarks fill a cluster without HTTP) stores exactly what the same requests store, and paged
// lists of a large collection serve every object once, in order (double only: load is not an API call).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeDouble } from '../double/index.ts';
import type { JsonObject } from '../double/json.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';

const cm = (i: number): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm${String(i).padStart(4, '0')}`, namespace: i % 2 ? 'default' : 'kube-system', labels: { app: 'x' } }, data: { i: String(i) } });

/** A stored object minus what differs between two servers by nature (ids, times, versions). */
function comparable(o: JsonObject): JsonObject {
  const m = { ...(o.metadata as JsonObject) };
  for (const k of ['uid', 'creationTimestamp', 'resourceVersion']) delete m[k];
  m.managedFields = (m.managedFields as JsonObject[]).map((e) => ({ ...e, time: null }));
  return { ...o, metadata: m };
}

describe('KubeDouble.load', { timeout: 60_000 }, () => {
  let loaded: KubeDouble;
  let requested: KubeDouble;
  let ca: HttpKubeClient;
  let cb: HttpKubeClient;
  before(async () => {
    loaded = await KubeDouble.start({ name: 'loaded' });
    requested = await KubeDouble.start({ name: 'requested' });
    ca = new HttpKubeClient(kubeConfigFromText(loaded.kubeconfig()), { timeoutMs: 10_000 });
    cb = new HttpKubeClient(kubeConfigFromText(requested.kubeconfig()), { timeoutMs: 10_000 });
  });
  after(async () => {
    ca?.close();
    cb?.close();
    await Promise.all([loaded?.close(), requested?.close()]);
  });

  it('creates and server-side applies as the requests do, without logging requests', async () => {
    loaded.load([cm(1), cm(2)]);
    loaded.load([cm(3)], { fieldManager: 'bench' });
    for (const i of [1, 2]) await cb.request({ method: 'POST', path: `/api/v1/namespaces/${i % 2 ? 'default' : 'kube-system'}/configmaps`, body: cm(i), query: { fieldManager: 'bench-load' } });
    await cb.request({ method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/cm0003', query: { fieldManager: 'bench', force: true }, contentType: 'application/apply-patch+yaml', body: cm(3) });
    assert.equal(loaded.requests.length, 0);
    for (const [ns, name] of [['default', 'cm0001'], ['kube-system', 'cm0002'], ['default', 'cm0003']] as const) {
      const a = loaded.peek('', 'configmaps', ns, name);
      const b = requested.peek('', 'configmaps', ns, name);
      assert.ok(a && b, name);
      assert.deepEqual(comparable(a), comparable(b));
    }
    assert.throws(() => loaded.load([cm(1)]), /already exists/);
  });

  it('pages through a large collection: every object once, sorted by namespace and name, across namespaces', async () => {
    loaded.load(Array.from({ length: 1200 }, (_, i) => cm(100 + i)));
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = (await ca.request({ method: 'GET', path: '/api/v1/configmaps', query: { labelSelector: 'app=x', limit: 500, continue: cont } })) as { items: JsonObject[]; metadata: { continue?: string } };
      pages++;
      for (const o of page.items) names.push(`${String((o.metadata as JsonObject).namespace)}/${String((o.metadata as JsonObject).name)}`);
      cont = page.metadata.continue || undefined;
    } while (cont);
    assert.equal(pages, 3);
    assert.equal(names.length, 1203);
    assert.deepEqual(names, [...names].sort());
    assert.equal(new Set(names).size, names.length);
    // A listed object is a copy: changing what a list returned (or peekAll) never changes the store.
    const before = loaded.peek('', 'configmaps', 'default', 'cm0101');
    const again = (await ca.request({ method: 'GET', path: '/api/v1/namespaces/default/configmaps' })) as { items: JsonObject[] };
    (again.items[0]!.data as JsonObject).i = 'changed';
    assert.deepEqual(loaded.peek('', 'configmaps', 'default', 'cm0101'), before);
  });
});
