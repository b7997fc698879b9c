/**
 * `spillway check`, continuously: the controller runs the checks of src/check against its members (API doubles)
 * and reports them as `Checked` conditions on MeshClusters and FailoverServices. A correct mesh is True; a user's
 * DestinationRule that fights Spillway's turns the service and that cluster False (reason SPC160) within a
 * period, and True again once removed. Idle check runs and a restart write nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, objectPath } from '../../src/kube/resources.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { NS, applyAs, create, get, remove, startFleet } from './harness.ts';
import type { Fleet } from './harness.ts';
import { inputs, istioCrds, liveObjects } from '../check/fixtures.ts';
import { renderFinding } from '../../src/api/messages.ts';
import type { CheckFinding } from '../../src/check/conditions.ts';

interface Cond { type: string; status: string; reason: string; message: string; lastTransitionTime?: string; findings?: CheckFinding[] }
const CHECKS = { firstDelayMs: 20, periodMs: 250, minIntervalMs: 20 };

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    const v = await fn().catch((e: unknown) => {
      last = e;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const PLURAL: Record<string, string> = { Namespace: 'namespaces', ConfigMap: 'configmaps', Service: 'services', DestinationRule: 'destinationrules' };

/** Server-side apply of the built-in kinds the fixtures hold (the controller's resource table has only its own). */
async function put(c: KubeClient, o: KubeObject): Promise<void> {
  const [group, version] = o.apiVersion.includes('/') ? (o.apiVersion.split('/') as [string, string]) : ['', o.apiVersion];
  const t = { group, version, kind: o.kind, plural: PLURAL[o.kind]!, namespaced: o.kind !== 'Namespace' };
  await c.request({ method: 'PATCH', path: objectPath(t, o.metadata.name, o.metadata.namespace), query: { fieldManager: 'kubectl', force: true }, contentType: 'application/apply-patch+yaml', body: o });
}

const userRule: KubeObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { host: 'reviews', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
};

