import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue, prune } from '../../src/schema/structural.ts';
import type { SchemaIssue } from '../../src/schema/structural.ts';
import { istioSchemaFor, istioServedKinds, validateIstioObject } from '../support/istio-crds.ts';
import { destinationRule, envoyFilter, gateway, serviceEntry, virtualService } from './istio-fixtures.ts';

type Obj = Record<string, unknown>;
const lines = (issues: SchemaIssue[]): string[] => issues.map(formatIssue);
/** Navigate to a nested object (through arrays by index) to edit a fixture. */
function at(o: Obj, ...path: (string | number)[]): Obj {
  let cur: unknown = o;
  for (const p of path) cur = (cur as Record<string | number, unknown>)[p];
  return cur as Obj;
}

const NET = 'networking.istio.io';
const fixtures = { DestinationRule: destinationRule, ServiceEntry: serviceEntry, Gateway: gateway, VirtualService: virtualService };

describe('the bundle', () => {
  test('serves v1, v1beta1 and v1alpha3 for the networking kinds Spillway renders; EnvoyFilter only v1alpha3', () => {
    const served = istioServedKinds();
    const versionsOf = (kind: string): string[] => served.filter((s) => s.kind === kind && s.apiVersion.startsWith(NET + '/')).map((s) => s.apiVersion.slice(NET.length + 1)).sort();
    for (const kind of Object.keys(fixtures)) assert.deepEqual(versionsOf(kind), ['v1', 'v1alpha3', 'v1beta1'], kind);
    assert.deepEqual(versionsOf('EnvoyFilter'), ['v1alpha3']);
  });
  test('unknown apiVersion or kind is an issue', () => {
    assert.equal(istioSchemaFor(`${NET}/v1`, 'EnvoyFilter'), undefined);
    const issues = validateIstioObject(envoyFilter(`${NET}/v1`));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.keyword, 'apiVersion');
    assert.equal(validateIstioObject({ ...destinationRule(), kind: 'DestinationRules' }).length, 1);
    assert.equal(validateIstioObject('not an object').length, 1);
    assert.equal(validateIstioObject({ kind: 'Gateway' }).length, 1);
  });
});

describe('valid objects pass in every served version', () => {
  for (const [kind, make] of Object.entries(fixtures)) {
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      test(`${kind} ${v}`, () => assert.deepEqual(lines(validateIstioObject(make(`${NET}/${v}`))), []));
    }
  }
  test('EnvoyFilter v1alpha3', () => assert.deepEqual(lines(validateIstioObject(envoyFilter())), []));
});

