import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { validate, prune, applyDefaults, formatIssue } from '../../src/schema/structural.ts';
import type { JSONSchemaProps, SchemaIssue } from '../../src/schema/structural.ts';

const lines = (issues: SchemaIssue[]): string[] => issues.map(formatIssue);
const ok = (schema: JSONSchemaProps, value: unknown, msg?: string): void =>
  assert.deepEqual(lines(validate(schema, value)), [], msg);
/** Exactly one issue, with this keyword and path. */
const bad = (schema: JSONSchemaProps, value: unknown, keyword: string, path = ''): SchemaIssue => {
  const issues = validate(schema, value);
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues)}`);
  const [issue] = issues as [SchemaIssue];
  assert.equal(issue.keyword, keyword);
  assert.equal(issue.path, path);
  return issue;
};
const obj = (properties: Record<string, JSONSchemaProps>, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'object', properties, ...extra });

describe('type', () => {
  test('each type accepts its values and rejects others', () => {
    ok({ type: 'string' }, 'x');
    bad({ type: 'string' }, 1, 'type');
    ok({ type: 'boolean' }, false);
    bad({ type: 'boolean' }, 'true', 'type');
    ok({ type: 'object' }, {});
    bad({ type: 'object' }, [], 'type');
    ok({ type: 'array' }, []);
    bad({ type: 'array' }, {}, 'type');
    ok({ type: 'number' }, 1.5);
    ok({ type: 'number' }, 2);
    bad({ type: 'number' }, '2', 'type');
  });
  test('integer rejects 1.5 and accepts 2', () => {
    ok({ type: 'integer' }, 2);
    const issue = bad({ type: 'integer' }, 1.5, 'type');
    assert.match(issue.message, /expected integer, got number 1\.5/);
  });
  test('a schema without type accepts anything', () => {
    for (const v of [1, 'a', null, [], {}, true]) ok({}, v);
  });
});

describe('nullable', () => {
  test('null is rejected unless nullable', () => {
    bad({ type: 'string' }, null, 'nullable');
    ok({ type: 'string', nullable: true }, null);
    bad(obj({ a: { type: 'integer' } }), { a: null }, 'nullable', 'a');
    ok(obj({ a: { type: 'integer', nullable: true } }), { a: null });
  });
});

describe('x-kubernetes-int-or-string', () => {
  const s: JSONSchemaProps = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
  test('accepts integers and strings only', () => {
    ok(s, 8080);
    ok(s, '50%');
    bad(s, 1.5, 'type');
    bad(s, true, 'type');
    bad(s, null, 'nullable');
    ok({ 'x-kubernetes-int-or-string': true }, 'x');
  });
});

describe('objects', () => {
  const s = obj({ name: { type: 'string' }, port: obj({ number: { type: 'integer' } }) }, { required: ['name'] });
  test('unknown fields are errors with the full path', () => {
    const issue = bad(s, { name: 'a', port: { numbr: 1 } }, 'unknown', 'port.numbr');
    assert.equal(formatIssue(issue), 'port.numbr: unknown field');
  });
  test('unknown fields pass when closed is false', () => {
    assert.deepEqual(validate(s, { name: 'a', extra: 1, port: { numbr: 1 } }, { closed: false }), []);
  });
  test('required', () => {
    const issue = bad(s, { port: {} }, 'required', 'name');
    assert.match(issue.message, /required/);
    ok(s, { name: 'x' });
  });
  test('apiVersion, kind and metadata are accepted at the root only', () => {
    ok(s, { apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n' }, name: 'a' });
    bad(s, { name: 'a', port: { kind: 'K' } }, 'unknown', 'port.kind');
    bad(s, { name: 'a', metadata: 'n' }, 'type', 'metadata');
  });
  test('declared metadata is validated by its schema', () => {
    const m = obj({ metadata: obj({ name: { type: 'string', maxLength: 3 } }) });
    bad(m, { metadata: { name: 'long' } }, 'maxLength', 'metadata.name');
  });
  test('embedded resources accept apiVersion/kind/metadata', () => {
    const e = obj({ template: obj({ spec: { type: 'object' } }, { 'x-kubernetes-embedded-resource': true }) });
    ok(e, { template: { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: {} } });
    bad(e, { template: { other: 1 } }, 'unknown', 'template.other');
  });
  test('additionalProperties as a schema makes a map', () => {
    const m = obj({ ports: { type: 'object', additionalProperties: { type: 'integer', maximum: 65535 } } });
    ok(m, { ports: { http: 80, 'grpc-web': 8080 } });
    bad(m, { ports: { http: 'x' } }, 'type', 'ports.http');
    bad(m, { ports: { 'a.b/c': 70000 } }, 'maximum', 'ports["a.b/c"]');
  });
  test('additionalProperties false closes even an open validation', () => {
    const m: JSONSchemaProps = { type: 'object', properties: { a: {} }, additionalProperties: false };
    assert.equal(validate(m, { b: 1 }, { closed: false }).length, 1);
  });
  test('additionalProperties true keeps any key', () => {
    ok({ type: 'object', additionalProperties: true }, { anything: { goes: 1 } });
  });
  test('preserve-unknown-fields anywhere, including inside additionalProperties and items', () => {
    const p = obj({
      open: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { n: { type: 'integer' } } },
      map: { type: 'object', additionalProperties: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      list: { type: 'array', items: { 'x-kubernetes-preserve-unknown-fields': true } },
    });
    ok(p, { open: { n: 1, x: { y: 2 } }, map: { a: { anything: [1, 2] } }, list: [1, 'a', { b: 2 }] });
    bad(p, { open: { n: 'x' } }, 'type', 'open.n'); // declared fields are still checked
  });
  test('preserve-unknown-fields does not open declared children', () => {
    const p = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { c: obj({ a: { type: 'string' } }) } } as JSONSchemaProps;
    bad(p, { c: { b: 1 } }, 'unknown', 'c.b');
  });
  test('minProperties / maxProperties', () => {
    const m: JSONSchemaProps = { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1, maxProperties: 2 };
    ok(m, { a: 'x' });
    bad(m, {}, 'minProperties');
    bad(m, { a: '', b: '', c: '' }, 'maxProperties');
  });
});

describe('scalars', () => {
  test('enum', () => {
    const e: JSONSchemaProps = { type: 'string', enum: ['NONE', 'STATIC', 'DNS'] };
    ok(e, 'DNS');
    const issue = bad(e, 'DNSS', 'enum');
    assert.match(issue.message, /unsupported value "DNSS": expected one of "NONE", "STATIC", "DNS"/);
    ok({ enum: [{ a: 1 }, 2] }, { a: 1 });
    bad({ enum: [{ a: 1 }, 2] }, { a: 2 }, 'enum');
  });
  test('minimum / maximum, inclusive and exclusive', () => {
    ok({ type: 'integer', minimum: 1, maximum: 10 }, 1);
    ok({ type: 'integer', minimum: 1, maximum: 10 }, 10);
    bad({ type: 'integer', minimum: 1 }, 0, 'minimum');
    bad({ type: 'integer', maximum: 10 }, 11, 'maximum');
    bad({ type: 'integer', minimum: 1, exclusiveMinimum: true }, 1, 'minimum');
    bad({ type: 'integer', maximum: 10, exclusiveMaximum: true }, 10, 'maximum');
    ok({ type: 'number', multipleOf: 0.5 }, 1.5);
    bad({ type: 'number', multipleOf: 0.5 }, 1.2, 'multipleOf');
  });
  test('minLength / maxLength count code points', () => {
    ok({ type: 'string', maxLength: 2 }, '😀😀');
    bad({ type: 'string', maxLength: 2 }, 'abc', 'maxLength');
    bad({ type: 'string', minLength: 2 }, '😀', 'minLength');
    ok({ type: 'string', minLength: 2 }, 'ab');
  });
  test('pattern is searched, not anchored', () => {
    ok({ type: 'string', pattern: '^[a-z]+$' }, 'abc');
    bad({ type: 'string', pattern: '^[a-z]+$' }, 'aBc', 'pattern');
    ok({ type: 'string', pattern: 'b' }, 'abc');
  });
  test('format int32 / int64', () => {
    ok({ type: 'integer', format: 'int32' }, 2147483647);
    bad({ type: 'integer', format: 'int32' }, 2147483648, 'format');
    ok({ type: 'integer', format: 'int64' }, 2 ** 40);
  });
  test('string formats', () => {
    const cases: [string, string, string][] = [
      ['date-time', '2024-02-29T10:00:00Z', '2023-02-29T10:00:00Z'],
      ['date-time', '2024-01-01T10:00:00.5+02:00', '2024-01-01 25:00'],
      ['date', '2024-12-31', '2024-13-01'],
      ['byte', 'aGVsbG8=', 'not base64!'],
      ['uuid', '123e4567-e89b-12d3-a456-426614174000', '123e4567'],
      ['ipv4', '10.0.0.1', '10.0.0.256'],
      ['ipv6', '2001:db8::1', '2001:db8:::1'],
      ['ipv6', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8:9'],
      ['cidr', '240.0.0.0/4', '240.0.0.0/33'],
      ['cidr', 'fd00::/8', 'fd00::'],
      ['mac', '00:1a:2b:3c:4d:5e', '00:1a:2b'],
      ['hostname', 'reviews.default.svc.cluster.local', 'under_score'],
    ];
    for (const [format, good, wrong] of cases) {
      ok({ type: 'string', format }, good, `${format} ${good}`);
      bad({ type: 'string', format }, wrong, 'format');
    }
  });
  test('unknown formats are ignored', () => {
    ok({ type: 'string', format: 'no-such-format' }, 'anything');
    ok({ type: 'number', format: 'double' }, 1.5);
  });
});

describe('arrays', () => {
  test('items, minItems, maxItems', () => {
    const a: JSONSchemaProps = { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 };
    ok(a, ['a']);
    bad(a, [], 'minItems');
    bad(a, ['a', 'b', 'c'], 'maxItems');
    bad(a, ['a', 2], 'type', '[1]');
  });
  test('uniqueItems and list-type set', () => {
    bad({ type: 'array', uniqueItems: true }, [1, { a: 1 }, { a: 1 }], 'uniqueItems', '[2]');
    ok({ type: 'array', uniqueItems: true }, [{ a: 1 }, { a: 2 }]);
    bad({ type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' }, ['a', 'a'], 'x-kubernetes-list-type', '[1]');
  });
  test('list-type map rejects duplicate keys', () => {
    const a: JSONSchemaProps = {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: obj({ name: { type: 'string' }, v: { type: 'integer' } }),
    };
    ok(a, [{ name: 'a', v: 1 }, { name: 'b', v: 1 }]);
    bad(a, [{ name: 'a', v: 1 }, { name: 'a', v: 2 }], 'x-kubernetes-list-map-keys', '[1]');
  });
  test('paths through arrays and objects', () => {
    const s = obj({ spec: obj({ ports: { type: 'array', items: obj({ number: { type: 'integer' } }) } }) });
    const issue = bad(s, { spec: { ports: [{ number: 1 }, { number: 'x' }] } }, 'type', 'spec.ports[1].number');
    assert.equal(formatIssue(issue), 'spec.ports[1].number: expected integer, got string "x"');
  });
});

describe('junctors', () => {
  // Istio's idiom for "at most one of simple, consistentHash"
  const exclusive: JSONSchemaProps = {
    type: 'object',
    properties: { simple: { type: 'string' }, consistentHash: { type: 'object' }, other: { type: 'string' } },
    oneOf: [
      { not: { anyOf: [{ required: ['simple'] }, { required: ['consistentHash'] }] } },
      { required: ['simple'] },
      { required: ['consistentHash'] },
    ],
  };
  test('oneOf with required lists: none or one field passes, both fail with a clear message', () => {
    ok(exclusive, {});
    ok(exclusive, { other: 'x' });
    ok(exclusive, { simple: 'ROUND_ROBIN' });
    ok(exclusive, { consistentHash: {} });
    const issue = bad(exclusive, { simple: 'ROUND_ROBIN', consistentHash: {} }, 'oneOf');
    assert.equal(issue.message, 'at most one of simple, consistentHash may be set (found simple, consistentHash)');
  });
  test('junctor branches are evaluated open: no unknown-field errors from them', () => {
    ok(exclusive, { simple: 'x', other: 'y' });
  });
  test('general oneOf counts matches', () => {
    const s: JSONSchemaProps = { oneOf: [{ type: 'integer' }, { type: 'number', minimum: 10 }] };
    ok(s, 5);
    ok(s, 10.5);
    const issue = bad(s, 12, 'oneOf');
    assert.match(issue.message, /matched 2/);
    bad(s, 'x', 'oneOf');
  });
  test('anyOf', () => {
    const s: JSONSchemaProps = { type: 'string', anyOf: [{ pattern: '^a' }, { pattern: 'z$' }] };
    ok(s, 'abc');
    ok(s, 'xyz');
    bad(s, 'mmm', 'anyOf');
  });
  test('allOf reports each failing branch', () => {
    const s: JSONSchemaProps = { type: 'integer', allOf: [{ minimum: 1 }, { maximum: 5 }] };
    ok(s, 3);
    bad(s, 9, 'maximum');
  });
  test('not', () => {
    const s: JSONSchemaProps = { type: 'object', properties: { a: {}, b: {} }, not: { required: ['a', 'b'] } };
    ok(s, { a: 1 });
    bad(s, { a: 1, b: 2 }, 'not');
  });
});

describe('x-kubernetes-validations (CEL)', () => {
  const port: JSONSchemaProps = {
    type: 'integer',
    'x-kubernetes-validations': [{ rule: '0 < self && self <= 65535', message: 'port must be between 1-65535' }],
  };
  test('a failing rule reports its message', () => {
    ok(port, 443);
    const issue = bad(port, 70000, 'x-kubernetes-validations');
    assert.equal(issue.message, 'port must be between 1-65535');
  });
  test('rules see the object, with has() and macros', () => {
    const s: JSONSchemaProps = {
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'string' }, list: { type: 'array', items: obj({ n: { type: 'integer' } }) } },
      'x-kubernetes-validations': [
        { rule: 'has(self.a) != has(self.b)', message: 'exactly one of a, b' },
        { rule: "!has(self.list) || self.list.all(x, self.list.exists_one(y, x.n == y.n))", message: 'n must be unique' },
      ],
    };
    ok(s, { a: 'x', list: [{ n: 1 }, { n: 2 }] });
    bad(s, { a: 'x', b: 'y' }, 'x-kubernetes-validations');
    bad(s, { a: 'x', list: [{ n: 1 }, { n: 1 }] }, 'x-kubernetes-validations');
  });
  test('durations and string extension functions', () => {
    const d: JSONSchemaProps = { type: 'string', 'x-kubernetes-validations': [{ rule: "duration(self) >= duration('1ms')" }] };
    ok(d, '5s');
    assert.match(bad(d, '500us', 'x-kubernetes-validations').message, /failed rule/);
    const sub: JSONSchemaProps = { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.substring(0, 1) == "/"' }] };
    ok(sub, '/x');
    bad(sub, 'x', 'x-kubernetes-validations');
  });
  test('map keys', () => {
    const m: JSONSchemaProps = {
      type: 'object',
      additionalProperties: { type: 'integer' },
      'x-kubernetes-validations': [{ rule: 'self.all(key, 0 < int(key) && int(key) <= 65535)', message: 'keys must be ports' }],
    };
    ok(m, { '8080': 1 });
    bad(m, { '0': 1 }, 'x-kubernetes-validations');
  });
  test('Kubernetes-only functions and transition rules are skipped, not failed', () => {
    ok({ type: 'string', 'x-kubernetes-validations': [{ rule: 'isURL(self)' }] }, 'not a url');
    ok({ type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }] }, 'x');
  });
  test('cel: false skips rules', () => {
    assert.deepEqual(validate(port, 70000, { cel: false }), []);
  });
  test('rules are not run on values that failed their type check', () => {
    bad(port, 'x', 'type');
  });
});

describe('prune', () => {
  const s = obj({
    spec: obj({
      name: { type: 'string' },
      map: { type: 'object', additionalProperties: obj({ keep: { type: 'string' } }) },
      list: { type: 'array', items: obj({ a: { type: 'integer' } }) },
      raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    }),
  });
  test('drops undeclared fields at every level and reports their paths', () => {
    const input = {
      apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n' }, extra: 1,
      spec: { name: 'a', nmae: 'typo', map: { k: { keep: 'y', drop: 1 } }, list: [{ a: 1, b: 2 }], raw: { any: { thing: [1] } }, nil: null },
    };
    const snapshot = structuredClone(input);
    const { value, pruned } = prune(s, input);
    assert.deepEqual(value, {
      apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n' },
      spec: { name: 'a', map: { k: { keep: 'y' } }, list: [{ a: 1 }], raw: { any: { thing: [1] } } },
    });
    assert.deepEqual(pruned.sort(), ['extra', 'spec.list[0].b', 'spec.map.k.drop', 'spec.nil', 'spec.nmae']);
    assert.deepEqual(input, snapshot, 'input not mutated');
  });
  test('the result shares nothing with the input', () => {
    const input = { spec: { raw: { a: { b: 1 } } } };
    const { value } = prune(s, input) as { value: { spec: { raw: { a: { b: number } } } } };
    value.spec.raw.a.b = 2;
    assert.equal(input.spec.raw.a.b, 1);
  });
  test('nothing pruned for a valid object', () => {
    assert.deepEqual(prune(s, { spec: { name: 'a' } }).pruned, []);
  });
});

describe('applyDefaults', () => {
  const s = obj({
    spec: obj({
      replicas: { type: 'integer', default: 1 },
      mode: { type: 'string', default: 'A' },
      opt: { type: 'string', nullable: true, default: 'D' },
      nested: obj({ inner: { type: 'string', default: 'i' } }, { default: {} }),
      list: { type: 'array', items: obj({ p: { type: 'integer', default: 80 } }) },
      map: { type: 'object', additionalProperties: obj({ w: { type: 'integer', default: 5 } }) },
      gone: { type: 'string' },
    }),
  });
  test('fills absent fields, recursing into defaults, lists and maps; never mutates input', () => {
    const input = { spec: { mode: 'B', list: [{}, { p: 1 }], map: { a: {} } } };
    const snapshot = structuredClone(input);
    assert.deepEqual(applyDefaults(s, input), {
      spec: { replicas: 1, mode: 'B', opt: 'D', nested: { inner: 'i' }, list: [{ p: 80 }, { p: 1 }], map: { a: { w: 5 } } },
    });
    assert.deepEqual(input, snapshot);
  });
  test('null: defaulted when not nullable, kept when nullable, dropped without a default', () => {
    assert.deepEqual(applyDefaults(s, { spec: { replicas: null, opt: null, gone: null } }), {
      spec: { replicas: 1, mode: 'A', opt: null, nested: { inner: 'i' } },
    });
  });
  test('objects without a spec get no defaults for it', () => {
    assert.deepEqual(applyDefaults(s, { metadata: { name: 'x' } }), { metadata: { name: 'x' } });
  });
  test('defaults are deep copies', () => {
    const d: JSONSchemaProps = obj({ a: obj({}, { default: { x: 1 }, 'x-kubernetes-preserve-unknown-fields': true }) });
    const one = applyDefaults(d, {}) as { a: { x: number } };
    one.a.x = 2;
    assert.deepEqual(applyDefaults(d, {}), { a: { x: 1 } });
  });
});
