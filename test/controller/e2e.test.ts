/**
 * End to end: a management cluster and three member clusters (API doubles), the controller in-process. Every
 * step waits until each member holds exactly `renderDetailed` of the management cluster's inputs (live objects
 * minus server-set metadata, nothing missing, nothing left over), then checks statuses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, SERVICES } from '../../src/kube/resources.ts';

const SERVICE_ENTRIES = { group: 'networking.istio.io', version: 'v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true };
import { ANNOTATION_NAME_CONFLICT, LABEL_DISCOVERED_FROM } from '../../src/controller/discovery.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { Fleet } from './harness.ts';
import { applyAs, converged, create, divergence, failoverService, get, list, meshWorkload, registerCluster, remove, service, startFleet, until } from './harness.ts';

interface FsStatus {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
  clusters?: { name: string; roles: string[]; failoverOrder: string[]; syncState: string; message?: string }[];
}

async function fsStatus(f: Fleet, name: string, ns = 'default'): Promise<FsStatus & { generation?: number }> {
  const o = await get(f.mc, FAILOVER_SERVICES, ns, name);
  return { ...((o?.status ?? {}) as FsStatus), generation: o?.metadata.generation };
}

const cond = (s: FsStatus, type: string) => s.conditions?.find((c) => c.type === type);

/** Waits until the FailoverService's status reflects its current generation and `ok` holds. */
async function statusUntil(f: Fleet, name: string, ok: (s: FsStatus) => boolean, what: string): Promise<FsStatus> {
  let last: FsStatus = {};
  await until(async () => {
    const s = await fsStatus(f, name);
    last = s;
    return s.observedGeneration === s.generation && ok(s) ? [] : [JSON.stringify(s)];
  }, what);
  return last;
}

function totalWrites(f: Fleet): number {
  return [f.mgmt, ...f.members].reduce((n, d) => n + d.writeCount(), 0);
}

