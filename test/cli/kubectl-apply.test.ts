/**
 * `render --out-dir DIR` then `kubectl apply -f DIR/<cluster>`, for real: kubectl (an independent client) applies
 * every rendered object to the Kubernetes API double with Istio's own CRDs (the pinned istio.io/istio module's bundle) registered, so the server validates
 * each object against its schema and would prune any field the schema does not declare. What comes back must be
 * exactly what was rendered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { runCli } from '../../src/cli/main.ts';
import { istioCrdDocuments } from '../support/istio-crds.ts';
import { NO_KUBECTL, hasKubectl, kubectl, startHarness } from '../double-conformance/helpers.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const ISTIO_KINDS = new Set(['ServiceEntry', 'DestinationRule', 'EnvoyFilter', 'Gateway', 'VirtualService']);

test('kubectl apply -f DIR/<cluster> accepts every rendered object, and the server stores them unchanged', { skip: hasKubectl ? false : NO_KUBECTL, timeout: 180_000 }, async () => {
  const crds = (istioCrdDocuments() as { kind?: string; spec?: { names?: { kind?: string } } }[])
    .filter((d) => d?.kind === 'CustomResourceDefinition' && ISTIO_KINDS.has(d.spec?.names?.kind ?? ''));
  assert.equal(crds.length, 5);
  const crdYaml = crds.map((c) => `---\n${yaml.dump(c)}`).join('');

  const scratch = await startHarness();
  const out = join(scratch.dir, 'out');
  try {
    let err = '';
    for (const ex of ['seed.yaml', 'three-clusters.yaml']) {
      const code = await runCli(['render', '-f', join(REPO, 'examples', ex), '--out-dir', out], { stdout: () => {}, stderr: (s) => (err += s) });
      assert.equal(code, 0, err);
    }
    const clusters = readdirSync(out).sort();
    assert.deepEqual(clusters, ['cluster1', 'cluster2', 'east', 'eu', 'west']);
    for (const cluster of clusters) {
      // One API server per member cluster, as in a real mesh, with Istio's CRDs installed.
      const h = await startHarness({ name: cluster, namespaces: ['default', 'istio-system', 'shop', 'kube-system'] });
      try {
        const created = await kubectl(h, ['create', '-f', '-'], crdYaml);
        assert.equal(created.code, 0, created.stderr);
        const dir = join(out, cluster);
        const applied = await kubectl(h, ['apply', '-f', dir]);
        assert.equal(applied.code, 0, `${cluster}: ${applied.stderr}`);
        assert.equal(applied.stdout.trim().split('\n').length, readdirSync(dir).length);
        for (const f of readdirSync(dir)) {
          const want = yaml.load(readFileSync(join(dir, f), 'utf8')) as { kind: string; metadata: { name: string; namespace: string; labels: unknown }; spec: unknown };
          const got = await kubectl(h, ['get', want.kind.toLowerCase(), want.metadata.name, '-n', want.metadata.namespace, '-o', 'json']);
          assert.equal(got.code, 0, got.stderr);
          const live = JSON.parse(got.stdout) as { spec: unknown; metadata: { labels: unknown } };
          assert.deepEqual(live.spec, want.spec, `${cluster}/${f}: nothing pruned or changed`);
          assert.deepEqual(live.metadata.labels, want.metadata.labels);
        }
      } finally {
        await h.close();
      }
    }
  } finally {
    await scratch.close();
  }
});
