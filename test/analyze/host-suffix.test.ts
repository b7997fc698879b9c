/** Allowed hostname suffixes are configurable: `--host-suffix` on render/validate (and the controller). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.ts';
import { render } from '../../src/core/render.ts';

const docs = (hostname: string) => `
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
spec: {cluster: c1, service: {name: shop}, ports: [{name: http, number: 80, protocol: HTTP}]}
---
apiVersion: spillway.dev/v1alpha1
kind: MeshWorkload
metadata: {name: shop-c2, namespace: shop}
spec: {cluster: c2, service: {name: shop}, ports: [{name: http, number: 80, protocol: HTTP}]}
---
apiVersion: spillway.dev/v1alpha1
kind: FailoverService
metadata: {name: shop, namespace: shop}
spec: {meshWorkloads: [shop-c1, shop-c2], hostname: ${hostname}}
`;

async function validate(hostname: string, ...flags: string[]): Promise<{ code: number; out: string; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-suffix-'));
  try {
    writeFileSync(join(dir, 'mesh.yaml'), docs(hostname));
    let out = '';
    let err = '';
    const code = await runCli(['validate', '-f', join(dir, 'mesh.yaml'), ...flags], { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    return { code, out, err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the default suffix is global; --host-suffix replaces it', { timeout: 30_000 }, async () => {
  assert.deepEqual(render([]).messages, []);
  assert.equal((await validate('shop.shop.global')).code, 0);
  const other = await validate('shop.shop.mesh.example.com');
  assert.equal(other.code, 1);
  assert.match(other.out, /SPW142.*must end with \.shop\.<suffix>.*allowed suffix: global/);
  assert.equal((await validate('shop.shop.mesh.example.com', '--host-suffix', 'mesh.example.com')).code, 0);
  const replaced = await validate('shop.shop.global', '--host-suffix', 'mesh.example.com');
  assert.match(replaced.out, /SPW142/);
  assert.equal((await validate('shop.shop.global', '--host-suffix', 'mesh.example.com', '--host-suffix', 'global')).code, 0);
  // Whatever the suffixes, a Kubernetes Service host is refused.
  assert.match((await validate('shop.shop.svc.cluster.local', '--host-suffix', 'svc.cluster.local')).out, /SPW141/);
  const bad = await validate('shop.shop.global', '--host-suffix', '.Global');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--host-suffix/);
});
