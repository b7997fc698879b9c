// Strict checks of Envoy JSON against Envoy's own API protos.
//
// istiod parses an EnvoyFilter patch `value` leniently and drops unknown fields without an error, so the
// tests parse every value Spillway emits with @bufbuild/protobuf's proto3-JSON parser, which rejects
// unknown fields, unknown enum names, malformed well-known types (Duration "1 s") and `Any` values whose
// `@type` is not in the registry; `Any` contents are themselves parsed strictly. On top of that the
// protoc-gen-validate rules that Envoy enforces at load time are checked (a subset: see
// ./envoy-proto/validate-rules.ts), and TypedStruct payloads are checked against the type they stand for.
//
// The descriptors come from scripts/build-envoy-descriptors.mjs (buf, cached under .tmp/); the first use
// in a process builds or loads them synchronously.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createFileRegistry, fromBinary, fromJson, toJson } from '@bufbuild/protobuf';
import type { DescMessage, FileRegistry, JsonValue, Message } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { checkValidateRules, typedStructTarget } from './envoy-proto/validate-rules.ts';

export type EnvoyParseResult = { ok: true; message: Message } | { ok: false; error: string };

export interface EnvoyParseOptions {
  /**
   * Check Envoy's protoc-gen-validate rules (required fields, min_items, defined enums, duration > 0 ...)
   * and TypedStruct payloads after the strict JSON parse. Default true.
   */
  validateRules?: boolean;
}

export const CLUSTER_TYPE = 'envoy.config.cluster.v3.Cluster';
export const AGGREGATE_CLUSTER_CONFIG_TYPE = 'envoy.extensions.clusters.aggregate.v3.ClusterConfig';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let registry: FileRegistry | undefined;

type BuildFn = (options?: { force?: boolean }) => string;
let build: BuildFn | undefined;

/** Path of the descriptor set (built on first call if not cached). */
export function envoyDescriptorSetPath(): string {
  if (!build) throw new Error('scripts/build-envoy-descriptors.mjs does not export buildEnvoyDescriptors');
  return build();
}

// The build script is plain JavaScript (runnable without tsx); load its builder in-process so a cached
// descriptor set costs no extra process. The specifier is computed, so TypeScript types it as unknown.
{
  const script = pathToFileURL(join(repoRoot, 'scripts', 'build-envoy-descriptors.mjs')).href;
  const mod: unknown = await import(script);
  const fn: unknown = mod !== null && typeof mod === 'object' ? Reflect.get(mod, 'buildEnvoyDescriptors') : undefined;
  if (typeof fn === 'function') build = (options) => String(fn(options));
}

/** The registry of every message in the descriptor set; loaded once per process. */
export function envoyRegistry(): FileRegistry {
  if (!registry) {
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(envoyDescriptorSetPath()));
    registry = createFileRegistry(set);
  }
  return registry;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Returns why `value` is not plain JSON data, or undefined when it is. */
function notJson(value: unknown, path: string): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path}: ${value} is not a JSON number`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const why = notJson(value[i], `${path}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return `${path}: not a plain JSON object`;
    for (const [k, v] of Object.entries(value)) {
      const why = notJson(v, `${path}.${k}`);
      if (why) return why;
    }
    return undefined;
  }
  return `${path}: ${typeof value} is not JSON`;
}

function isJsonValue(value: unknown): value is JsonValue {
  return notJson(value, '$') === undefined;
}

function parseWith(desc: DescMessage, json: unknown, options: EnvoyParseOptions): EnvoyParseResult {
  if (!isJsonValue(json)) return { ok: false, error: `input is not JSON data: ${notJson(json, '$') ?? ''}` };
  const reg = envoyRegistry();
  let message: Message;
  try {
    message = fromJson(desc, json, { registry: reg, ignoreUnknownFields: false });
  } catch (e) {
    return { ok: false, error: describe(e) };
  }
  if (options.validateRules ?? true) {
    const problems = checkValidateRules(reg, desc, message, (typeName, payload) => parseEnvoyMessage(typeName, payload, options));
    if (problems.length > 0) return { ok: false, error: problems.join('; ') };
  }
  return { ok: true, message };
}

/**
 * Parses `json` strictly as the Envoy (or any registered) message `typeName`, e.g.
 * 'envoy.extensions.clusters.aggregate.v3.ClusterConfig'. A leading 'type.googleapis.com/' is accepted.
 */
export function parseEnvoyMessage(typeName: string, json: unknown, options: EnvoyParseOptions = {}): EnvoyParseResult {
  const name = typeName.replace(/^type\.googleapis\.com\//, '');
  const desc = envoyRegistry().getMessage(name);
  if (!desc) return { ok: false, error: `message type ${name} is not in the Envoy descriptor set` };
  return parseWith(desc, json, options);
}

/** Parses `json` strictly as an `envoy.config.cluster.v3.Cluster` (what an EnvoyFilter CLUSTER ADD carries). */
export function parseEnvoyCluster(json: unknown, options: EnvoyParseOptions = {}): EnvoyParseResult {
  return parseEnvoyMessage(CLUSTER_TYPE, json, options);
}

/**
 * Checks the payload of a TypedStruct (`udpa.type.v1.TypedStruct` or `xds.type.v3.TypedStruct`, given as
 * its JSON, with or without `@type`) against the message its `type_url` names. Retired v2 type URLs that
 * have a field-compatible v3 successor are mapped to it (the aggregate cluster's
 * `envoy.config.cluster.aggregate.v2alpha.ClusterConfig` becomes the v3 ClusterConfig).
 */
export function checkTypedStructPayload(json: unknown): EnvoyParseResult {
  if (!isJsonValue(json) || json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, error: 'a TypedStruct must be a JSON object' };
  }
  const { '@type': atType, ...rest } = json;
  const typeName = typeof atType === 'string' ? atType.replace(/^type\.googleapis\.com\//, '') : 'udpa.type.v1.TypedStruct';
  if (typeName !== 'udpa.type.v1.TypedStruct' && typeName !== 'xds.type.v3.TypedStruct') {
    return { ok: false, error: `${typeName} is not a TypedStruct` };
  }
  const outer = parseEnvoyMessage(typeName, rest, { validateRules: false });
  if (!outer.ok) return outer;
  const desc = envoyRegistry().getMessage(typeName);
  const plain = desc ? toJson(desc, outer.message) : null;
  const typeUrl = plain && typeof plain === 'object' && !Array.isArray(plain) ? plain['typeUrl'] : undefined;
  if (typeof typeUrl !== 'string' || typeUrl === '') return { ok: false, error: `${typeName}: type_url is empty` };
  const target = typedStructTarget(envoyRegistry(), typeUrl);
  if (!target) return { ok: false, error: `${typeName}: type_url ${typeUrl} names no known message` };
  const value = plain && typeof plain === 'object' && !Array.isArray(plain) ? (plain['value'] ?? {}) : {};
  const inner = parseEnvoyMessage(target, value);
  return inner.ok ? inner : { ok: false, error: `${typeName} payload (${typeUrl} checked as ${target}): ${inner.error}` };
}
