#!/usr/bin/env node
// Builds a protobuf FileDescriptorSet of the Envoy API types Spillway emits, so tests can parse emitted
// JSON strictly (see test/support/envoy-proto.ts). Sources are the .proto files that @grpc/grpc-js-xds
// ships under deps/; the compiler is the buf binary from @bufbuild/buf. Both are devDependencies, so
// this works offline right after `npm ci`.
//
// The output is cached under .tmp/envoy-descriptors/, keyed by the installed package versions and this
// script's own content; a cached file is reused. Prints the absolute path of the descriptor set.
//
//   node scripts/build-envoy-descriptors.mjs            build if missing, print path
//   node scripts/build-envoy-descriptors.mjs --force    rebuild even if cached
//
// validate.proto: the copy shipped in protoc-gen-validate is older than the Envoy protos and lacks
// StringRules.ignore_empty (field 26), which Envoy's core/v3/protocol.proto uses, so the compiler
// rejects it as is. The build writes a patched copy into its scratch workspace (never a committed copy).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const scriptPath = fileURLToPath(import.meta.url);
const repoRoot = resolve(dirname(scriptPath), '..');
const require = createRequire(join(repoRoot, 'package.json'));

// Files compiled into the set (each with everything it imports). Paths are "<module>/<file in module>".
export const ROOT_FILES = [
  'envoy-api/envoy/config/cluster/v3/cluster.proto',
  'envoy-api/envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy-api/envoy/config/endpoint/v3/endpoint.proto',
  'envoy-api/envoy/config/listener/v3/listener.proto',
  'envoy-api/envoy/config/route/v3/route.proto',
  'envoy-api/envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy-api/envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  // What the xDS data-plane harness serves besides clusters: listeners' HTTP connection manager and router,
  // and the load-balancing policies gRPC needs next to CLUSTER_PROVIDED.
  'envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy-api/envoy/extensions/filters/http/router/v3/router.proto',
  'envoy-api/envoy/extensions/load_balancing_policies/cluster_provided/v3/cluster_provided.proto',
  'envoy-api/envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'xds/udpa/type/v1/typed_struct.proto',
  'xds/xds/type/v3/typed_struct.proto',
  // Well-known types not pulled in by the imports above, so that any of them resolves inside an Any.
  'wkt/spillway_wkt_roots.proto',
];

const WKT_ROOTS = `syntax = "proto3";
package spillway.internal.wkt;
import "google/protobuf/any.proto";
import "google/protobuf/api.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/source_context.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/type.proto";
import "google/protobuf/wrappers.proto";
message Roots {
  google.protobuf.Any any = 1;
  google.protobuf.Api api = 2;
  google.protobuf.Duration duration = 3;
  google.protobuf.Empty empty = 4;
  google.protobuf.FieldMask field_mask = 5;
  google.protobuf.SourceContext source_context = 6;
  google.protobuf.Struct struct = 7;
  google.protobuf.Timestamp timestamp = 8;
  google.protobuf.Type type = 9;
  google.protobuf.BoolValue bool_value = 10;
}
`;

function packageDir(name) {
  return dirname(require.resolve(`${name}/package.json`));
}

function packageVersion(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
}

/** Returns validate.proto with StringRules.ignore_empty added when the installed copy lacks it. */
export function patchValidateProto(source) {
  const start = source.indexOf('message StringRules {');
  if (start < 0) throw new Error('validate.proto: message StringRules not found');
  const end = source.indexOf('\n}', start);
  const body = source.slice(start, end);
  if (/\bignore_empty\s*=\s*26\b/.test(body)) return source;
  if (/=\s*26\s*[;[]/.test(body)) throw new Error('validate.proto: StringRules field 26 is taken by something else');
  return `${source.slice(0, end)}\n  // Added by spillway's build: newer Envoy protos set it.\n  optional bool ignore_empty = 26;${source.slice(end)}`;
}

export function descriptorPaths() {
  const xdsDir = packageDir('@grpc/grpc-js-xds');
  const bufDir = packageDir('@bufbuild/buf');
  const depsDir = join(xdsDir, 'deps');
  const validateSource = readFileSync(join(depsDir, 'protoc-gen-validate/validate/validate.proto'), 'utf8');
  const key = createHash('sha256')
    .update(`grpc-js-xds ${packageVersion(xdsDir)}\nbuf ${packageVersion(bufDir)}\n`)
    .update(readFileSync(scriptPath))
    .update(validateSource)
    .digest('hex')
    .slice(0, 12);
  const cacheDir = join(repoRoot, '.tmp', 'envoy-descriptors');
  const output = join(cacheDir, `envoy-${packageVersion(xdsDir)}-${key}.binpb`);
  return { xdsDir, bufDir, depsDir, validateSource, cacheDir, output };
}

/** Builds the descriptor set unless cached; returns its absolute path. Synchronous on purpose. */
export function buildEnvoyDescriptors({ force = false } = {}) {
  const p = descriptorPaths();
  if (!force && existsSync(p.output)) return p.output;

  // Scratch buf workspace: symlinks to the shipped proto roots plus the patched validate.proto.
  const ws = join(p.cacheDir, `ws-${process.pid}-${Date.now()}`);
  mkdirSync(join(ws, 'pgv', 'validate'), { recursive: true });
  mkdirSync(join(ws, 'wkt'), { recursive: true });
  try {
    symlinkSync(join(p.depsDir, 'envoy-api'), join(ws, 'envoy-api'), 'dir');
    symlinkSync(join(p.depsDir, 'xds'), join(ws, 'xds'), 'dir');
    symlinkSync(join(p.depsDir, 'googleapis'), join(ws, 'googleapis'), 'dir');
    writeFileSync(join(ws, 'pgv', 'validate', 'validate.proto'), patchValidateProto(p.validateSource));
    writeFileSync(join(ws, 'wkt', 'spillway_wkt_roots.proto'), WKT_ROOTS);
    writeFileSync(
      join(ws, 'buf.yaml'),
      ['version: v2', 'modules:', '  - path: envoy-api', '  - path: xds', '  - path: googleapis', '  - path: pgv', '  - path: wkt', ''].join('\n'),
    );
    const tmpOut = join(ws, 'out.binpb');
    const args = [join(p.bufDir, 'bin', 'buf'), 'build', '--exclude-source-info', '-o', tmpOut];
    for (const f of ROOT_FILES) args.push('--path', f);
    const r = spawnSync(process.execPath, args, {
      cwd: ws,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, BUF_CACHE_DIR: join(p.cacheDir, 'buf-cache') },
    });
    if (r.status !== 0) {
      const why = r.error ? String(r.error) : `exit ${r.status ?? r.signal}`;
      throw new Error(`buf build failed (${why}):\n${r.stderr}${r.stdout}`);
    }
    // Atomic publish: concurrent test processes may build at the same time; rename wins cleanly.
    renameSync(tmpOut, p.output);
    return p.output;
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === scriptPath) {
  try {
    const out = buildEnvoyDescriptors({ force: process.argv.includes('--force') });
    process.stdout.write(`${out}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
