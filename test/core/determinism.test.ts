/** The same input renders byte-identical output, in any document order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../src/index.ts';
import { renderJson, renderYaml } from '../../src/cli/output.ts';
import { example } from './fixtures.ts';

function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

for (const name of ['seed.yaml', 'three-clusters.yaml']) {
  test(`${name}: any document order renders byte-identical YAML and JSON`, () => {
    const docs = example(name).map((d) => d.value);
    const base = render(docs);
    const yaml = renderYaml(base.clusters);
    const json = renderJson(base);
    for (let seed = 1; seed <= 12; seed++) {
      const r = render(shuffled(docs, seed));
      assert.equal(renderYaml(r.clusters), yaml, `order #${seed}`);
      assert.equal(renderJson(r), json, `order #${seed}`);
    }
  });
}

test('rendering does not mutate its input', () => {
  const docs = example('three-clusters.yaml').map((d) => d.value);
  const before = JSON.stringify(docs);
  render(docs);
  assert.equal(JSON.stringify(docs), before);
});
