/** The design note's two-cluster scenario, reproduced object by object (its intent, with its defects fixed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../src/index.ts';
import { addPatch, at, byKind, example, one } from './fixtures.ts';

const result = render(example('seed.yaml'));
const c1 = result.clusters.cluster1 ?? [];
const c2 = result.clusters.cluster2 ?? [];

test('the seed renders with no messages, for both clusters', () => {
  assert.deepEqual(result.messages, []);
  assert.deepEqual(Object.keys(result.clusters), ['cluster1', 'cluster2']);
});

test('cluster1: reviews-remote-cluster2 ServiceEntry points at cluster2\'s gateway', () => {
  const se = one(c1, 'ServiceEntry', 'reviews-remote-cluster2');
  assert.deepEqual(at(se, 'spec', 'hosts'), ['reviews-remote-cluster2.default.global']);
  assert.equal(at(se, 'spec', 'location'), 'MESH_INTERNAL');
  assert.deepEqual(at(se, 'spec', 'ports'), [{ name: 'http1', number: 9080, protocol: 'HTTP' }]);
  // Exactly one endpoint, no stray line under it: the gateway address and the dialled port by port name.
  assert.deepEqual(at(se, 'spec', 'endpoints'), [{ address: '192.0.2.20', ports: { http1: 32000 } }]);
  assert.equal(at(se, 'spec', 'resolution'), 'STATIC', 'an IP gateway needs no DNS resolution');
});

test('cluster1: reviews-global ServiceEntry gives the global host a class-E virtual IP', () => {
  const se = one(c1, 'ServiceEntry', 'reviews-global');
  assert.deepEqual(at(se, 'spec', 'hosts'), ['reviews-global.default.global']);
  const addrs = at(se, 'spec', 'addresses') as string[];
  assert.equal(addrs.length, 1);
  const first = Number(addrs[0]!.split('.')[0]);
  assert.ok(first >= 240 && first <= 255, `${addrs[0]} is in 240.0.0.0/4`);
  assert.notEqual(addrs[0], '240.0.0.20', 'not the hard-coded address of the note');
  assert.equal(at(se, 'spec', 'resolution'), 'STATIC');
});

test('cluster1: the EnvoyFilter REMOVEs and re-ADDs the global cluster as an aggregate, local first', () => {
  const ef = one(c1, 'EnvoyFilter', 'reviews-global.default.global');
  const patches = at(ef, 'spec', 'configPatches') as { applyTo: string; match: unknown; patch: { operation: string } }[];
  assert.deepEqual(patches.map((p) => [p.applyTo, p.patch.operation]), [['CLUSTER', 'REMOVE'], ['CLUSTER', 'ADD']]);
  for (const p of patches) assert.deepEqual(p.match, { context: 'ANY', cluster: { name: 'outbound|9080||reviews-global.default.global' } });
  const value = addPatch(ef);
  assert.equal(value.name, 'outbound|9080||reviews-global.default.global');
  assert.equal(value.lb_policy, 'CLUSTER_PROVIDED');
  assert.equal(at(value, 'cluster_type', 'typed_config', '@type'), 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig');
  assert.deepEqual(at(value, 'cluster_type', 'typed_config', 'clusters'), [
    'outbound|9080||reviews-local.default.global',
    'outbound|9080||reviews-remote-cluster2.default.global',
  ]);
});

test('cluster2 gets the receiving Gateway and VirtualService routing the global host to its local service', () => {
  const vs = one(c2, 'VirtualService', 'reviews-global.default.global-vs');
  assert.deepEqual(at(vs, 'spec', 'hosts'), ['reviews-global.default.global']);
  assert.deepEqual(at(vs, 'spec', 'http'), [{ route: [{ destination: { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } } }] }]);
  const gws = byKind(c2, 'Gateway');
  assert.equal(gws.length, 1);
  assert.deepEqual(at(gws[0], 'spec', 'servers', 0, 'hosts'), ['reviews-global.default.global']);
});

test('served local-first both ways: cluster2 has its own aggregate (itself, then cluster1) and cluster1 receives', () => {
  const value = addPatch(one(c2, 'EnvoyFilter', 'reviews-global.default.global'));
  assert.deepEqual(at(value, 'cluster_type', 'typed_config', 'clusters'), [
    'outbound|9080||reviews-local.default.global',
    'outbound|9080||reviews-remote-cluster1.default.global',
  ]);
  assert.deepEqual(at(one(c2, 'ServiceEntry', 'reviews-remote-cluster1'), 'spec', 'endpoints'), [{ address: '192.0.2.10', ports: { http1: 32000 } }]);
  assert.equal(byKind(c1, 'Gateway').length, 1);
  assert.equal(byKind(c1, 'VirtualService').length, 1);
});

test('every object names its owner FailoverService and target cluster in labels', () => {
  for (const [cluster, objs] of Object.entries(result.clusters)) {
    for (const o of objs) {
      assert.deepEqual(o.metadata.labels, {
        'app.kubernetes.io/managed-by': 'spillway',
        'spillway.dev/cluster': cluster,
        'spillway.dev/failover-service': 'reviews-remote',
        'spillway.dev/failover-service-namespace': 'default',
      });
    }
  }
});
