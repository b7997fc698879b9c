/**
 * A FailoverService's global host may not be a host of the mesh's own ServiceEntries (SPW143): `validate` and
 * `render` know them when the input includes them (`kubectl get serviceentries -A -o yaml` of a member); the
 * controller reads them from every member (test/controller/service-entry-hosts.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { runCli } from '../../src/cli/main.ts';
import { RenderCache, render, renderDetailed } from '../../src/core/render.ts';

const mesh = (fsSpec: string) => `
apiVersion: spillway.dev/v1alpha1
kind: MeshCluster
metadata: {name: c1}
spec: {gateway: {address: 192.0.2.1, port: 32000}}
---
apiVersion: spillway.dev/v1alpha1
kind: MeshCluster
metadata: {name: c2}
spec: {gateway: {address: 192.0.2.2, port: 32000}}
---
apiVersion: spillway.dev/v1alpha1
kind: MeshWorkload
metadata: {name: shop-c1, namespace: shop}
spec: {cluster: c1, service: {name: shop}, ports: [{name: http, number: 80, protocol: HTTP}], selector: {app: shop}}
---
apiVersion: spillway.dev/v1alpha1
kind: MeshWorkload
metadata: {name: shop-c2, namespace: shop}
spec: {cluster: c2, service: {name: shop}, ports: [{name: http, number: 80, protocol: HTTP}], selector: {app: shop}}
---
apiVersion: spillway.dev/v1alpha1
kind: FailoverService
metadata: {name: shop, namespace: shop}
spec: {meshWorkloads: [shop-c1, shop-c2]${fsSpec}}
`;
const serviceEntry = (hosts: string[], labels: Record<string, string> = {}) => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: legacy-shop, namespace: shop, labels: ${JSON.stringify(labels)}}
spec: {hosts: ${JSON.stringify(hosts)}, ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS, location: MESH_INTERNAL}
`;

async function cli(args: string[], text: string): Promise<{ code: number; out: string; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-se-hosts-'));
  try {
    writeFileSync(join(dir, 'mesh.yaml'), text);
    let out = '';
    let err = '';
    const code = await runCli([...args, '-f', join(dir, 'mesh.yaml')], { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    return { code, out, err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('validate refuses a hostname an existing ServiceEntry in the input already serves (SPW143), and render prints nothing for it', { timeout: 30_000 }, async () => {
  const text = mesh(', hostname: shop.shop.global') + serviceEntry(['shop.shop.global', 'other.example.com']);
  const v = await cli(['validate'], text);
  assert.equal(v.code, 1, v.out + v.err);
  assert.match(v.out + v.err, /error SPW143 FailoverService\/shop\/shop: spec.hostname shop.shop.global is a host of ServiceEntry shop\/legacy-shop in the input, which Spillway did not write/);
  const r = await cli(['render'], text);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.out, /kind:/, 'no object is rendered for it');
  // Without the ServiceEntry (or with another host) the same input is valid.
  assert.equal((await cli(['validate'], mesh(', hostname: shop.shop.global'))).code, 0);
  assert.equal((await cli(['validate'], mesh(', hostname: shop.shop.global') + serviceEntry(['other.example.com']))).code, 0);
});

test('the derived host counts too; Spillway\'s own ServiceEntries (its label) do not', () => {
  const derived = render(yaml.loadAll(mesh('') + serviceEntry(['SHOP-global.shop.global.'])));
  assert.deepEqual(derived.messages.filter((m) => m.level === 'error').map((m) => m.code), ['SPW143']);
  assert.match(derived.messages.find((m) => m.code === 'SPW143')!.message, /^the derived global host shop-global.shop.global is a host of ServiceEntry shop\/legacy-shop/);
  const ours = render(yaml.loadAll(mesh('') + serviceEntry(['shop-global.shop.global'], { 'app.kubernetes.io/managed-by': 'spillway' })));
  assert.deepEqual(ours.messages.filter((m) => m.level === 'error'), []);
  assert.ok((ours.clusters.c1 ?? []).some((o) => o.kind === 'EnvoyFilter'));
});

test('the controller\'s policy (members\' ServiceEntries) and the render cache: a new foreign host invalidates the cached result', () => {
  const docs = yaml.loadAll(mesh(', hostname: shop.shop.global'));
  const cache = new RenderCache();
  const errors = (r: ReturnType<typeof renderDetailed>) => r.messages.filter((m) => m.level === 'error').map((m) => `${m.code} ${m.message}`);
  assert.deepEqual(errors(renderDetailed(docs, cache)), []);
  const foreignHosts = new Map([['shop.shop.global', 'ServiceEntry shop/legacy in cluster c2']]);
  const held = renderDetailed(docs, cache, { foreignHosts });
  assert.deepEqual(errors(held), ['SPW143 spec.hostname shop.shop.global is a host of ServiceEntry shop/legacy in cluster c2, which Spillway did not write: the mesh already routes it, and Spillway would replace its cluster for every proxy; choose another host']);
  assert.equal(held.services.find((s) => s.ref === 'FailoverService/shop/shop')?.accepted, false);
  // Another host there, or none: accepted again.
  assert.deepEqual(errors(renderDetailed(docs, cache, { foreignHosts: new Map([['x.example.com', 'ServiceEntry a/b in cluster c2']]) })), []);
});