describe('controller end to end (3 member clusters)', () => {
  let f: Fleet;
  let ctl: Controller;
  before(async () => {
    f = await startFleet(3);
    ctl = await f.startController();
  });
  after(async () => f.close());

  it('discovers services as <service>-<cluster> MeshWorkloads', { timeout: 300_000 }, async () => {
    for (const c of f.clients) await create(c, service('reviews'));
    await create(f.clients[0]!, service('ratings', 'default', 9080, 'http-api'));
    await create(f.clients[1]!, service('ratings', 'default', 9080, 'http-api'));
    await until(async () => {
      const names = (await list(f.mc, MESH_WORKLOADS)).map((o) => o.metadata.name).sort();
      return names.join(',') === 'ratings-cluster1,ratings-cluster2,reviews-cluster1,reviews-cluster2,reviews-cluster3' ? [] : [names.join(',')];
    }, 'discovered workloads');
    const mw = await get(f.mc, MESH_WORKLOADS, 'default', 'ratings-cluster2');
    assert.equal(mw?.metadata.labels?.[LABEL_DISCOVERED_FROM], 'cluster2');
    assert.deepEqual(mw?.spec, { cluster: 'cluster2', service: { name: 'ratings', namespace: 'default' }, ports: [{ name: 'http-api', number: 9080, protocol: 'HTTP' }], selector: { app: 'ratings' } });
  });

  it('creates a FailoverService: every cluster converges to exactly the render; status says so', { timeout: 300_000 }, async () => {
    await create(f.mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2']));
    await converged(f, 'create');
    const s = await statusUntil(f, 'reviews', (x) => cond(x, 'Programmed')?.status === 'True', 'programmed');
    assert.equal(cond(s, 'Accepted')?.status, 'True');
    assert.deepEqual(
      s.clusters?.map((c) => [c.name, c.failoverOrder.join('>'), c.syncState]),
      [
        ['cluster1', 'cluster1>cluster2', 'Synced'],
        ['cluster2', 'cluster2>cluster1', 'Synced'],
      ],
    );
    // cluster3 is not part of this service: it holds nothing.
    assert.deepEqual(await divergence(f, ['cluster3'], { allowEmpty: true }), []);
  });

  it('reorders, adds a cluster, removes one: converges each time with nothing left over', { timeout: 300_000 }, async () => {
    const steps = [
      ['reviews-cluster2', 'reviews-cluster1'],
      ['reviews-cluster2', 'reviews-cluster1', 'reviews-cluster3'],
      ['reviews-cluster3', 'reviews-cluster2'],
    ];
    for (const ws of steps) {
      await applyAs(f.mc, failoverService('reviews', ws));
      await converged(f, `meshWorkloads ${ws.join(',')}`);
      const s = await statusUntil(f, 'reviews', (x) => cond(x, 'Programmed')?.status === 'True' && x.clusters?.length === ws.length, 'status after update');
      const order = ws.map((w) => w.replace('reviews-', ''));
      assert.deepEqual(s.clusters?.find((c) => c.name === order[0])?.failoverOrder, order);
    }
  });

  it('uses hand-written MeshWorkloads alongside discovered ones, and reports invalid FailoverServices', { timeout: 300_000 }, async () => {
    await create(f.mc, meshWorkload('ratings-primary', 'cluster3', 'ratings'));
    await create(f.mc, failoverService('ratings', ['ratings-primary', 'ratings-cluster1']));
    await create(f.mc, { ...failoverService('broken', ['reviews-cluster1', 'reviews-cluster3']), spec: { meshWorkloads: ['reviews-cluster1', 'reviews-cluster3'], port: 'no-such-port' } });
    await converged(f, 'hand-written + discovered', { allow: ['SPW108 FailoverService/default/broken'] });
    const s = await statusUntil(f, 'broken', (x) => cond(x, 'Accepted')?.status === 'False', 'broken rejected');
    assert.equal(cond(s, 'Accepted')?.reason, 'SPW108');
    assert.match(cond(s, 'Accepted')?.message ?? '', /SPW108/);
    assert.equal(cond(s, 'Programmed')?.reason, 'NotAccepted');
    const hw = await get(f.mc, MESH_WORKLOADS, 'default', 'ratings-primary');
    assert.equal(hw?.metadata.labels, undefined, 'a hand-written MeshWorkload is never labelled');
  });

  it('idle resyncs write nothing', { timeout: 300_000 }, async () => {
    await ctl.idle();
    const before = totalWrites(f);
    for (let i = 0; i < 5; i++) {
      const n = ctl.reconcileCount;
      ctl.trigger();
      await until(async () => (ctl.reconcileCount > n ? [] : ['waiting']), 'a reconcile');
      await ctl.idle();
    }
    assert.equal(totalWrites(f) - before, 0);
  });

  it('a restarted controller writes nothing when everything is in place: no object, no status flapping', { timeout: 300_000 }, async () => {
    await ctl.idle();
    await ctl.stop();
    const before = totalWrites(f);
    ctl = await f.startController();
    await until(async () => {
      const r = ctl.lastReport;
      return r && !r.skipped && r.outcomes.length === 3 && r.outcomes.every((o) => o.state === 'Synced') ? [] : [JSON.stringify(r?.outcomes.map((o) => o.state))];
    }, 'restarted controller in sync');
    await ctl.idle();
    assert.equal(totalWrites(f) - before, 0);
  });

  it('repairs drift: an edited object is re-applied, a deleted one re-created, between idle resyncs', { timeout: 300_000 }, async () => {
    await ctl.idle();
    const c = f.clients[1]!;
    const ses = (await list(c, SERVICE_ENTRIES, 'app.kubernetes.io/managed-by=spillway')).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    assert.ok(ses.length >= 2, 'cluster2 holds Spillway ServiceEntries');
    const [edited, deleted] = ses as [KubeObject, KubeObject];
    // Someone else's manager takes over one of our fields; someone deletes another object.
    await applyAs(c, { apiVersion: edited.apiVersion, kind: edited.kind, metadata: { name: edited.metadata.name, namespace: edited.metadata.namespace }, spec: { ...(edited.spec as object), hosts: ['tampered.example'] } }, 'intruder');
    await remove(c, deleted);
    await converged(f, 'after drift', { allow: ['SPW108 FailoverService/default/broken'] });
    assert.deepEqual((await get(c, SERVICE_ENTRIES, edited.metadata.namespace, edited.metadata.name))?.spec, edited.spec);
    assert.ok(await get(c, SERVICE_ENTRIES, deleted.metadata.namespace, deleted.metadata.name), 're-created');
  });

  it('deletes: objects are pruned everywhere', { timeout: 300_000 }, async () => {
    await remove(f.mc, failoverService('reviews', []));
    await remove(f.mc, failoverService('broken', []));
    await converged(f, 'after delete', { allow: [] });
    await remove(f.mc, failoverService('ratings', []));
    await converged(f, 'after deleting everything', { allowEmpty: true });
    for (const c of f.clients) assert.deepEqual((await list(c, { group: 'networking.istio.io', version: 'v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true })).length, 0);
  });

  it('a deleted service removes its discovered MeshWorkload; hand-written ones stay', { timeout: 300_000 }, async () => {
    await remove(f.clients[1]!, service('ratings'));
    await until(async () => ((await get(f.mc, MESH_WORKLOADS, 'default', 'ratings-cluster2')) ? ['still there'] : []), 'discovered workload removed');
    assert.ok(await get(f.mc, MESH_WORKLOADS, 'default', 'ratings-primary'));
  });
});

describe('cluster registry and discovery collisions', () => {
  let f: Fleet;
  before(async () => {
    f = await startFleet(3, { register: 2 });
  });
  after(async () => f.close());

  it('adding, re-pointing and deleting MeshClusters (and their Secrets) needs no restart', { timeout: 300_000 }, async () => {
    const ctl = await f.startController();
    for (const c of f.clients) await create(c, service('reviews'));
    await create(f.mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3']));
    // cluster3 is not registered yet: its workload is not discovered, so the service runs on the other two and says so.
    await statusUntil(f, 'reviews', (x) => cond(x, 'Accepted')?.reason === 'AcceptedWithWarnings' && cond(x, 'Degraded')?.reason === 'SPW127', 'degraded while cluster3 is missing');
    await converged(f, 'two tiers while cluster3 is missing', { allow: ['SPW127 FailoverService/default/reviews'] });
    await registerCluster(f, 'cluster3', 3, f.members[2]!);
    await converged(f, 'cluster3 registered');
    assert.deepEqual(ctl.connectedClusters().sort(), ['cluster1', 'cluster2', 'cluster3']);
    await until(async () => {
      const mc = await get(f.mc, MESH_CLUSTERS, undefined, 'cluster3');
      const st = mc?.status as { reachable?: boolean; lastSyncTime?: string } | undefined;
      return st?.reachable === true && st.lastSyncTime ? [] : [JSON.stringify(st)];
    }, 'cluster3 status');

    // The Secret of cluster2 now points at a kubeconfig whose context does not exist: the connection restarts and fails.
    const bad = 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: nowhere\n';
    await applyAs(f.mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cluster2-kubeconfig', namespace: 'spillway-system' }, data: { kubeconfig: Buffer.from(bad).toString('base64') } });
    await until(async () => {
      const st = (await get(f.mc, MESH_CLUSTERS, undefined, 'cluster2'))?.status as { reachable?: boolean; lastError?: string } | undefined;
      return st?.reachable === false && /^SPW209: current-context names a context that is not in contexts/.test(st.lastError ?? '') ? [] : [JSON.stringify(st)];
    }, 'cluster2 reports its bad kubeconfig');
    // Back to the right kubeconfig.
    await applyAs(f.mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cluster2-kubeconfig', namespace: 'spillway-system' }, data: { kubeconfig: Buffer.from(f.members[1]!.kubeconfig()).toString('base64') } });
    await until(async () => {
      const st = (await get(f.mc, MESH_CLUSTERS, undefined, 'cluster2'))?.status as { reachable?: boolean; lastError?: string } | undefined;
      return st?.reachable === true && st.lastError === undefined ? [] : [JSON.stringify(st)];
    }, 'cluster2 reconnected');

    // Deleting cluster3's MeshCluster: every service drops that tier, and what Spillway wrote in cluster3 (still
    // reachable) is removed there before the connection stops.
    await remove(f.mc, { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'cluster3' } });
    await until(async () => (ctl.connectedClusters().includes('cluster3') ? ['still connected'] : []), 'cluster3 disconnected');
    await converged(f, 'cluster3 deregistered: its tier gone, its objects removed there', { allow: ['SPW127 FailoverService/default/reviews'] });
  });

  it('a name taken by a hand-written MeshWorkload gets a reported fallback; the hand-written one is untouched', { timeout: 300_000 }, async () => {
    const handWritten = await create(f.mc, meshWorkload('details-cluster1', 'cluster2', 'details'));
    await create(f.clients[0]!, service('details'));
    let fallback: KubeObject | undefined;
    await until(async () => {
      fallback = (await list(f.mc, MESH_WORKLOADS)).find((o) => o.metadata.name.startsWith('details-cluster1-'));
      return fallback ? [] : ['no fallback yet'];
    }, 'fallback name');
    assert.match(fallback!.metadata.name, /^details-cluster1-[0-9a-f]{8}$/);
    assert.match(fallback!.metadata.annotations?.[ANNOTATION_NAME_CONFLICT] ?? '', /details-cluster1 is taken by a hand-written MeshWorkload/);
    const after = await get(f.mc, MESH_WORKLOADS, 'default', 'details-cluster1');
    assert.equal(after?.metadata.resourceVersion, handWritten.metadata.resourceVersion);
    assert.ok((await list(f.clients[0]!, SERVICES)).some((s) => s.metadata.name === 'details'));
  });
});
