#!/usr/bin/env node
// Fetches and builds the upstream Go components the tests run against, into .cache/ (gitignored), keyed
// by the pinned module version (and, for binaries, a hash of the wrapper's own sources), so a warm run
// only checks that the files exist.
//
//   node scripts/build-go-tools.mjs                  everything below
//   node scripts/build-go-tools.mjs istio-crds       Istio's CRD bundle only (seconds: one module download)
//   node scripts/build-go-tools.mjs istio-oracle     the istiod translation oracle (tools/istio-oracle)
//   node scripts/build-go-tools.mjs --force ...      rebuild even when cached
//   node scripts/build-go-tools.mjs --print          print the cached paths as JSON, build nothing
//
// Every target is pinned by the one Go module in tools/ (tools/go.mod, verified by tools/go.sum): the CRD
// bundle comes out of the same istio.io/istio module the oracle (tools/istio-oracle) is built from, so schema
// checks and the oracle never disagree about the Istio version; kube-apiserver, etcd and kubectl (one binary,
// tools/kube-cluster) out of k8s.io/kubernetes and go.etcd.io/etcd/server/v3. One module, not one per tool, so
// that minimal version selection picks a single version of every dependency both tools import (client-go,
// apimachinery, gRPC, protobuf, cel-go, otel...): a package the two share is then the same build action, and
// the Go build cache compiles it once. Builds use -trimpath and whatever GOFLAGS the caller sets; run them
// under `nice` on shared machines.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheRoot = join(repoRoot, '.cache');
const toolsDir = join(repoRoot, 'tools');
const oracleDir = join(toolsDir, 'istio-oracle');
const kubeDir = join(toolsDir, 'kube-cluster');

export const BUILD_COMMAND = 'node scripts/build-go-tools.mjs';

/** The version go.mod in `dir` requires for `module` (a require line, block or single). */
export function pinnedVersion(dir, module) {
  const gomod = readFileSync(join(dir, 'go.mod'), 'utf8');
  const re = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, '\\.')}\\s+(v\\S+)`, 'm');
  const m = re.exec(gomod);
  if (!m) throw new Error(`${relative(repoRoot, dir)}/go.mod does not require ${module}`);
  return m[1];
}

// Build flags for the oracle: no DWARF or symbol table (the binary is only ever run, never debugged), which
// makes the link step faster and the binary smaller. Part of the cache key.
const ORACLE_BUILD_FLAGS = ['-trimpath', '-ldflags=-s -w'];

/**
 * Short hash of what a binary is built from: the module's go.mod and go.sum (every dependency version), the
 * wrapper's own *.go and the build flags, so changing any of them rebuilds.
 */
function sourceKey(dir, flags) {
  const h = createHash('sha256').update(flags.join('\0')).update('\0');
  for (const name of ['go.mod', 'go.sum']) h.update(name).update('\0').update(readFileSync(join(toolsDir, name))).update('\0');
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.go')) h.update(name).update('\0').update(readFileSync(join(dir, name))).update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

/** Where every cached artifact lives; computing this never builds anything. */
export function goToolPaths() {
  const istio = pinnedVersion(toolsDir, 'istio.io/istio');
  const kube = pinnedVersion(toolsDir, 'k8s.io/kubernetes');
  return {
    istioVersion: istio,
    istioCrds: join(cacheRoot, 'istio', istio, 'crd-all.gen.yaml'),
    istioOracle: join(cacheRoot, 'istio-oracle', `${istio}-${sourceKey(oracleDir, ORACLE_BUILD_FLAGS)}`, 'istio-oracle'),
    kubeVersion: kube,
    // One binary: embedded etcd + kube-apiserver (`kube-cluster serve`), and kubectl (`kube-cluster kubectl`,
    // or through the `kubectl` link beside it).
    kubeCluster: join(cacheRoot, 'kube', `${kube}-${sourceKey(kubeDir, kubeBuildFlags(kube))}`, 'kube-cluster'),
    kubectl: join(cacheRoot, 'kube', `${kube}-${sourceKey(kubeDir, kubeBuildFlags(kube))}`, 'kubectl'),
  };
}

function run(cmd, args, cwd, what) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, GOFLAGS: process.env.GOFLAGS ?? '-mod=readonly' } });
  if (r.error) {
    const why = r.error.code === 'ENOENT' ? `${cmd} is not on PATH (Go 1.26 is needed to build the test tools)` : r.error.message;
    throw new Error(`${what}: ${why}`);
  }
  if (r.status !== 0) throw new Error(`${what}: ${cmd} ${args.join(' ')} exited ${r.status}\n${r.stderr.trim()}`);
  return r.stdout;
}

/** Places `src` at `dest` atomically (a reader never sees half a file). */
function install(src, dest) {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  copyFileSync(src, tmp);
  chmodSync(tmp, 0o644);
  renameSync(tmp, dest);
}

/** Istio's CRD bundle, from the pinned istio.io/istio module (go mod download, checked against go.sum). */
function buildIstioCrds(paths, force) {
  if (!force && existsSync(paths.istioCrds)) return false;
  const info = JSON.parse(run('go', ['mod', 'download', '-json', `istio.io/istio@${paths.istioVersion}`], toolsDir, 'downloading istio.io/istio'));
  if (info.Error) throw new Error(`downloading istio.io/istio: ${info.Error}`);
  const src = join(info.Dir, 'manifests', 'charts', 'base', 'files', 'crd-all.gen.yaml');
  if (!existsSync(src)) throw new Error(`istio.io/istio@${paths.istioVersion} has no manifests/charts/base/files/crd-all.gen.yaml`);
  install(src, paths.istioCrds);
  return true;
}

function buildIstioOracle(paths, force) {
  if (!force && existsSync(paths.istioOracle)) return false;
  const out = `${paths.istioOracle}.tmp-${process.pid}`;
  mkdirSync(dirname(out), { recursive: true });
  try {
    run('go', ['build', ...ORACLE_BUILD_FLAGS, '-o', out, './istio-oracle'], toolsDir, 'building tools/istio-oracle');
    renameSync(out, paths.istioOracle);
    removeOthers(paths.istioOracle);
  } finally {
    rmSync(out, { force: true });
  }
  return true;
}

/** Binaries of earlier sources or pins are ~150-250 MB each and never used again: keep only `current`'s folder. */
function removeOthers(current) {
  const root = dirname(dirname(current));
  for (const old of readdirSync(root)) {
    if (old !== basename(dirname(current))) rmSync(join(root, old), { recursive: true, force: true });
  }
}

/**
 * kube-cluster's build flags. The version stamps are what a release build sets, so /version and
 * `kubectl version` report the release. Part of the cache key.
 */
function kubeBuildFlags(v) {
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(v) ?? [];
  const stamps = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${v}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitTreeState=clean`,
  ]);
  return ['-trimpath', '-ldflags', ['-s', '-w', ...stamps].join(' ')];
}