describe('mistakes an API server would prune silently are caught', () => {
  test('misspelled outlierDetection field, with the full path', () => {
    const dr = destinationRule();
    const od = at(dr, 'spec', 'trafficPolicy', 'outlierDetection');
    od.consecutive5xxErrorz = od.consecutive5xxErrors;
    delete od.consecutive5xxErrors;
    assert.deepEqual(lines(validateIstioObject(dr)), ['spec.trafficPolicy.outlierDetection.consecutive5xxErrorz: unknown field']);
    // ...and this is exactly what pruning would drop without a word
    const schema = istioSchemaFor(`${NET}/v1`, 'DestinationRule');
    assert.ok(schema);
    assert.deepEqual(prune(schema, dr).pruned, ['spec.trafficPolicy.outlierDetection.consecutive5xxErrorz']);
  });
  test('misspelled fields in the other kinds', () => {
    const se = serviceEntry();
    at(se, 'spec', 'endpoints', 0).netwrok = 'east';
    assert.deepEqual(lines(validateIstioObject(se)), ['spec.endpoints[0].netwrok: unknown field']);
    const gw = gateway(`${NET}/v1beta1`);
    at(gw, 'spec', 'servers', 0, 'tls').modes = 'ISTIO_MUTUAL';
    assert.deepEqual(lines(validateIstioObject(gw)), ['spec.servers[0].tls.modes: unknown field']);
    const vs = virtualService(`${NET}/v1alpha3`);
    at(vs, 'spec', 'http', 0).retry = {};
    assert.deepEqual(lines(validateIstioObject(vs)), ['spec.http[0].retry: unknown field']);
    const ef = envoyFilter();
    at(ef, 'spec', 'configPatches', 0, 'match').clusters = {};
    assert.deepEqual(lines(validateIstioObject(ef)), ['spec.configPatches[0].match.clusters: unknown field']);
  });
  test('ServiceEntry resolution: DNSS is not in the enum', () => {
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      const se = serviceEntry(`${NET}/${v}`);
      at(se, 'spec').resolution = 'DNSS';
      const issues = validateIstioObject(se);
      assert.equal(issues.length, 1, JSON.stringify(issues));
      assert.equal(issues[0]?.keyword, 'enum');
      assert.equal(issues[0]?.path, 'spec.resolution');
      assert.match(issues[0]?.message ?? '', /"DNSS"/);
    }
  });
  test('wrong types: a string port number, a fractional ejection percent', () => {
    const se = serviceEntry();
    at(se, 'spec', 'ports', 0).number = '9080';
    assert.deepEqual(validateIstioObject(se).map((i) => [i.path, i.keyword]), [['spec.ports[0].number', 'type']]);
    const dr = destinationRule();
    at(dr, 'spec', 'trafficPolicy', 'outlierDetection').consecutive5xxErrors = 2.5;
    assert.deepEqual(validateIstioObject(dr).map((i) => i.path), ['spec.trafficPolicy.outlierDetection.consecutive5xxErrors']);
  });
  test('mutually exclusive fields (oneOf with required lists)', () => {
    const dr = destinationRule();
    at(dr, 'spec', 'trafficPolicy', 'loadBalancer').consistentHash = { useSourceIp: true };
    const issues = validateIstioObject(dr);
    assert.deepEqual(issues.map((i) => [i.path, i.keyword]), [['spec.trafficPolicy.loadBalancer', 'oneOf']]);
    assert.match(issues[0]?.message ?? '', /simple, consistentHash/);
  });
  test('CEL rules of the bundle: port range, minimum duration, resolution NONE with endpoints', () => {
    const se = serviceEntry();
    at(se, 'spec', 'ports', 0).number = 0;
    assert.deepEqual(validateIstioObject(se).map((i) => [i.path, i.keyword]), [['spec.ports[0].number', 'x-kubernetes-validations']]);

    const dr = destinationRule();
    at(dr, 'spec', 'trafficPolicy', 'outlierDetection').interval = '0.5ms';
    assert.deepEqual(validateIstioObject(dr).map((i) => [i.path, i.keyword]), [['spec.trafficPolicy.outlierDetection.interval', 'x-kubernetes-validations']]);

    const none = serviceEntry();
    at(none, 'spec').resolution = 'NONE';
    assert.deepEqual(validateIstioObject(none).map((i) => [i.path, i.keyword]), [['spec', 'x-kubernetes-validations']]);

    const dup = serviceEntry();
    (at(dup, 'spec').ports as unknown[]).push({ number: 9080, name: 'http2', protocol: 'HTTP2' });
    assert.deepEqual(validateIstioObject(dup).map((i) => i.path), ['spec.ports']);
  });
  test('EnvoyFilter: one match target only; workloadSelector and targetRefs exclude each other', () => {
    const ef = envoyFilter();
    at(ef, 'spec', 'configPatches', 0, 'match').listener = { portNumber: 9080 };
    const issues = validateIstioObject(ef);
    assert.deepEqual(issues.map((i) => [i.path, i.keyword]), [['spec.configPatches[0].match', 'oneOf']]);
    assert.match(issues[0]?.message ?? '', /at most one of listener, routeConfiguration, cluster, waypoint may be set \(found listener, cluster\)/);

    const both = envoyFilter();
    at(both, 'spec').targetRefs = [{ kind: 'Service', group: '', name: 'reviews' }];
    assert.deepEqual(validateIstioObject(both).map((i) => [i.path, i.keyword]), [['spec', 'x-kubernetes-validations']]);
  });
});

describe('open places stay open', () => {
  test('EnvoyFilter patch.value preserves unknown fields: any Envoy config passes', () => {
    const ef = envoyFilter();
    const value = at(ef, 'spec', 'configPatches', 1, 'patch', 'value');
    value.anything_at_all = { deeply: [{ nested: true }, 1, 'x', null] };
    value.lb_polcy = 'typo: istiod would drop this at runtime; the CRD cannot tell';
    assert.deepEqual(lines(validateIstioObject(ef)), []);
  });
  test('seed-style ServiceEntry endpoint ports: a map of port name to number', () => {
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      const se = serviceEntry(`${NET}/${v}`);
      at(se, 'spec', 'endpoints', 0).ports = { http: 15443, 'grpc-web': 15443, tcp: 31400 };
      assert.deepEqual(lines(validateIstioObject(se)), [], v);
      at(se, 'spec', 'endpoints', 0).ports = { http: 'fifteen' };
      assert.deepEqual(validateIstioObject(se).map((i) => i.path), ['spec.endpoints[0].ports.http']);
    }
  });
  test('metadata, labels and annotations at the root are not checked against the spec schema', () => {
    const gw = gateway();
    at(gw, 'metadata').annotations = { 'spillway.dev/owner': 'reviews' };
    assert.deepEqual(lines(validateIstioObject(gw)), []);
  });
});
