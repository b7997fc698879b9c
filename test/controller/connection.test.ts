/** ClusterConnection against a member API double: the labelled-object map it hands the planner stays in step. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeDouble } from '../double/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { LABEL_CLUSTER, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../src/api/types.ts';
import { noJitter, realClock } from '../../src/kube/clock.ts';
import { objectKey, objectPath, typeOfObject } from '../../src/kube/resources.ts';
import { ClusterConnection } from '../../src/controller/connection.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { compactLive } from '../../src/controller/slim.ts';
import { FAST_TIMING, clientFor, create, prepareMember, remove } from './harness.ts';

const se = (name: string, labelled = true, host = `${name}.global`): KubeObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  metadata: { name, namespace: 'istio-system', ...(labelled ? { labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_CLUSTER]: 'c1' } } : {}) },
  spec: { hosts: [host], resolution: 'STATIC' },
});

/** What the labelled map must equal: every object in the output informers' caches, by objectKey. */
function fromCaches(conn: ClusterConnection): Map<string, KubeObject> {
  const out = new Map<string, KubeObject>();
  for (const kind of ['ServiceEntry', 'DestinationRule', 'EnvoyFilter', 'Gateway', 'VirtualService']) for (const o of conn.informerFor(kind)?.list() ?? []) out.set(objectKey(o), o);
  return out;
}

async function until(ok: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function assertInStep(conn: ClusterConnection): void {
  const live = conn.live();
  assert.equal(live.ready, true);
  const want = fromCaches(conn);
  assert.deepEqual([...live.labelled.keys()].sort(), [...want.keys()].sort());
  for (const [k, o] of want) assert.equal(live.labelled.get(k), o, `same object for ${k}`);
}

describe('ClusterConnection.live', () => {
  it('follows watch events and our own observed writes and deletes', { timeout: 300_000 }, async () => {
    const d = await KubeDouble.start({ name: 'c1' });
    const admin = clientFor(d);
    let changes = 0;
    const conn = new ClusterConnection({ name: 'c1', client: clientFor(d), ownsClient: true, clock: realClock, jitter: noJitter, timing: FAST_TIMING, discovery: false, onChange: () => changes++, log: silentLogger });
    try {
      await prepareMember(d);
      await create(admin, se('a'));
      await create(admin, se('unlabelled', false));
      conn.start();
      await until(() => conn.live().ready && conn.live().labelled.size === 1, 'first list');
      assertInStep(conn);

      // Watch events: create, update, delete. Each change is listed as changed since the epoch before it.
      const e0 = conn.live().epoch!;
      const b = await create(admin, se('b'));
      await until(() => conn.live().labelled.has(objectKey(b)), 'b seen');
      assertInStep(conn);
      const n0 = changes;
      const b2 = (await admin.request({ method: 'PUT', path: objectPath(typeOfObject(b), 'b', 'istio-system'), body: { ...b, spec: { hosts: ['b2.global'], resolution: 'STATIC' } } })) as KubeObject;
      assert.notEqual(b2.metadata.resourceVersion, b.metadata.resourceVersion);
      await until(() => changes > n0 && conn.live().labelled.get(objectKey(b))?.metadata.resourceVersion === b2.metadata.resourceVersion, 'b updated');
      assertInStep(conn);
      await remove(admin, b);
      await until(() => !conn.live().labelled.has(objectKey(b)), 'b deleted');
      assertInStep(conn);
      const since = [...(conn.live().changedSince!(e0) ?? ['(unknown)'])];
      assert.ok(since.length >= 3 && since.every((k) => k === objectKey(b)), `changes since e0: ${since.join(', ')}`);
      assert.deepEqual([...(conn.live().changedSince!(conn.live().epoch!) ?? ['(unknown)'])], []);

      // Our own writes, recorded before their watch events arrive.
      const c = await create(admin, se('c'));
      conn.observe('ServiceEntry', c);
      // Cached compact (src/controller/slim.ts): what the planner reads of it, nothing else.
      assert.deepEqual(conn.live().labelled.get(objectKey(c)), compactLive(c, conn.name));
      assert.equal(conn.live().labelled.get(objectKey(c))?.spec, undefined);
      assert.equal(conn.live().labelled.get(objectKey(c))?.metadata.resourceVersion, c.metadata.resourceVersion);
      assertInStep(conn);
      await remove(admin, c);
      conn.observeDeleted('ServiceEntry', 'istio-system', 'c');
      assert.equal(conn.live().labelled.has(objectKey(c)), false);
      assertInStep(conn);
      // An older version observed after a newer one is ignored by the informer, and by the map.
      const a = conn.live().labelled.get(objectKey(se('a')))!;
      conn.observe('ServiceEntry', { ...a, metadata: { ...a.metadata, resourceVersion: '1' } });
      assertInStep(conn);
      await until(() => conn.live().labelled.size === 1, 'echoes settled');
      assertInStep(conn);
      const e1 = conn.live().epoch!;
      assert.ok([...(conn.live().changedSince!(e0) ?? [])].includes(objectKey(c)), 'observed writes are listed too');
      assert.equal(conn.live().changedSince!(e1 + 1), undefined, 'a future epoch is unknown');

    } finally {
      await conn.stop();
      admin.close();
      await d.close();
    }
  });
});
