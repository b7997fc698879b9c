/**
 * What a real mesh does to the rendered objects, beyond what a schema can see (read from istiod and Envoy
 * source): each test fails on the output Spillway rendered before the fix it pins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../src/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { addPatch, at, byKind, failoverService, meshCluster, meshWorkload, one, scenario } from './fixtures.ts';
import { candidateAddress, inIstioAutoAllocationRange } from '../../src/model/address.ts';

const names = (objs: readonly KubeObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();

test('stable names: a cluster joining or leaving renames nothing that stays', () => {
  const two = render(scenario(2));
  const three = render(scenario(3));
  assert.deepEqual(two.messages, []);
  for (const c of ['c1', 'c2']) {
    const before = names(two.clusters[c] ?? []);
    const after = new Set(names(three.clusters[c] ?? []));
    for (const n of before) assert.ok(after.has(n), `${c}: ${n} exists with two clusters but not with three`);
  }
  // One scheme whatever the count: `<service>-remote-<cluster>`.
  assert.deepEqual(at(one(two.clusters.c1 ?? [], 'ServiceEntry', 'reviews-remote-c2'), 'spec', 'hosts'), ['reviews-remote-c2.default.global']);
});

test('the aggregate lifts Envoy\'s default max_retries (3), as Istio does on its own clusters', () => {
  const value = addPatch(one(render(scenario(3)).clusters.c1 ?? [], 'EnvoyFilter', 'reviews-global.default.global'));
  const thresholds = at(value, 'circuit_breakers', 'thresholds') as Record<string, unknown>[];
  assert.equal(thresholds.length, 1);
  assert.equal(thresholds[0]?.priority, undefined, 'the DEFAULT priority, the one requests use');
  assert.equal(thresholds[0]?.max_retries, 4294967295);
});

test('spec.connectTimeout reaches every child as DestinationRule connectionPool.tcp.connectTimeout', () => {
  const r = render(scenario(3, { fsSpec: { connectTimeout: '250ms' } }));
  const c1 = r.clusters.c1 ?? [];
  const drs = byKind(c1, 'DestinationRule');
  const children = at(addPatch(byKind(c1, 'EnvoyFilter')[0]!), 'cluster_type', 'typed_config', 'clusters') as string[];
  const ruled = new Set(drs.map((d) => at(d, 'spec', 'host')));
  for (const child of children) assert.ok(ruled.has(child.split('|')[3]), `${child} has a DestinationRule`);
  for (const dr of drs) assert.equal(at(dr, 'spec', 'trafficPolicy', 'connectionPool', 'tcp', 'connectTimeout'), '0.25s', dr.metadata.name);
  // Durations are written in the only form Istio parses (proto3 JSON), whatever Go form the input used.
  const od = render(scenario(2, { fsSpec: { outlierDetection: { interval: '1m', baseEjectionTime: '1m30s' } } }));
  for (const dr of byKind(od.clusters.c1 ?? [], 'DestinationRule')) {
    assert.equal(at(dr, 'spec', 'trafficPolicy', 'outlierDetection', 'interval'), '60s');
    assert.equal(at(dr, 'spec', 'trafficPolicy', 'outlierDetection', 'baseEjectionTime'), '90s');
  }
});

test('exportTo is explicit on every emitted object that has it, so a mesh default of ["."] hides nothing', () => {
  const r = render(scenario(3));
  let seen = 0;
  for (const objs of Object.values(r.clusters)) {
    for (const o of objs) {
      if (o.kind === 'EnvoyFilter' || o.kind === 'Gateway') continue; // neither kind has exportTo
      assert.deepEqual(at(o, 'spec', 'exportTo'), ['*'], `${o.kind}/${o.metadata.name}`);
      seen++;
    }
  }
  assert.ok(seen >= 12, `checked ${seen} objects`);
});

test('remote tiers count gateway errors (502/503/504); the local tier only what the user set', () => {
  const r = render(scenario(3));
  const c1 = r.clusters.c1 ?? [];
  for (const name of ['reviews-remote-c2', 'reviews-remote-c3']) {
    assert.equal(at(one(c1, 'DestinationRule', name), 'spec', 'trafficPolicy', 'outlierDetection', 'consecutiveGatewayErrors'), 5, name);
  }
  const local = byKind(c1, 'DestinationRule').find((d) => !d.metadata.name.includes('-remote-'))!;
  assert.equal(at(local, 'spec', 'trafficPolicy', 'outlierDetection', 'consecutiveGatewayErrors'), undefined);
  const tuned = render(scenario(2, { fsSpec: { outlierDetection: { consecutiveGatewayErrors: 2 } } }));
  for (const dr of byKind(tuned.clusters.c1 ?? [], 'DestinationRule')) assert.equal(at(dr, 'spec', 'trafficPolicy', 'outlierDetection', 'consecutiveGatewayErrors'), 2);
});

test('derived virtual IPs avoid Istio\'s auto-allocation range 240.240.0.0/16; other hosts keep theirs', () => {
  // Find hosts whose first hash lands in 240.240.0.0/16 (about 1 in 4096).
  const hits: string[] = [];
  for (let i = 0; hits.length < 3 && i < 200_000; i++) {
    const host = `svc${i}-global.default.global`;
    // The raw first candidate, computed as before the fix: FNV-1a into 240.0.0.1 .. 255.255.255.254.
    let h = 0x811c9dc5;
    for (let k = 0; k < host.length; k++) h = Math.imul(h ^ host.charCodeAt(k), 0x01000193) >>> 0;
    const raw = 240 * 2 ** 24 + 1 + (h % (2 ** 28 - 2));
    const ip = [raw >>> 24, (raw >>> 16) & 255, (raw >>> 8) & 255, raw & 255].join('.');
    if (inIstioAutoAllocationRange(ip)) hits.push(host);
    else if (i < 50) assert.equal(candidateAddress(host, 0), ip, `${host} keeps its address`);
  }
  assert.equal(hits.length, 3, 'the search found hosts hashing into the range');
  for (const host of hits) {
    const a = candidateAddress(host, 0);
    assert.ok(!inIstioAutoAllocationRange(a), `${host} -> ${a}`);
    for (let k = 1; k < 5; k++) assert.ok(!inIstioAutoAllocationRange(candidateAddress(host, k)));
  }
  assert.ok(inIstioAutoAllocationRange('240.240.3.7'));
  assert.ok(!inIstioAutoAllocationRange('240.241.0.1'));
  assert.ok(!inIstioAutoAllocationRange('240.239.255.255'));
  // A pinned address there is honoured but flagged.
  const pinned = render(scenario(2, { fsSpec: { address: '240.240.0.9' } }));
  assert.deepEqual(pinned.messages.map((m) => m.code), ['SPW131']);
  assert.deepEqual(at(one(pinned.clusters.c1 ?? [], 'ServiceEntry', 'reviews-global'), 'spec', 'addresses'), ['240.240.0.9']);
});

test('the local tier is a host of its own selecting the Service\'s pods; nothing is written for the Service host', () => {
  const r = render(scenario(3));
  assert.deepEqual(r.messages, []);
  const c1 = r.clusters.c1 ?? [];
  const se = one(c1, 'ServiceEntry', 'reviews-local');
  assert.deepEqual(se.spec, {
    hosts: ['reviews-local.default.global'],
    location: 'MESH_INTERNAL',
    ports: [{ name: 'http', number: 9080, protocol: 'HTTP' }],
    resolution: 'STATIC',
    workloadSelector: { labels: { app: 'reviews' } },
    exportTo: ['*'],
  });
  assert.equal(se.metadata.namespace, 'default', 'in the pods\' namespace: istiod selects workloads in the ServiceEntry\'s own namespace');
  const children = at(addPatch(one(c1, 'EnvoyFilter', 'reviews-global.default.global')), 'cluster_type', 'typed_config', 'clusters') as string[];
  assert.deepEqual(children, ['outbound|9080||reviews-local.default.global', 'outbound|9080||reviews-remote-c2.default.global', 'outbound|9080||reviews-remote-c3.default.global'], 'local first, remotes in order');
  // A user's DestinationRule for reviews.default.svc.cluster.local meets no rule of ours (Istio applies one per host),
  // and other callers of the Service (the receiving gateway included) are never ejected by failover settings.
  for (const objs of Object.values(r.clusters)) {
    for (const o of objs) assert.notEqual(at(o, 'spec', 'host'), 'reviews.default.svc.cluster.local', `${o.kind}/${o.metadata.name}`);
  }
  // The receiving side still routes to the Service host, under whatever policy the user gives it.
  assert.equal(at(one(c1, 'VirtualService', 'reviews-global.default.global-vs'), 'spec', 'http', 0, 'route', 0, 'destination', 'host'), 'reviews.default.svc.cluster.local');
});

test('the local tier is one priority level, as simulate computes: its rule turns locality load balancing off', () => {
  const local = one(render(scenario(2)).clusters.c1 ?? [], 'DestinationRule', 'reviews-local');
  assert.deepEqual(at(local, 'spec', 'trafficPolicy', 'loadBalancer'), { localityLbSetting: { enabled: false } });
  assert.ok(at(local, 'spec', 'trafficPolicy', 'outlierDetection'));
});

test('the local ServiceEntry reaches the pods\' port: numeric targetPort as targetPort, a named one as the port name', () => {
  const docs = (targetPort: number | string | undefined) => [
    meshCluster('c1'), meshCluster('c2'),
    meshWorkload('reviews-c1', 'c1', { ports: [{ name: 'http', number: 9080, protocol: 'HTTP', ...(targetPort !== undefined ? { targetPort } : {}) }] }),
    meshWorkload('reviews-c2', 'c2'),
    failoverService('reviews', ['reviews-c1', 'reviews-c2']),
  ];
  const port = (tp: number | string | undefined) => at(one(render(docs(tp)).clusters.c1 ?? [], 'ServiceEntry', 'reviews-local'), 'spec', 'ports');
  assert.deepEqual(port(8080), [{ name: 'http', number: 9080, protocol: 'HTTP', targetPort: 8080 }]);
  assert.deepEqual(port(9080), [{ name: 'http', number: 9080, protocol: 'HTTP' }]);
  assert.deepEqual(port('web'), [{ name: 'web', number: 9080, protocol: 'HTTP' }], 'istiod resolves the pod port by the ServiceEntry port name');
  // c2 keeps its own (default) port: each cluster's workload decides.
  assert.deepEqual(at(one(render(docs(8080)).clusters.c2 ?? [], 'ServiceEntry', 'reviews-local'), 'spec', 'ports'), [{ name: 'http', number: 9080, protocol: 'HTTP' }]);
  const bad = render(docs('Not_A_Name'));
  assert.deepEqual(bad.messages.map((m) => m.code), ['SPW133']);
  assert.deepEqual(Object.values(bad.clusters).flat(), [], 'an error renders nothing');
});

test('without a pod selector (or on Istio before 1.8) the local tier is the Service host, flagged SPW132', () => {
  const docs = [meshCluster('c1'), meshCluster('c2'), meshWorkload('reviews-c1', 'c1', { selector: null }), meshWorkload('reviews-c2', 'c2'), failoverService('reviews', ['reviews-c1', 'reviews-c2'])];
  const r = render(docs);
  assert.deepEqual(r.messages.map((m) => [m.code, m.level]), [['SPW132', 'warning']]);
  assert.match(r.messages[0]?.message ?? '', /reviews-c1 has no spec\.selector/);
  const c1 = r.clusters.c1 ?? [];
  assert.equal(byKind(c1, 'ServiceEntry').find((s) => s.metadata.name === 'reviews-local'), undefined);
  assert.equal(at(one(c1, 'DestinationRule', 'reviews-local'), 'spec', 'host'), 'reviews.default.svc.cluster.local');
  assert.ok(one(r.clusters.c2 ?? [], 'ServiceEntry', 'reviews-local'), 'c2 has a selector: its own local host');
  const legacy = render(scenario(2, { clusterSpec: (i) => (i === 1 ? { istio: { version: '1.7' } } : {}) }));
  assert.deepEqual(legacy.messages.map((m) => m.code), ['SPW132']);
  assert.equal(at(one(legacy.clusters.c1 ?? [], 'DestinationRule', 'reviews-local'), 'spec', 'host'), 'reviews.default.svc.cluster.local');
});

test('Gateway ports are the gateway Service\'s: servicePort in the server, the dialled port in the remote endpoint', () => {
  const r = render(scenario(2, { clusterSpec: () => ({ gateway: { address: '192.0.2.10', port: 32000, servicePort: 443 } }) }));
  assert.deepEqual(r.messages, []);
  const gw = one(r.clusters.c2 ?? [], 'Gateway', 'reviews-global-gw');
  assert.deepEqual(at(gw, 'spec', 'servers', 0, 'port'), { number: 443, name: 'https-spillway-443', protocol: 'HTTPS' });
  assert.deepEqual(at(one(r.clusters.c1 ?? [], 'ServiceEntry', 'reviews-remote-c2'), 'spec', 'endpoints', 0, 'ports'), { http: 32000 });
  // The deprecated listenPort is still honoured when servicePort is absent.
  const legacy = render(scenario(2, { clusterSpec: () => ({ gateway: { address: '192.0.2.10', port: 32000, listenPort: 8443 } }) }));
  assert.deepEqual(legacy.messages, []);
  assert.equal(at(one(legacy.clusters.c2 ?? [], 'Gateway', 'reviews-global-gw'), 'spec', 'servers', 0, 'port', 'number'), 8443);
});

test('the Gateway\'s name is a DNS-1123 label (istiod rejects dots in Gateway names), and the VirtualService binds it', () => {
  const c2 = render(scenario(2, { fsSpec: { hostname: 'reviews.default.global' } })).clusters.c2 ?? [];
  const gw = byKind(c2, 'Gateway')[0]!;
  assert.match(gw.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.ok(gw.metadata.name.length <= 63);
  assert.deepEqual(at(byKind(c2, 'VirtualService')[0], 'spec', 'gateways'), [`default/${gw.metadata.name}`]);
  const long = render(scenario(2, { fsSpec: {} }).map((d) => (d.kind === 'MeshWorkload' ? { ...d, spec: { ...(d.spec as object), service: { name: 'a'.repeat(60) } } } : d)));
  assert.ok(long.messages.some((m) => m.code === 'SPW111' && m.message.includes('Gateway')), JSON.stringify(long.messages));
});

test('a NodePort-looking gateway port with no servicePort is flagged (SPW134)', () => {
  const r = render(scenario(2, { clusterSpec: (i) => ({ gateway: { address: `192.0.2.${i}`, port: 32000 } }) }));
  assert.deepEqual([...new Set(r.messages.map((m) => m.code))], ['SPW134']);
  assert.match(r.messages[0]?.message ?? '', /looks like a NodePort/);
  assert.ok((r.clusters.c1 ?? []).length > 0, 'a warning: still rendered');
  assert.deepEqual(render(scenario(2, { clusterSpec: (i) => ({ gateway: { address: `192.0.2.${i}`, port: 443 } }) })).messages, [], 'a LoadBalancer port is not flagged');
});

test('plain HTTP never shares the HTTPS port: it needs gateway.http, on a port of its own (SPW135)', () => {
  const plain = (gateway: Record<string, unknown>) => render(scenario(2, { fsSpec: { tls: { mode: 'DISABLE' } }, clusterSpec: (i) => ({ gateway: { address: `192.0.2.${i}`, ...gateway } }) }));
  const missing = plain({ port: 443, servicePort: 443 });
  assert.deepEqual([...new Set(missing.messages.map((m) => m.code))], ['SPW135']);
  assert.deepEqual(Object.values(missing.clusters).flat(), [], 'an error: nothing rendered, so no plain server lands on 443');
  for (const sp of [443, 8443]) {
    assert.deepEqual([...new Set(plain({ port: 443, servicePort: 8443, http: { port: 31080, servicePort: sp } }).messages.map((m) => m.code))], ['SPW135'], `http.servicePort ${sp}`);
  }
  const ok = plain({ port: 443, servicePort: 443, http: { port: 31080, servicePort: 80 } });
  assert.deepEqual(ok.messages, []);
  assert.deepEqual(at(one(ok.clusters.c2 ?? [], 'Gateway', 'reviews-global-gw'), 'spec', 'servers', 0, 'port'), { number: 80, name: 'http-spillway-80', protocol: 'HTTP' });
  assert.deepEqual(at(one(ok.clusters.c1 ?? [], 'ServiceEntry', 'reviews-remote-c2'), 'spec', 'endpoints', 0, 'ports'), { http: 31080 });
});
