/**
 * Strict proto3-JSON -> binary encoding of the Envoy API messages the xDS harness serves.
 *
 * Why strict: the aggregate cluster is taken verbatim from Spillway's EnvoyFilter patch. A lenient
 * encoder (protobufjs `fromObject`) would drop a misspelled field and the test would pass on config
 * Envoy/istiod would also silently mangle. `@bufbuild/protobuf` `fromJson` rejects unknown fields,
 * bad enum names and unresolvable `@type`s, so whatever the gRPC client receives is exactly what the
 * JSON says.
 *
 * The descriptor set is compiled by the `buf` binary (devDependency @bufbuild/buf) from the .proto
 * files @grpc/grpc-js-xds ships under deps/, cached under .tmp/xds-descriptors/. It is a superset of
 * scripts/build-envoy-descriptors.mjs's set: the harness also needs the HTTP connection manager, the
 * router filter and the load-balancing policy extensions. Same validate.proto patch (the shipped copy
 * lacks StringRules.ignore_empty = 26, which newer Envoy protos use).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileRegistry, fromBinary, fromJson, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, FileRegistry, JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const require = createRequire(join(repoRoot, 'package.json'));

/** Root .proto files (module-relative), each compiled with everything it imports. */
const ROOT_FILES = [
  'envoy-api/envoy/config/cluster/v3/cluster.proto',
  'envoy-api/envoy/config/endpoint/v3/endpoint.proto',
  'envoy-api/envoy/config/listener/v3/listener.proto',
  'envoy-api/envoy/config/route/v3/route.proto',
  'envoy-api/envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy-api/envoy/extensions/filters/http/router/v3/router.proto',
  'envoy-api/envoy/extensions/load_balancing_policies/cluster_provided/v3/cluster_provided.proto',
  'envoy-api/envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy-api/envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'xds/udpa/type/v1/typed_struct.proto',
  'xds/xds/type/v3/typed_struct.proto',
];

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

function packageVersion(dir: string): string {
  const pkg: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  throw new Error(`no version in ${dir}/package.json`);
}

function patchValidateProto(source: string): string {
  const start = source.indexOf('message StringRules {');
  if (start < 0) throw new Error('validate.proto: message StringRules not found');
  const end = source.indexOf('\n}', start);
  if (/\bignore_empty\s*=\s*26\b/.test(source.slice(start, end))) return source;
  return `${source.slice(0, end)}\n  optional bool ignore_empty = 26;${source.slice(end)}`;
}

/** Compiles (or reuses) the descriptor set; returns its path. Synchronous: called once per process. */
function buildDescriptorSet(): string {
  const xdsDir = packageDir('@grpc/grpc-js-xds');
  const bufDir = packageDir('@bufbuild/buf');
  const depsDir = join(xdsDir, 'deps');
  const validateSource = readFileSync(join(depsDir, 'protoc-gen-validate/validate/validate.proto'), 'utf8');
  const key = createHash('sha256')
    .update(`grpc-js-xds ${packageVersion(xdsDir)} buf ${packageVersion(bufDir)}\n${ROOT_FILES.join('\n')}\n`)
    .update(validateSource)
    .digest('hex')
    .slice(0, 12);
  const cacheDir = join(repoRoot, '.tmp', 'xds-descriptors');
  const output = join(cacheDir, `xds-${key}.binpb`);
  if (existsSync(output)) return output;

  const ws = join(cacheDir, `ws-${process.pid}-${Date.now()}`);
  mkdirSync(join(ws, 'pgv', 'validate'), { recursive: true });
  try {
    for (const m of ['envoy-api', 'xds', 'googleapis']) symlinkSync(join(depsDir, m), join(ws, m), 'dir');
    writeFileSync(join(ws, 'pgv', 'validate', 'validate.proto'), patchValidateProto(validateSource));
    writeFileSync(
      join(ws, 'buf.yaml'),
      ['version: v2', 'modules:', '  - path: envoy-api', '  - path: xds', '  - path: googleapis', '  - path: pgv', ''].join('\n'),
    );
    const tmpOut = join(ws, 'out.binpb');
    const args = [join(bufDir, 'bin', 'buf'), 'build', '--exclude-source-info', '-o', tmpOut];
    for (const f of ROOT_FILES) args.push('--path', f);
    const r = spawnSync(process.execPath, args, {
      cwd: ws,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, BUF_CACHE_DIR: join(cacheDir, 'buf-cache') },
    });
    if (r.status !== 0) throw new Error(`buf build failed (${r.error ? String(r.error) : `exit ${r.status}`}):\n${r.stderr}${r.stdout}`);
    renameSync(tmpOut, output); // atomic: concurrent test processes may race to build
    return output;
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

let cached: FileRegistry | undefined;

/** The registry of every Envoy/xDS message the harness encodes (built on first use). */
export function envoyRegistry(): FileRegistry {
  if (!cached) {
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(buildDescriptorSet()));
    cached = createFileRegistry(set);
  }
  return cached;
}

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