/** kube-apiserver, etcd and kubectl of the pinned k8s.io/kubernetes release in one binary (tools/kube-cluster). */
function buildKubeCluster(paths) {
  const v = paths.kubeVersion;
  mkdirSync(dirname(paths.kubeCluster), { recursive: true });
  const tmp = `${paths.kubeCluster}.tmp-${process.pid}`;
  try {
    run('go', ['build', ...kubeBuildFlags(v), '-o', tmp, './kube-cluster'], toolsDir, `building kube-cluster (k8s.io/kubernetes ${v})`);
    chmodSync(tmp, 0o755);
    renameSync(tmp, paths.kubeCluster);
  } finally {
    rmSync(tmp, { force: true });
  }
  rmSync(paths.kubectl, { force: true });
  symlinkSync('kube-cluster', paths.kubectl);
  removeOthers(paths.kubeCluster);
  return true;
}

const TARGETS = {
  'istio-crds': { build: buildIstioCrds, path: (p) => p.istioCrds, what: (p) => `istio.io/istio ${p.istioVersion}` },
  'istio-oracle': { build: buildIstioOracle, path: (p) => p.istioOracle, what: (p) => `istio.io/istio ${p.istioVersion}` },
  'kube-cluster': { build: buildKubeCluster, path: (p) => p.kubeCluster, what: (p) => `k8s.io/kubernetes ${p.kubeVersion}, etcd, kubectl` },
};

/** Builds the named targets (all by default) unless cached; logs what it builds to stderr. */
export function ensureGoTools({ targets = Object.keys(TARGETS), force = false, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const paths = goToolPaths();
  for (const name of targets) {
    const t = TARGETS[name];
    if (!t) throw new Error(`unknown target ${name} (known: ${Object.keys(TARGETS).join(', ')})`);
    const dest = t.path(paths);
    if (!force && existsSync(dest)) continue;
    const started = Date.now();
    log(`build-go-tools: ${name} (${t.what(paths)}) -> ${relative(repoRoot, dest)}`);
    t.build(paths, force);
    log(`build-go-tools: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return paths;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  try {
    if (args.includes('--print')) {
      console.log(JSON.stringify(goToolPaths(), null, 2));
    } else {
      const targets = args.filter((a) => !a.startsWith('--'));
      ensureGoTools({ targets: targets.length ? targets : undefined, force: args.includes('--force') });
    }
  } catch (e) {
    console.error(`build-go-tools: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
