// kubectl against the double: discovery, get, apply (client-side and server-side), validation, pruning,
// label selectors, watch, delete, the status subresource, HTTPS. Skipped only when kubectl is absent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { NO_KUBECTL, WIDGET_CRD, hasKubectl, kubectl, kubectlWatch, startHarness, waitFor } from './helpers.ts';

const widget = (name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) =>
  JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, labels }, spec });

function ok(r: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
  return r.stdout;
}

describe('kube double: kubectl', { skip: hasKubectl ? false : NO_KUBECTL }, () => {
  let h: Harness;
  let minor = 0;
  before(async () => {
    h = await startHarness();
    const v = await kubectl(h, ['version', '--client', '-o', 'json']);
    minor = Number((JSON.parse(v.stdout) as { clientVersion: { minor: string } }).clientVersion.minor.replace(/\D/g, ''));
  });
  after(() => h.close());

  it('gets built-in objects as tables, names and JSON', async () => {
    assert.match(ok(await kubectl(h, ['get', 'namespaces']), 'get ns'), /^NAME\s+.*\ndefault\s/m);
    assert.deepEqual(ok(await kubectl(h, ['get', 'ns', '-o', 'name']), 'get ns -o name').trim().split('\n'), [
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ]);
    const ns = JSON.parse(ok(await kubectl(h, ['get', 'ns', 'default', '-o', 'json']), 'get ns -o json')) as k8s.V1Namespace;
    assert.equal(ns.status?.phase, 'Active');
    const nf = await kubectl(h, ['get', 'configmap', 'missing']);
    assert.notEqual(nf.code, 0);
    assert.match(nf.stderr, /NotFound|not found/);
  });

  it('creates a CRD with apply and serves its kind (client-side apply, then a merge-patch apply)', async () => {
    ok(await kubectl(h, ['apply', '-f', '-'], JSON.stringify(WIDGET_CRD)), 'apply crd');
    ok(await kubectl(h, ['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=10s']), 'wait established');
    assert.match(ok(await kubectl(h, ['apply', '-f', '-'], widget('csa', { size: 1 })), 'apply widget'), /widget.example.com\/csa created/);
    assert.match(ok(await kubectl(h, ['apply', '-f', '-'], widget('csa', { size: 2 })), 'apply widget again'), /configured/);
    const w = JSON.parse(ok(await kubectl(h, ['get', 'wd', 'csa', '-o', 'json']), 'get widget')) as { spec: { size: number; color: string }; metadata: k8s.V1ObjectMeta };
    assert.equal(w.spec.size, 2);
    assert.equal(w.spec.color, 'red');
    assert.equal(w.metadata.generation, 2);
  });

  it('reports schema violations as kubectl shows 422s', async () => {
    const r = await kubectl(h, ['apply', '-f', '-'], widget('bad', { size: 0, color: 'green' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is invalid/);
    assert.match(r.stderr, /spec\.size/);
    assert.match(r.stderr, /Unsupported value: "green"/);
  });

  it('rejects unknown fields under kubectl\'s strict validation, prunes them with --validate=false', async () => {
    // kubectl 1.25+ asks for fieldValidation=Strict; older ones send no such parameter (and validate
    // client-side against /openapi/v2, which the double serves empty), so the field is just pruned.
    if (minor >= 25) {
      const strict = await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('unk', { size: 1, bogus: 1 }));
      assert.notEqual(strict.code, 0);
      assert.match(strict.stderr, /unknown field "spec\.bogus"/);
    }
    ok(await kubectl(h, ['apply', '--server-side', '--validate=false', '-f', '-'], widget('unk', { size: 1, bogus: 1 })), 'apply --validate=false');
    const w = JSON.parse(ok(await kubectl(h, ['get', 'wd', 'unk', '-o', 'json']), 'get')) as { spec: Record<string, unknown> };
    assert.deepEqual(w.spec, { size: 1, color: 'red' });
  });

  it('server-side apply: create, no-op, conflict, force, field removal', async () => {
    assert.match(ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('ssa', { size: 1, tags: ['a'] })), 'ssa create'), /serverside-applied/);
    const rv = () => kubectl(h, ['get', 'wd', 'ssa', '-o', 'jsonpath={.metadata.resourceVersion}']).then((r) => ok(r, 'rv'));
    const rv1 = await rv();
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('ssa', { size: 1, tags: ['a'] })), 'ssa no-op');
    assert.equal(await rv(), rv1, 'a no-op apply must not write');

    const c = await kubectl(h, ['apply', '--server-side', '--field-manager=other', '-f', '-'], widget('ssa', { size: 3 }));
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /conflict with "kubectl"/);
    assert.match(c.stderr, /\.spec\.size/);
    ok(await kubectl(h, ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], widget('ssa', { size: 3 })), 'ssa force');

    // kubectl drops tags (and size, now owned by "other") from its configuration: tags go, size stays.
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('ssa', { color: 'blue' })), 'ssa drop');
    const w = JSON.parse(ok(await kubectl(h, ['get', 'wd', 'ssa', '-o', 'json', ...(minor >= 21 ? ['--show-managed-fields'] : [])]), 'get')) as { spec: Record<string, unknown>; metadata: k8s.V1ObjectMeta };
    assert.deepEqual(w.spec, { size: 3, color: 'blue' });
    assert.deepEqual(w.metadata.managedFields?.map((m) => `${m.manager}/${m.operation}`).sort(), ['kubectl/Apply', 'other/Apply']);
  });

  it('filters with label selectors', async () => {
    for (const [name, app] of [['l1', 'a'], ['l2', 'b'], ['l3', 'c']] as const) {
      ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget(name, { size: 1 }, { app })), `apply ${name}`);
    }
    const names = async (sel: string) => ok(await kubectl(h, ['get', 'wd', '-l', sel, '-o', 'name']), `get -l ${sel}`).trim().split('\n').filter(Boolean);
    assert.deepEqual(await names('app in (a,b)'), ['widget.example.com/l1', 'widget.example.com/l2']);
    assert.deepEqual(await names('app!=a,app'), ['widget.example.com/l2', 'widget.example.com/l3']);
    assert.deepEqual(await names('app,app notin (a,b)'), ['widget.example.com/l3']);
    // notin also matches objects without the label, as in Kubernetes.
    assert.ok((await names('app notin (a,b,c)')).includes('widget.example.com/ssa'));
  });

  it('watches with get -w and deletes with delete (which waits for the object to go)', async () => {
    const w = kubectlWatch(h, ['get', 'wd', '-l', 'app=watched', '-w', '--output-watch-events', '-o', 'jsonpath={.type} {.object.metadata.name}{"\\n"}']);
    await waitFor('kubectl watch to open', () => h.double.openWatches >= 1, 10000);
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('watched', { size: 1 }, { app: 'watched' })), 'create watched');
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('watched', { size: 2 }, { app: 'watched' })), 'modify watched');
    ok(await kubectl(h, ['delete', 'wd', 'watched', '--timeout=10s']), 'delete watched');
    await waitFor('3 watch lines', () => w.lines.length >= 3, 10000);
    await w.stop();
    assert.deepEqual(w.lines.slice(0, 3), ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
    const gone = await kubectl(h, ['get', 'wd', 'watched']);
    assert.notEqual(gone.code, 0);
  });

  it('writes status through --subresource=status without touching spec or generation', { skip: false }, async (t) => {
    if (minor < 24) {
      t.skip(`kubectl 1.${minor} has no --subresource`);
      return;
    }
    ok(await kubectl(h, ['apply', '--server-side', '-f', '-'], widget('st', { size: 1 })), 'create');
    ok(await kubectl(h, ['patch', 'wd', 'st', '--subresource=status', '--type=merge', '-p', '{"status":{"ready":true},"spec":{"size":9}}']), 'patch status');
    const w = JSON.parse(ok(await kubectl(h, ['get', 'wd', 'st', '-o', 'json']), 'get')) as { spec: { size: number }; status: { ready: boolean }; metadata: k8s.V1ObjectMeta };
    assert.equal(w.status.ready, true);
    assert.equal(w.spec.size, 1);
    assert.equal(w.metadata.generation, 1);
  });

  it('speaks HTTPS with a kubeconfig that both kubectl and client-node accept', async () => {
    const s = await startHarness({ tls: true });
    try {
      assert.match(s.double.url, /^https:/);
      assert.match(ok(await kubectl(s, ['get', 'ns', '-o', 'name']), 'kubectl over https'), /namespace\/default/);
      const list = await s.kc.makeApiClient(k8s.CoreV1Api).listNamespace();
      assert.ok(list.items.some((n) => n.metadata?.name === 'default'));
    } finally {
      await s.close();
    }
  });
});

describe('kube double: kubeconfig for plain HTTP', () => {
  it('carries insecure-skip-tls-verify, which client-node 1.4 requires for http:// servers', async () => {
    const h = await startHarness();
    try {
      const kc = new k8s.KubeConfig();
      kc.loadFromString(h.double.kubeconfig());
      assert.equal(kc.getCurrentCluster()?.skipTLSVerify, true);
      const without = new k8s.KubeConfig();
      without.loadFromString(h.double.kubeconfig().replace(/\n\s*insecure-skip-tls-verify: true/, ''));
      await assert.rejects(without.makeApiClient(k8s.CoreV1Api).listNamespace(), /HTTP protocol is not allowed/);
      assert.equal((await kc.makeApiClient(k8s.CoreV1Api).listNamespace()).items.length, 4);
    } finally {
      await h.close();
    }
  });
});
