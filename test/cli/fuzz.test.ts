/**
 * The fuzz suite at a small size (scripts/fuzz.ts; `npm run fuzz -- --iterations 5000 --seed N` for a long run):
 * mutated examples through validate, render and simulate exit 0, 1 or 2 only, print no stack trace and no control
 * character, and render only objects valid for Istio's CRDs and Envoy's protos, within time and memory bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCase, fuzz } from '../../scripts/fuzz.ts';

test('fuzz: 200 mutated inputs, seed 1: exit 0/1/2 only, nothing unsafe printed, everything rendered valid', { timeout: 240_000 }, async () => {
  const lines: string[] = [];
  const r = await fuzz({ iterations: 200, seed: 1, caseMs: 20_000, maxRssMb: 2048, log: (l) => lines.push(l) });
  assert.deepEqual(r.failures, [], lines.join('\n'));
  assert.equal(r.cases, 200);
  // Not vacuous: every outcome occurs, and rendered objects and Envoy clusters were actually checked.
  for (const code of ['0', '1', '2']) assert.ok((r.exitCodes[code] ?? 0) > 10, `exit ${code} occurs: ${JSON.stringify(r.exitCodes)}`);
  assert.deepEqual(Object.keys(r.exitCodes).sort(), ['0', '1', '2']);
  assert.ok(r.renderedObjects > 200, `objects checked: ${r.renderedObjects}`);
  assert.ok(r.envoyClusters > 20, `Envoy clusters parsed: ${r.envoyClusters}`);
});

test('fuzz cases replay: the same seed and case build the same input and outcome', { timeout: 60_000 }, async () => {
  assert.equal(buildCase(7, 42).input, buildCase(7, 42).input);
  assert.notEqual(buildCase(7, 42).input, buildCase(8, 42).input);
  const a = await fuzz({ iterations: 1, seed: 7, only: 42 });
  const b = await fuzz({ iterations: 1, seed: 7, only: 42 });
  assert.deepEqual(a.exitCodes, b.exitCodes);
  assert.equal(a.renderedObjects, b.renderedObjects);
});
