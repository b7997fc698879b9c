/**
 * Data-plane proof on istiod's own clusters: the aggregate and its children as istiod builds them for a
 * client sidecar (the oracle, over the rendered objects plus the cluster's Services and pods), served to
 * gRPC's xDS client, fail over in FailoverService order and back. Only the adaptations listed in
 * istiod-clusters.ts are made, and the test pins that list.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runOracle } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, member } from '../oracle/mesh.ts';
import { servicePodIps } from '../oracle/pins.ts';
import { AdsServer, Backend, IdentityCaller, GLOBAL_HOST, LOCAL_HOST, SERVICE, TARGET, channelOptions, clusterName, failoverInputs, renderFor, snapshotFromRendered, startClientWorker } from './harness.ts';
import { snapshotFromIstiod } from './istiod-clusters.ts';

const FIRST_CALL_MS = 15_000;
const SWITCH_MS = 5_000;

describe("istiod's clusters on a real xDS client (grpc-js-xds)", () => {
  it('three clusters: local first, then each remote in order, and back as each returns', { timeout: ORACLE_TEST_TIMEOUT }, async () => {
    const names = ['cluster1', 'cluster2', 'cluster3'];
    const backends = new Map<string, Backend>();
    let ads: AdsServer | undefined;
    let caller: IdentityCaller | undefined;
    try {
      startClientWorker(); // loads grpc-js-xds while the oracle runs
      for (const n of names) backends.set(n, await Backend.start(n));
      const local = backends.get('cluster1')!;
      const docs = failoverInputs(names.map((name) => ({ name, gatewayPort: backends.get(name)!.port })));
      const m = member(docs, 'cluster1');
      const res = await runOracle(m.input);
      const x = res.proxy(m.client);
      const aggregate = clusterName(SERVICE.port, GLOBAL_HOST);
      const children = x.aggregateChildren(aggregate);
      assert.equal(children.length, 3);
      // Whatever host the local tier has, it is the local pods (checked below) and comes first.
      const localPods = servicePodIps(m, children[0] ?? '');
      assert.ok(localPods.length > 0, `no local pods behind ${children[0] ?? '(none)'}`);
      const base = snapshotFromRendered(renderFor(docs, 'cluster1'), { local: { host: LOCAL_HOST, port: SERVICE.port, endpoints: [{ address: local.address, port: local.port }] } });
      const snap = snapshotFromIstiod(x, base, { aggregate, localPodIps: localPods, localBackend: local });
      // Only the documented adaptations; the aggregate itself only gains the LB policy list gRPC needs.
      const allowed = /^(dropped (transportSocket|transportSocketMatches|filters)|added load_balancing_policy \[cluster_provided, round_robin\]|lb_policy LEAST_REQUEST served as load_balancing_policy round_robin)$/;
      for (const a of snap.adaptations) {
        const [name = '', what = ''] = a.split(': ');
        assert.ok(allowed.test(what), a);
        assert.ok(name !== aggregate || what.startsWith('added load_balancing_policy'), a);
      }
      assert.ok(snap.adaptations.some((a) => a.endsWith('dropped transportSocket')), 'istiod gave the remote tiers no TLS to drop');
      // Every remote tier dials its cluster's gateway (here: that cluster's backend) as istiod's EDS says.
      for (const [i, child] of children.entries()) {
        const eps = (x.localities(child) ?? []).flatMap((t) => t.endpoints);
        if (i === 0) assert.deepEqual(eps.map((e) => e.split(':')[0]), servicePodIps(m, child));
        else assert.deepEqual(eps, [`127.0.0.1:${backends.get(names[i]!)!.port}`], child);
      }

      ads = await AdsServer.start();
      ads.setResources(snap);
      caller = new IdentityCaller(TARGET, channelOptions(ads.bootstrap('sidecar~127.0.0.1~client.cluster1~default.svc.cluster.local')));
      await caller.waitForIdentity('cluster1', FIRST_CALL_MS);
      backends.get('cluster1')!.kill();
      await caller.waitForIdentity('cluster2', SWITCH_MS);
      backends.get('cluster2')!.kill();
      await caller.waitForIdentity('cluster3', SWITCH_MS);
      await backends.get('cluster2')!.restart();
      await caller.waitForIdentity('cluster2', SWITCH_MS);
      await backends.get('cluster1')!.restart();
      await caller.waitForIdentity('cluster1', SWITCH_MS);
      const t = await caller.tally(8);
      assert.deepEqual(Object.fromEntries(t), { cluster1: 8 });
      assert.deepEqual(ads.nacks, [], 'the xDS client NACKed a resource istiod built');
    } finally {
      await caller?.close();
      await ads?.close();
      for (const b of backends.values()) b.kill();
    }
  });
});
