/**
 * The README's prune recipe for `kubectl apply --prune` (and the audit selector for Argo CD/Flux) covers what
 * render writes: the documented selector matches every rendered object of the cluster, and every rendered kind is
 * in the documented --prune-allowlist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { render } from '../../src/core/render.ts';

const REPO = join(import.meta.dirname, '..', '..');

test('the README prune selector matches every rendered object and its allowlist names every rendered kind', { timeout: 60_000 }, () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const recipe = /spillway render -f inputs\/ --cluster cluster1 \| kubectl[^`]*?--prune[\s\S]*?```/.exec(readme)?.[0];
  assert.ok(recipe, 'the README has the kubectl --prune recipe');
  const selector = /-l (\S+)/.exec(recipe)?.[1];
  assert.ok(selector, 'the recipe has a label selector');
  const allow = [...recipe.matchAll(/--prune-allowlist=(\S+)/g)].map((m) => m[1]);
  assert.ok(allow.length >= 5, 'the recipe allow-lists the Istio kinds');
  const { clusters } = render(yaml.loadAll(readFileSync(join(REPO, 'examples', 'seed.yaml'), 'utf8')));
  const objs = clusters.cluster1 ?? [];
  assert.ok(objs.length > 0, 'cluster1 gets objects');
  const wanted = selector.split(',').map((kv) => kv.split('=') as [string, string]);
  for (const o of objs) {
    for (const [k, v] of wanted) assert.equal(o.metadata.labels?.[k], v, `${o.kind} ${o.metadata.name}: label ${k}=${v}`);
    assert.ok(allow.includes(`${o.apiVersion}/${o.kind}`), `${o.apiVersion}/${o.kind} is allow-listed`);
  }
});
