// kubectl against the double, part 1: discovery, get, client-side apply of a CRD and its objects,
// validation, pruning, label selectors, HTTPS (part 2 is kubectl-ssa.test.ts). Skipped only when kubectl is absent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Harness } from './helpers.ts';
import { NO_KUBECTL, REAL_START_MS, TARGETS, WIDGET_CRD, hasKubectl, kubectl, kubectlMinor, ok, startHarness, widgetJson as widget } from './helpers.ts';

for (const target of TARGETS) describe(`kubectl (${target})`, { skip: hasKubectl ? false : NO_KUBECTL, timeout: 600_000 }, () => {
  let h: Harness;
  let minor = 0;
  before(async () => {
    h = await startHarness({}, target);
    minor = await kubectlMinor(h);
  }, { timeout: REAL_START_MS });
  after(() => h?.close());

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

  it('server-side apply refuses undeclared fields whatever the validation; client-side apply with --validate=false prunes them', async () => {
    // kube-apiserver builds a typed patch from the configuration first: an undeclared field fails the request (500,
    // first field only) with or without fieldValidation=Strict (kubectl 1.25+) or Ignore (--validate=false).
    const undeclared = /failed to create typed patch object \(default\/unk; example\.com\/v1, Kind=Widget\): \.spec\.bogus: field not declared in schema/;
    for (const flags of [[], ['--validate=false']]) {
      const r = await kubectl(h, ['apply', '--server-side', ...flags, '-f', '-'], widget('unk', { size: 1, bogus: 1 }));
      assert.notEqual(r.code, 0, `apply --server-side ${flags.join(' ')}`);
      assert.match(r.stderr, undeclared);
    }
    assert.notEqual((await kubectl(h, ['get', 'wd', 'unk'])).code, 0, 'nothing was created');
    if (minor >= 25) {
      const strict = await kubectl(h, ['apply', '-f', '-'], widget('unk', { size: 1, bogus: 1 }));
      assert.notEqual(strict.code, 0);
      assert.match(strict.stderr, /strict decoding error: unknown field "spec\.bogus"/);
    }
    ok(await kubectl(h, ['apply', '--validate=false', '-f', '-'], widget('unk', { size: 1, bogus: 1 })), 'apply --validate=false');
    const w = JSON.parse(ok(await kubectl(h, ['get', 'wd', 'unk', '-o', 'json']), 'get')) as { spec: Record<string, unknown> };
    assert.deepEqual(w.spec, { size: 1, color: 'red' });
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
    assert.ok((await names('app notin (a,b,c)')).includes('widget.example.com/csa'));
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
