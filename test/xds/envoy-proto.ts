/**
 * Strict proto3-JSON -> binary encoding of the Envoy API messages the xDS harness serves.
 *
 * Why strict: the aggregate cluster is taken verbatim from Spillway's EnvoyFilter patch. A lenient
 * encoder (protobufjs `fromObject`) would drop a misspelled field and the test would pass on config
 * Envoy/istiod would also silently mangle. `@bufbuild/protobuf` `fromJson` rejects unknown fields,
 * bad enum names and unresolvable `@type`s, so whatever the gRPC client receives is exactly what the
 * JSON says.
 *
 * The descriptors are the project's one Envoy descriptor set (scripts/build-envoy-descriptors.mjs, via
 * test/support/envoy-proto.ts), which also covers the HTTP connection manager, the router filter and the
 * load-balancing policy extensions the harness serves.
 */
import { fromJson, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, JsonValue } from '@bufbuild/protobuf';
import { envoyRegistry } from '../support/envoy-proto.ts';

export { envoyRegistry };

function messageDesc(typeName: string): DescMessage {
  const desc = envoyRegistry().getMessage(typeName);
  if (!desc) throw new Error(`message type ${typeName} is not in the harness descriptor set`);
  return desc;
}

/**
 * Encodes proto3 JSON (snake_case or lowerCamel field names, `"1s"` durations, `{"@type": ...}` Anys)
 * as the binary form of `typeName`. Throws on anything proto3 JSON parsing rejects.
 */
export function encodeJson(typeName: string, json: JsonValue): Uint8Array {
  const desc = messageDesc(typeName);
  const msg = fromJson(desc, json, { registry: envoyRegistry() });
  return toBinary(desc, msg);
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';
