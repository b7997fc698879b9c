// The CRDs' CEL rules (what `kubectl apply` refuses) agree with values.ts (what `validate` refuses), value by
// value. Here the rules run on @bufbuild/cel; test/real/install.test.ts runs them on a real API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failoverServiceSchema } from '../../src/api/schemas.ts';
import { durationError, labelKeyError } from '../../src/api/values.ts';
import { validate } from '../../src/schema/structural.ts';

const fos = (spec: Record<string, unknown>) => ({ apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name: 'x', namespace: 'default' }, spec: { meshWorkloads: ['a'], ...spec } });
const celIssues = (doc: unknown) => validate(failoverServiceSchema, doc, { closed: true }).filter((i) => i.keyword === 'x-kubernetes-validations');

test('duration rules refuse exactly what durationError refuses (inside Go\'s range)', { timeout: 30_000 }, () => {
  const values = ['1ms', '1s', '5s', '1m30s', '1.5s', '0.001s', '0.00100s', '2h45m', '1.5m', '0.0001m', '0.00001h', '1000us', '2000000ns', '0s', '0ms', '500us', '999999ns', '1.0005s', '1500us', '2562047h', '1500us500us', '0.00005m', '1.5ms'];
  let refused = 0;
  for (const v of values) {
    const cel = celIssues(fos({ connectTimeout: v, outlierDetection: { interval: v } }));
    const expected = durationError(v) !== undefined;
    assert.equal(cel.length > 0, expected, `${v}: CEL ${JSON.stringify(cel)} vs values.ts ${durationError(v) ?? 'ok'}`);
    if (expected) {
      refused++;
      assert.deepEqual([...new Set(cel.map((i) => i.path))].sort(), ['spec.connectTimeout', 'spec.outlierDetection.interval']);
    }
  }
  assert.ok(refused >= 5 && refused < values.length, 'both outcomes occur');
});

test('label key rule refuses exactly what labelKeyError refuses', { timeout: 30_000 }, () => {
  const keys = ['app', 'app.kubernetes.io/name', 'a', 'A_b.c-D', 'example.com/x', `${'a'.repeat(63)}`, `${'a'.repeat(64)}`, '-app', 'app-', 'Example.com/x', 'a/b/c', '/x', 'x/', `${'a.'.repeat(126)}a/x`, `${'a.'.repeat(127)}a/x`, 'has space', 'ünï'];
  let refused = 0;
  for (const k of keys) {
    const cel = celIssues(fos({ clientSelector: { [k]: 'v' } }));
    const expected = labelKeyError(k) !== undefined;
    assert.equal(cel.length > 0, expected, `${JSON.stringify(k)}: CEL ${JSON.stringify(cel)} vs values.ts ${labelKeyError(k) ?? 'ok'}`);
    if (expected) refused++;
  }
  assert.ok(refused >= 5 && refused < keys.length, 'both outcomes occur');
});
