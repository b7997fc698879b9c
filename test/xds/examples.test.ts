/**
 * The bundled examples, rendered for every cluster and turned into the xDS an istiod would serve:
 * every resource encodes strictly, and every aggregate child names a cluster that exists (the child
 * names are checked against clusters built from the INPUTS, so a wrong name cannot vouch for itself).
 * No client here: the examples' gateways are not loopback addresses.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadAll } from 'js-yaml';
import { render } from '../../src/index.ts';
import { encodeResources, snapshotFromRendered } from './harness.ts';
import type { LocalService, RenderedObject } from './harness.ts';

interface WorkloadDoc {
  kind: 'MeshWorkload';
  metadata: { namespace?: string };
  spec: { cluster: string; service: { name: string; namespace?: string }; ports: { number: number }[] };
}
interface ClusterDoc {
  kind: 'MeshCluster';
  metadata: { name: string };
  spec: { clusterDomain?: string };
}

function isKind<T extends { kind: string }>(kind: T['kind']) {
  return (d: unknown): d is T => typeof d === 'object' && d !== null && (d as { kind?: unknown }).kind === kind;
}

/** The client cluster's own Services, from the MeshWorkloads placed in it. */
function localServices(docs: unknown[], cluster: string): LocalService[] {
  const domain = docs.filter(isKind<ClusterDoc>('MeshCluster')).find((c) => c.metadata.name === cluster)?.spec.clusterDomain ?? 'cluster.local';
  return docs
    .filter(isKind<WorkloadDoc>('MeshWorkload'))
    .filter((w) => w.spec.cluster === cluster)
    .flatMap((w) =>
      w.spec.ports.map((p) => ({
        host: `${w.spec.service.name}.${w.spec.service.namespace ?? w.metadata.namespace ?? 'default'}.svc.${domain}`,
        port: p.number,
        endpoints: [{ address: '127.0.0.1', port: 1 }],
      })),
    );
}

function aggregates(objs: RenderedObject[]): { name: string; children: string[] }[] {
  const out: { name: string; children: string[] }[] = [];
  for (const o of objs) {
    if (o.kind !== 'EnvoyFilter') continue;
    for (const p of (o.spec as { configPatches: { patch: { operation: string; value?: Record<string, unknown> } }[] }).configPatches) {
      const v = p.patch.value;
      if (p.patch.operation !== 'ADD' || !v) continue;
      const tc = (v.cluster_type as { typed_config: { clusters?: string[]; value?: { clusters: string[] } } }).typed_config;
      out.push({ name: String(v.name), children: tc.clusters ?? tc.value?.clusters ?? [] });
    }
  }
  return out;
}

/** Encodes the cluster's snapshot strictly and checks every aggregate child names a generated cluster. */
function checkClient(docs: unknown[], cluster: string, rendered: RenderedObject[]): number {
  const aggs = aggregates(rendered);
  if (aggs.length === 0) return 0; // receiving-only cluster
  const snap = snapshotFromRendered(rendered, { local: localServices(docs, cluster) });
  encodeResources(snap); // throws on any invalid field
  const names = new Set(snap.clusterNames);
  for (const a of aggs) {
    assert.ok(names.has(a.name), `aggregate ${a.name} missing`);
    assert.ok(a.children.length >= 2, `${a.name} has fewer than two tiers`);
    for (const c of a.children) assert.ok(names.has(c), `${cluster}: aggregate ${a.name} lists ${c}, which no generated cluster is named`);
  }
  return aggs.length;
}

const load = (file: string) => loadAll(readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
const plain = (objs: unknown): RenderedObject[] => JSON.parse(JSON.stringify(objs)) as RenderedObject[];

for (const file of ['examples/seed.yaml', 'examples/three-clusters.yaml']) {
  describe(`xDS from ${file}`, () => {
    const docs = load(file);
    const result = render(docs);
    it('renders without errors', () => {
      assert.deepEqual(result.messages.filter((m) => m.level === 'error'), []);
    });
    for (const [cluster, objs] of Object.entries(result.clusters)) {
      it(`${cluster}: resources encode strictly and every aggregate child exists`, () => {
        checkClient(docs, cluster, plain(objs));
      });
    }
  });
}

it('teeth: a misnamed aggregate child in a real example is caught', () => {
  const docs = load('examples/three-clusters.yaml');
  const [cluster, objs] = Object.entries(render(docs).clusters)[0]!;
  const rendered = plain(objs);
  assert.ok(checkClient(docs, cluster, rendered) > 0);
  const ef = rendered.find((o) => o.kind === 'EnvoyFilter')!;
  const add = (ef.spec as { configPatches: { patch: { operation: string; value: { cluster_type: { typed_config: { clusters: string[] } } } } }[] }).configPatches.find(
    (p) => p.patch.operation === 'ADD',
  )!;
  const children = add.patch.value.cluster_type.typed_config.clusters;
  children[children.length - 1] = children[children.length - 1]!.replace('|', '||');
  assert.throws(() => checkClient(docs, cluster, rendered), /which no generated cluster is named/);
});