describe('controller: continuous checks as conditions', { timeout: 180_000 }, () => {
  let f: Fleet;
  let ctl: Controller;
  const checked = async (kind: 'fs' | 'mc', name: string): Promise<Cond | undefined> => {
    const o = kind === 'fs' ? await get(f.mc, FAILOVER_SERVICES, 'default', name) : await get(f.mc, MESH_CLUSTERS, undefined, name);
    return ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Checked');
  };

  before(async () => {
    f = await startFleet(2, { register: 0 });
    for (const [i, c] of f.clients.entries()) {
      const name = f.names[i]!;
      const sidecars = istioCrds().find((x) => x.metadata.name === 'sidecars.networking.istio.io')!;
      await create(c, sidecars);
      for (const o of liveObjects(name)) await put(c, o);
      await create(f.mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-kubeconfig`, namespace: NS }, type: 'Opaque', data: { kubeconfig: Buffer.from(f.members[i]!.kubeconfig()).toString('base64') } });
    }
    for (const d of inputs()) {
      const o = d.value as KubeObject;
      await create(f.mc, o.kind === 'MeshCluster' ? { ...o, spec: { ...(o['spec'] as object), kubeconfigSecret: { name: `${o.metadata.name}-kubeconfig` } } } : o);
    }
    ctl = await f.startController({ discovery: false, serving: false, checks: CHECKS });
  });
  after(async () => f?.close());

  it('a correct mesh: every MeshCluster and the FailoverService are Checked=True', async () => {
    const fs = await until('FailoverService Checked', async () => ((await checked('fs', 'reviews'))?.status === 'True' ? checked('fs', 'reviews') : undefined));
    // The double serves no Nodes: the NodePort address is unverified (a warning, not a failure).
    assert.equal(fs!.reason, 'PassedWithWarnings', fs!.message);
    assert.match(fs!.message, /^\d+ passed, \d+ warnings?, 0 failed/);
    assert.match(fs!.message, /SPC142 cluster1: nodes could not be read/);
    for (const c of ['cluster1', 'cluster2']) {
      const mc = await until(`MeshCluster ${c} Checked`, () => checked('mc', c));
      assert.equal(mc.status, 'True', mc.message);
    }
    // The controller may not read Secrets: Istio's remote secrets are left to the CLI, and say so.
    const skip = ctl.checks!.lastReport!.results.find((r) => r.code === 'SPC164');
    assert.equal(skip?.level, 'skip');
  });

  it('a user DestinationRule for the local host: the service and that cluster turn False (SPC160), then back', async () => {
    const before = (await checked('fs', 'reviews'))!;
    const t0 = Date.now();
    await applyAs(f.clients[0]!, userRule);
    const fs = await until('FailoverService Checked=False', async () => {
      const c = await checked('fs', 'reviews');
      return c?.status === 'False' ? c : undefined;
    });
    const took = Date.now() - t0;
    assert.equal(fs.reason, 'SPC160');
    assert.match(fs.message, /SPC160 cluster1: DestinationRule\/default\/reviews sets a trafficPolicy for reviews\.default\.svc\.cluster\.local \(the local tier\).*\(fix: merge its settings/);
    assert.notEqual(fs.lastTransitionTime, undefined);
    assert.ok(took < 10_000, `${took} ms`);
    // The same failure as data, through the CRD's schema (the API server keeps only what it declares).
    const finding = fs.findings?.find((x) => x.code === 'SPC160');
    assert.deepEqual(finding && { code: finding.code, level: finding.level, cluster: finding.cluster, object: finding.object, params: finding.params }, {
      code: 'SPC160', level: 'fail', cluster: 'cluster1', object: 'DestinationRule/default/reviews',
      params: { result: 'trafficPolicy', cluster: 'cluster1', rule: 'DestinationRule/default/reviews', host: 'reviews.default.svc.cluster.local', role: 'local', service: 'reviews' },
    });
    assert.ok(fs.message.includes(renderFinding('SPC160', finding!.params as never).message), 'the message lists the rendering of the finding');
    assert.equal((await checked('mc', 'cluster1'))?.findings?.[0]?.code, 'SPC160');
    assert.equal((await checked('mc', 'cluster1'))?.reason, 'SPC160');
    assert.equal((await checked('mc', 'cluster2'))?.status, 'True', 'the other cluster is not blamed');
    // The controller's own conditions are still there next to it.
    const all = ((await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))!.status as { conditions: Cond[] }).conditions.map((c) => c.type);
    assert.deepEqual(all, ['Accepted', 'Programmed', 'Degraded', 'Checked']);

    await remove(f.clients[0]!, userRule);
    const back = await until('FailoverService Checked=True again', async () => {
      const c = await checked('fs', 'reviews');
      return c?.status === 'True' ? c : undefined;
    });
    assert.equal(back.message, before.message);
  });

  it('a check run whose reads fail transiently changes no condition until further runs confirm it', async () => {
    await until('a settled status', async () => ((await checked('fs', 'reviews'))?.status === 'True' ? true : undefined));
    await ctl.idle();
    const before = (await checked('fs', 'reviews'))!;
    f.mgmt.resetLog();
    // Two runs in a row cannot list cluster1's DestinationRules (a busy API server): not believed, nothing written.
    const blip = f.members[0]!.injectFailures({ verb: 'list', resource: 'destinationrules', code: 503, count: 2 });
    await until('both failures served', async () => (blip.remaining() === 0 ? true : undefined));
    const runs = ctl.checks!.runs;
    await until('a good run after them', async () => (ctl.checks!.runs >= runs + 2 ? true : undefined));
    await ctl.idle();
    assert.equal(f.mgmt.writeCount(), 0, JSON.stringify(f.mgmt.requestCounts()));
    assert.deepEqual(await checked('fs', 'reviews'), before);

    // Failing for longer than that: it is reported (the local tier's user rules are unverified), then clears.
    const outage = f.members[0]!.injectFailures({ verb: 'list', resource: 'destinationrules', code: 503, count: 1_000 });
    const unverified = await until('the failure reported', async () => {
      const c = await checked('fs', 'reviews');
      return c && /SPC160 cluster1/.test(c.message) ? c : undefined;
    });
    assert.match(unverified.message, /SPC160 cluster1: [^;]*503[^;]*unverified/);
    outage.cancel();
    const back = await until('the condition back', async () => {
      const c = await checked('fs', 'reviews');
      return c && c.message === before.message ? c : undefined;
    });
    assert.equal(back.status, before.status);
  });

  it('idle check runs write nothing; a restarted controller keeps the conditions and writes nothing', async () => {
    await until('a settled status', async () => ((await checked('mc', 'cluster1'))?.status === 'True' ? true : undefined));
    await ctl.idle();
    f.mgmt.resetLog();
    const runs = ctl.checks!.runs;
    await until('five more check runs', async () => (ctl.checks!.runs >= runs + 5 ? true : undefined));
    await ctl.idle();
    assert.equal(f.mgmt.writeCount(), 0, JSON.stringify(f.mgmt.requestCounts()));
    assert.ok((f.members[0]!.requestCounts()['list configmaps'] ?? 0) >= 5, 'the check runs did read the members');

    await ctl.stop();
    const conds = await checked('fs', 'reviews');
    f.mgmt.resetLog();
    // The restarted controller's first lists of cluster2 fail twice (a restart onto a busy fleet): its informers retry,
    // and the statuses wait for them instead of reporting cluster2 Failed and then Synced again.
    const slowStart = f.members[1]!.injectFailures({ verb: 'list', resource: 'serviceentries', code: 503, count: 2 });
    ctl = await f.startController({ identity: 'replica-2', discovery: false, serving: false, checks: CHECKS });
    await until('checks after the restart', async () => (ctl.checks!.runs >= 3 ? true : undefined));
    await ctl.idle();
    assert.equal(slowStart.remaining(), 0, 'the first lists did fail');
    assert.equal(f.mgmt.writeCount(), 0, JSON.stringify(f.mgmt.requestCounts()));
    assert.deepEqual(await checked('fs', 'reviews'), conds);
  });
});

/**
 * A finding about a whole cluster that names the global hosts its clients call (SPC120: DNS capture off there) is in
 * every FailoverService's condition that uses the cluster, as written through the CRD: each names its own host only,
 * the MeshCluster's names them all. (Each FailoverService carrying every host of the cluster made every status grow
 * with the fleet and filled the controller's heap at 1,000 services.)
 */
describe('controller: a cluster-wide finding in each FailoverService names its own host', { timeout: 180_000 }, () => {
  let f: Fleet;
  const names = ['reviews', 'ratings', 'details'];
  before(async () => {
    f = await startFleet(2, { register: 0 });
    for (const [i, c] of f.clients.entries()) {
      const name = f.names[i]!;
      await create(c, istioCrds().find((x) => x.metadata.name === 'sidecars.networking.istio.io')!);
      // cluster2 has DNS capture off mesh-wide (and the double serves no Pods to turn it on in).
      for (const o of liveObjects(name, name === 'cluster2' ? { mesh: '{}' } : {})) await put(c, o);
      for (const n of names.slice(1)) await put(c, { apiVersion: 'v1', kind: 'Service', metadata: { name: n, namespace: 'default', labels: { app: n } }, spec: { selector: { app: n }, ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }] } });
      await create(f.mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-kubeconfig`, namespace: NS }, type: 'Opaque', data: { kubeconfig: Buffer.from(f.members[i]!.kubeconfig()).toString('base64') } });
    }
    for (const d of inputs()) {
      const o = d.value as KubeObject;
      if (o.kind === 'MeshCluster') await create(f.mc, { ...o, spec: { ...(o['spec'] as object), kubeconfigSecret: { name: `${o.metadata.name}-kubeconfig` } } });
      else if (o.kind === 'MeshWorkload') for (const n of names) await create(f.mc, { ...o, metadata: { ...o.metadata, name: o.metadata.name.replace('reviews', n) }, spec: { ...(o['spec'] as object), service: { name: n, namespace: 'default' } } });
      else for (const n of names) await create(f.mc, { ...o, metadata: { ...o.metadata, name: n }, spec: { meshWorkloads: [`${n}-cluster1`, `${n}-cluster2`] } });
    }
    await f.startController({ discovery: false, serving: false, checks: CHECKS });
  });
  after(async () => f?.close());

  it('SPC120 in cluster2: each FailoverService\'s finding and message name its own host; the MeshCluster\'s all three', { timeout: 120_000 }, async () => {
    const hostsOf = (c: Cond): string[] => c.findings?.filter((x) => x.code === 'SPC120').flatMap((x) => (x.params as { hosts: string[] }).hosts) ?? [];
    const mc = await until('MeshCluster cluster2 fails SPC120', async () => {
      const o = await get(f.mc, MESH_CLUSTERS, undefined, 'cluster2');
      const c = ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((x) => x.type === 'Checked');
      return c?.reason === 'SPC120' ? c : undefined;
    });
    const all = hostsOf(mc);
    assert.equal(all.length, names.length, `the MeshCluster's finding lists every service's host: ${all.join(', ')}`);
    for (const n of names) {
      const cond = await until(`FailoverService ${n} Checked with SPC120`, async () => {
        const o = await get(f.mc, FAILOVER_SERVICES, 'default', n);
        const c = ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((x) => x.type === 'Checked');
        return c?.reason === 'SPC120' ? c : undefined;
      });
      const own = all.filter((h) => h.startsWith(`${n}`));
      assert.equal(own.length, 1, `one host of ${n} among ${all.join(', ')}`);
      assert.deepEqual(hostsOf(cond), own, `${n}: its own host only`);
      for (const other of all.filter((h) => h !== own[0])) assert.equal(cond.message.includes(other), false, `${n}'s message does not name ${other}: ${cond.message}`);
      assert.ok(cond.message.includes(own[0]!), cond.message);
    }
  });
});
