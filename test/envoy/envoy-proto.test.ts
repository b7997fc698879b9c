import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJson } from '@bufbuild/protobuf';
import {
  AGGREGATE_CLUSTER_CONFIG_TYPE,
  CLUSTER_TYPE,
  checkTypedStructPayload,
  envoyRegistry,
  parseEnvoyCluster,
  parseEnvoyMessage,
} from '../support/envoy-proto.ts';
import type { EnvoyParseResult } from '../support/envoy-proto.ts';

const LOCAL = 'outbound|9080||reviews.default.svc.cluster.local';
const REMOTE = 'outbound|9080||reviews-remote.default.global';

/** A fresh well-formed aggregate cluster, as Spillway emits it for Istio 1.8+. */
function aggregate(typedConfig: Record<string, unknown> = {
  '@type': `type.googleapis.com/${AGGREGATE_CLUSTER_CONFIG_TYPE}`,
  clusters: [LOCAL, REMOTE],
}): Record<string, unknown> {
  return {
    name: 'outbound|9080||reviews-global.default.global',
    connect_timeout: '1s',
    lb_policy: 'CLUSTER_PROVIDED',
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    cluster_type: { name: 'envoy.clusters.aggregate', typed_config: typedConfig },
  };
}

/** The TypedStruct form Spillway emits for Istio 1.5 to 1.7. */
function legacyTypedStruct(value: Record<string, unknown> = { clusters: [LOCAL, REMOTE] }): Record<string, unknown> {
  return {
    '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
    type_url: 'type.googleapis.com/envoy.config.cluster.aggregate.v2alpha.ClusterConfig',
    value,
  };
}

function errorOf(r: EnvoyParseResult): string {
  assert.equal(r.ok, false, 'expected the parse to fail');
  return r.ok ? '' : r.error;
}

function clusterJson(r: EnvoyParseResult): Record<string, unknown> {
  assert.ok(r.ok, r.ok ? '' : r.error);
  const desc = envoyRegistry().getMessage(CLUSTER_TYPE);
  assert.ok(desc);
  const json = toJson(desc, r.message, { registry: envoyRegistry(), useProtoFieldName: true });
  assert.ok(json !== null && typeof json === 'object' && !Array.isArray(json));
  return json;
}

test('a well-formed aggregate cluster parses, typed config included', () => {
  const json = clusterJson(parseEnvoyCluster(aggregate()));
  assert.equal(json['name'], 'outbound|9080||reviews-global.default.global');
  assert.equal(json['lb_policy'], 'CLUSTER_PROVIDED');
  assert.equal(json['connect_timeout'], '1s');
  assert.deepEqual(json['cluster_type'], {
    name: 'envoy.clusters.aggregate',
    typed_config: { '@type': `type.googleapis.com/${AGGREGATE_CLUSTER_CONFIG_TYPE}`, clusters: [LOCAL, REMOTE] },
  });
});

test('lowerCamel JSON names are accepted too (proto3 JSON)', () => {
  const c = aggregate();
  delete c['connect_timeout'];
  c['connectTimeout'] = '2.5s';
  assert.equal(clusterJson(parseEnvoyCluster(c))['connect_timeout'], '2.500s');
});

test('a misspelled field is rejected and named', () => {
  const c = aggregate();
  delete c['connect_timeout'];
  c['conect_timeout'] = '1s';
  const error = errorOf(parseEnvoyCluster(c));
  assert.match(error, /conect_timeout/);
  assert.match(error, /unknown/);
});

test('an unknown enum name is rejected and named', () => {
  const error = errorOf(parseEnvoyCluster({ ...aggregate(), lb_policy: 'CLUSTER_PROVIDEDD' }));
  assert.match(error, /CLUSTER_PROVIDEDD/);
  assert.match(error, /LbPolicy/);
});

test('a misspelled field inside the typed config is rejected and named', () => {
  const c = aggregate({ '@type': `type.googleapis.com/${AGGREGATE_CLUSTER_CONFIG_TYPE}`, clusterz: [LOCAL] });
  const error = errorOf(parseEnvoyCluster(c));
  assert.match(error, /clusterz/);
  assert.match(error, /aggregate\.v3\.ClusterConfig/);
});

test('an unknown @type is rejected and named', () => {
  const url = 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfigg';
  const error = errorOf(parseEnvoyCluster(aggregate({ '@type': url, clusters: [LOCAL] })));
  assert.match(error, /ClusterConfigg/);
  assert.match(error, /registry/);
});

test('a malformed duration is rejected and named', () => {
  const error = errorOf(parseEnvoyCluster({ ...aggregate(), connect_timeout: '1 s' }));
  assert.match(error, /Duration/);
  assert.match(error, /"1 s"/);
});

