/**
 * The one-shot render (renderByCluster) puts each cluster's objects in the order `render` sorts them into, also
 * when services' own order (namespace, name) and their objects' names disagree: a service named after a prefix of
 * another (`a`, `a-b`), hostnames that sort apart from their services, namespaces that interleave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render, renderByCluster } from '../../src/core/render.ts';
import { renderJson } from '../../src/cli/output.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { failoverService, meshCluster, meshWorkload } from './fixtures.ts';

function docs(): KubeObject[] {
  const out: KubeObject[] = ['c1', 'c2', 'c3'].map((c) => meshCluster(c));
  const services: { name: string; namespace: string; hostname?: string; order: string[] }[] = [
    { name: 'a', namespace: 'shop', order: ['c3', 'c1', 'c2'] },
    { name: 'a-b', namespace: 'shop', order: ['c1', 'c2', 'c3'] },
    { name: 'a0', namespace: 'shop', hostname: 'zz.shop.global', order: ['c2', 'c3', 'c1'] },
    { name: 'b', namespace: 'ads', hostname: 'a.ads.global', order: ['c2', 'c1'] },
    { name: 'z', namespace: 'ads', order: ['c1', 'c3'] },
    { name: 'm', namespace: 'zoo', hostname: 'a-a.zoo.global', order: ['c3', 'c2', 'c1'] },
  ];
  for (const s of services) {
    for (const c of s.order) out.push(meshWorkload(`${s.name}-${c}`, c, { service: s.name, namespace: s.namespace }));
    out.push(failoverService(s.name, s.order.map((c) => `${s.name}-${c}`), s.hostname ? { hostname: s.hostname } : {}, { namespace: s.namespace }));
  }
  return out;
}

test('cluster by cluster, objects come in the same order as a full render, whatever the names', () => {
  const input = docs();
  const full = render(input);
  assert.equal(full.messages.filter((m) => m.level === 'error').length, 0, JSON.stringify(full.messages));
  const byCluster = renderByCluster(input);
  for (const c of ['c1', 'c2', 'c3']) {
    const objs = byCluster.objects(c);
    assert.ok(objs.length > 10, `${c} has objects`);
    assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`), full.clusters[c]!.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`), c);
  }
  assert.equal(renderJson({ clusters: byCluster, messages: byCluster.messages }), renderJson(full));
  // The order really is not the services' own: `a-b`'s objects sort before `a`'s.
  const names = byCluster.objects('c1').filter((o) => o.kind === 'ServiceEntry').map((o) => o.metadata.name);
  assert.ok(names.indexOf('a-b-global') < names.indexOf('a-global'), names.join(' '));
});
