/**
 * Golden files for the bundled examples: the whole rendered output, reviewed by a person when it changes.
 * Regenerate deliberately with `UPDATE_GOLDEN=1 npm test -- test/core/golden`, then read the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { render } from '../../src/index.ts';
import { renderYaml } from '../../src/cli/output.ts';
import { example } from './fixtures.ts';

for (const name of ['seed', 'three-clusters']) {
  test(`golden: examples/${name}.yaml`, () => {
    const r = render(example(`${name}.yaml`));
    assert.deepEqual(r.messages, []);
    const actual = renderYaml(r.clusters);
    const file = new URL(`../golden/${name}.yaml`, import.meta.url);
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, actual);
    assert.equal(actual, readFileSync(file, 'utf8'));
  });
}