test('the legacy TypedStruct form (udpa and xds) parses, and its payload is checked as the v3 ClusterConfig', () => {
  assert.ok(parseEnvoyCluster(aggregate(legacyTypedStruct())).ok);
  const xds = { ...legacyTypedStruct(), '@type': 'type.googleapis.com/xds.type.v3.TypedStruct' };
  assert.ok(parseEnvoyCluster(aggregate(xds)).ok);

  const misspelled = errorOf(parseEnvoyCluster(aggregate(legacyTypedStruct({ clusterz: [LOCAL] }))));
  assert.match(misspelled, /clusterz/);
  assert.match(misspelled, /TypedStruct/);
  assert.match(errorOf(parseEnvoyCluster(aggregate(legacyTypedStruct({ clusters: [] })))), /clusters: needs at least 1/);
  const unknownType = errorOf(parseEnvoyCluster(aggregate({ ...legacyTypedStruct(), type_url: 'type.googleapis.com/no.such.Type' })));
  assert.match(unknownType, /no\.such\.Type/);
  // The wrapper itself is strict as well.
  assert.match(errorOf(parseEnvoyCluster(aggregate({ ...legacyTypedStruct(), typeurl: 'x' }))), /typeurl/);
});

test('checkTypedStructPayload checks a TypedStruct on its own', () => {
  assert.ok(checkTypedStructPayload(legacyTypedStruct()).ok);
  assert.match(errorOf(checkTypedStructPayload(legacyTypedStruct({ clusters: [LOCAL], extra: 1 }))), /extra/);
  assert.match(errorOf(checkTypedStructPayload({ '@type': 'type.googleapis.com/google.protobuf.Struct' })), /not a TypedStruct/);
  assert.match(errorOf(checkTypedStructPayload({ value: {} })), /type_url is empty/);
});

test('Envoy validation rules that a JSON parse cannot see are enforced', () => {
  const emptyList = aggregate({ '@type': `type.googleapis.com/${AGGREGATE_CLUSTER_CONFIG_TYPE}`, clusters: [] });
  assert.match(errorOf(parseEnvoyCluster(emptyList)), /ClusterConfig>\.clusters: needs at least 1 item/);
  // The same value passes when only the JSON shape is checked.
  assert.ok(parseEnvoyCluster(emptyList, { validateRules: false }).ok);

  assert.match(errorOf(parseEnvoyCluster({ ...aggregate(), connect_timeout: '0s' })), /connect_timeout: 0s must be > 0s/);
  assert.match(errorOf(parseEnvoyCluster({ ...aggregate(), lb_policy: 99 })), /lb_policy: 99 is not a defined/);
  assert.match(
    errorOf(parseEnvoyCluster({ ...aggregate(), common_lb_config: { healthy_panic_threshold: { value: 100.5 } } })),
    /healthy_panic_threshold\.value: 100\.5 must be >= 0 and <= 100/,
  );
  assert.match(errorOf(parseEnvoyCluster({ ...aggregate(), name: '' })), /Cluster\.name: must be at least 1 characters/);
  assert.match(
    errorOf(parseEnvoyCluster({ ...aggregate(), outlier_detection: { max_ejection_percent: 101 } })),
    /outlier_detection\.max_ejection_percent: 101 must be <= 100/,
  );
  assert.ok(parseEnvoyCluster({ ...aggregate(), outlier_detection: { consecutive_5xx: 3, base_ejection_time: '30s', max_ejection_percent: 100 } }).ok);
  // String rules with a well-known regex (HeaderValue.key is a header name).
  assert.ok(parseEnvoyMessage('envoy.config.core.v3.HeaderValue', { key: 'x-spillway', value: 'on' }).ok);
  assert.match(errorOf(parseEnvoyMessage('envoy.config.core.v3.HeaderValue', { key: 'x\nspillway' })), /key: must be a valid HTTP header name/);
});

test('parseEnvoyMessage parses other registered types strictly', () => {
  const cla = {
    cluster_name: 'outbound|9080||reviews-remote.default.global',
    endpoints: [{ priority: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '192.0.2.10', port_value: 15443 } } } }] }],
  };
  assert.ok(parseEnvoyMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', cla).ok);
  const bad = { ...cla, endpoints: [{ lb_endpoint: [] }] };
  assert.match(errorOf(parseEnvoyMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', bad)), /lb_endpoint/);
  assert.ok(parseEnvoyMessage(`type.googleapis.com/${AGGREGATE_CLUSTER_CONFIG_TYPE}`, { clusters: [LOCAL] }).ok);
  assert.match(errorOf(parseEnvoyMessage('envoy.config.cluster.v3.Clusterr', {})), /not in the Envoy descriptor set/);
});

test('input that is not JSON data is rejected', () => {
  assert.match(errorOf(parseEnvoyCluster({ ...aggregate(), name: undefined })), /\$\.name: undefined is not JSON/);
  assert.match(errorOf(parseEnvoyCluster({ ...aggregate(), connect_timeout: new Date(0) })), /not a plain JSON object/);
  assert.match(errorOf(parseEnvoyCluster([])), /Cluster/);
});

test('the descriptor set carries the patched validate.proto and the well-known types', () => {
  const rules = envoyRegistry().getMessage('validate.StringRules');
  assert.equal(rules?.fields.find((f) => f.name === 'ignore_empty')?.number, 26);
  for (const wkt of ['google.protobuf.Struct', 'google.protobuf.FieldMask', 'google.protobuf.Timestamp', 'google.protobuf.Empty']) {
    assert.ok(envoyRegistry().getMessage(wkt), wkt);
  }
});
