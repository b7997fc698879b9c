import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { ANNOTATION_NAME_CONFLICT, DEFAULT_EXCLUDED_NAMESPACES, discoverWorkloads, isDiscovered, istioProtocol } from '../../src/controller/discovery.ts';
import { meshWorkload, service } from './harness.ts';

const excl = new Set(DEFAULT_EXCLUDED_NAMESPACES);
const names = (os: KubeObject[]) => os.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();

describe('discovery', () => {
  it('names workloads <service>-<cluster> in the service namespace, with Istio protocol selection', { timeout: 300_000 }, () => {
    const r = discoverWorkloads({
      services: new Map([
        ['c1', [service('reviews', 'shop', 9080, 'http-web'), service('kubernetes', 'default', 443, 'https'), service('dns', 'kube-system', 53, 'dns')]],
        ['c2', [service('reviews', 'shop', 9080, 'grpc')]],
      ]),
      existing: [],
      excludeNamespaces: excl,
    });
    assert.deepEqual(names(r.desired), ['shop/reviews-c1', 'shop/reviews-c2']);
    assert.deepEqual((r.desired[0]!.spec as { ports: unknown }).ports, [{ name: 'http-web', number: 9080, protocol: 'HTTP' }]);
    assert.deepEqual((r.desired[1]!.spec as { ports: unknown }).ports, [{ name: 'grpc', number: 9080, protocol: 'GRPC' }]);
    assert.ok(r.desired.every(isDiscovered));
    assert.deepEqual(r.notes, []);
  });

  it('carries the Service\'s pod selector and each port\'s targetPort, so the local tier selects the same pods on the same port', { timeout: 300_000 }, () => {
    const svc = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec });
    const r = discoverWorkloads({
      services: new Map([
        ['c1', [
          svc('reviews', { selector: { app: 'reviews', tier: 'backend' }, ports: [{ name: 'http', port: 9080, targetPort: 8080 }, { name: 'grpc', port: 9090, targetPort: 'grpc-port' }, { name: 'http-same', port: 7000, targetPort: 7000 }] }),
          svc('external', { ports: [{ name: 'http', port: 80, targetPort: 80 }] }),
        ]],
      ]),
      existing: [],
      excludeNamespaces: excl,
    });
    const byName = new Map(r.desired.map((o) => [o.metadata.name, o.spec as { ports: unknown; selector?: unknown }]));
    assert.deepEqual(byName.get('reviews-c1')?.selector, { app: 'reviews', tier: 'backend' });
    assert.deepEqual(byName.get('reviews-c1')?.ports, [
      { name: 'http', number: 9080, protocol: 'HTTP', targetPort: 8080 },
      { name: 'grpc', number: 9090, protocol: 'GRPC', targetPort: 'grpc-port' },
      { name: 'http-same', number: 7000, protocol: 'HTTP' },
    ]);
    assert.equal(byName.get('external-c1')?.selector, undefined, 'a Service without a selector keeps the local tier on the Service host');
  });

  it('istioProtocol: appProtocol first, then the name prefix, else TCP', { timeout: 300_000 }, () => {
    assert.equal(istioProtocol({ name: 'web', appProtocol: 'HTTP2' }), 'HTTP2');
    assert.equal(istioProtocol({ name: 'http2-x' }), 'HTTP2');
    assert.equal(istioProtocol({ name: 'grpc-web' }), 'GRPC-WEB');
    assert.equal(istioProtocol({ name: 'metrics' }), 'TCP');
    assert.equal(istioProtocol({ name: 'http', protocol: 'UDP' }), 'UDP');
    assert.equal(istioProtocol({ appProtocol: 'kubernetes.io/h2c' }), 'HTTP2');
  });

  it('collisions: hand-written names win, colliding discovered names fall back deterministically and are reported', { timeout: 300_000 }, () => {
    const hw = meshWorkload('a-b-c', 'c', 'x');
    const input = {
      services: new Map([
        ['c', [service('a-b')]],
        ['b-c', [service('a')]],
        ['d', [service('a-b')]],
      ]),
      existing: [hw],
      excludeNamespaces: excl,
    };
    const r = discoverWorkloads(input);
    const got = names(r.desired);
    assert.equal(got.length, 3);
    assert.ok(got.includes('default/a-b-d'));
    const fallback = got.filter((n) => /^default\/a-b-c-[0-9a-f]{8}$/.test(n));
    assert.equal(fallback.length, 2, got.join(', '));
    assert.equal(r.notes.length, 2);
    assert.ok(r.desired.filter((o) => o.metadata.annotations?.[ANNOTATION_NAME_CONFLICT]).length === 2);
    assert.ok(r.effective.includes(hw), 'hand-written workloads are kept as they are');
    assert.deepEqual(discoverWorkloads(input).desired, r.desired, 'deterministic');
  });

  it('a discovered workload keeps its name when a later service would sort first', { timeout: 300_000 }, () => {
    const first = discoverWorkloads({ services: new Map([['b-c', [service('a')]]]), existing: [], excludeNamespaces: excl });
    assert.deepEqual(names(first.desired), ['default/a-b-c']);
    const live = first.desired.map((o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '5' } }));
    const second = discoverWorkloads({ services: new Map([['b-c', [service('a')]], ['c', [service('a-b')]]]), existing: live, excludeNamespaces: excl });
    const byService = new Map(second.desired.map((o) => [`${(o.spec as { cluster: string }).cluster}`, o.metadata.name]));
    assert.equal(byService.get('b-c'), 'a-b-c');
    assert.match(byService.get('c') ?? '', /^a-b-c-[0-9a-f]{8}$/);
  });

  it('removes workloads of services that went away; keeps those of clusters in an unknown state', { timeout: 300_000 }, () => {
    const prev = discoverWorkloads({ services: new Map([['c1', [service('r'), service('s')]], ['c2', [service('r')]]]), existing: [], excludeNamespaces: excl }).desired;
    const r = discoverWorkloads({ services: new Map([['c1', [service('r')]], ['c2', undefined]]), existing: prev, excludeNamespaces: excl });
    assert.deepEqual(names(r.remove), ['default/s-c1']);
    assert.deepEqual(names(r.desired), ['default/r-c1', 'default/r-c2']);
    const gone = discoverWorkloads({ services: new Map([['c1', [service('r')]]]), existing: prev, excludeNamespaces: excl });
    assert.deepEqual(names(gone.remove), ['default/r-c2', 'default/s-c1'], 'an unregistered cluster loses its workloads');
  });
});
