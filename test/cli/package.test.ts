/**
 * The package as a user installs it: `npm pack` builds dist/ and packs only what runs; the tarball, given only
 * its runtime dependencies, runs from any folder without a TypeScript loader; commands load only what they use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPO = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string; license: string; engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string>;
  bin: Record<string, string>; repository?: { url?: string }; files: string[];
};
const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };

interface Installed {
  dir: string;
  bin: string;
  files: string[];
  elsewhere: string;
}

let installed: Installed | undefined;
/** Packs once, extracts into a temporary node_modules with links to the runtime dependencies only. */
function install(): Installed {
  if (installed) return installed;
  const dir = mkdtempSync(join(tmpdir(), 'spillway-pkg-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 })) as { filename: string; files: { path: string }[] }[];
  const modules = join(dir, 'lib', 'node_modules');
  mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, packed[0]!.filename), '-C', modules]);
  renameSync(join(modules, 'package'), join(modules, 'spillway'));
  // What `npm install` of the tarball brings: the lockfile's non-dev packages (top level; nested ones travel along).
  for (const [key, meta] of Object.entries(lock.packages)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
    if (!m || meta.dev === true) continue;
    mkdirSync(join(modules, m[1]!, '..'), { recursive: true });
    symlinkSync(join(REPO, key), join(modules, m[1]!), 'dir');
  }
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  copyFileSync(join(REPO, 'examples', 'seed.yaml'), join(elsewhere, 'seed.yaml'));
  installed = { dir, bin: join(modules, 'spillway', pkg.bin.spillway!), files: packed[0]!.files.map((f) => f.path), elsewhere };
  return installed;
}

test.after(() => {
  if (installed) rmSync(installed.dir, { recursive: true, force: true });
});

function run(args: string[], extraNode: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const { bin, elsewhere } = install();
  return spawnSync(process.execPath, [...extraNode, bin, ...args], { cwd: elsewhere, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
}

test('npm pack ships compiled JavaScript, the LICENSE and metadata, and no sources or tests', { timeout: 300_000 }, () => {
  const { files } = install();
  for (const f of ['package.json', 'LICENSE', 'README.md', 'bin/spillway.mjs', 'dist/cli/main.js', 'dist/core/render.js', 'examples/seed.yaml']) assert.ok(files.includes(f), `${f} is packed`);
  assert.deepEqual(files.filter((f) => /\.(ts|mts|cts)$/.test(f) || /^(src|test|bench|scripts)\//.test(f)), [], 'no TypeScript or test files');
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(readFileSync(join(REPO, 'LICENSE'), 'utf8'), /^\s*Apache License\s+Version 2\.0, January 2004/);
  // Spillway has no public home yet: no repository, homepage or bugs URL that would point at a made-up place, and the
  // README says so (and how to install from a checkout).
  for (const field of ['repository', 'homepage', 'bugs']) assert.ok(!(field in pkg), `package.json has no placeholder ${field}`);
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  assert.match(readme, /not published/);
  assert.ok(readme.includes(`npm install -g ./spillway-${pkg.version}.tgz`), 'the README installs the tarball npm pack makes of this version');
  assert.ok(!('tsx' in pkg.dependencies) && 'tsx' in pkg.devDependencies, 'tsx is only a devDependency');
});

test('the installed package runs from another folder with only its runtime dependencies', { timeout: 300_000 }, () => {
  const version = run(['--version']);
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout, `${pkg.version}\n`);
  const validate = run(['validate', '-f', 'seed.yaml']);
  assert.equal(validate.status, 0, validate.stderr);
  assert.equal(validate.stdout, 'no problems found\n');
  const rendered = run(['render', '-f', 'seed.yaml', '--cluster', 'cluster1']);
  assert.equal(rendered.status, 0, rendered.stderr);
  assert.match(rendered.stdout, /^kind: EnvoyFilter$/m);
  const install = run(['install']);
  assert.equal(install.status, 0, install.stderr);
  assert.match(install.stdout, /^kind: Deployment$/m);
});

test('engines and the README agree on the Node version', () => {
  const min = /^>=(\d+)(?:\.(\d+))?/.exec(pkg.engines.node);
  assert.ok(min, `engines.node ${pkg.engines.node} is a lower bound`);
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  assert.ok(readme.includes(`Node ${min[1]}${min[2] ? `.${min[2]}` : ''}`), `the README names Node ${min[1]}.${min[2]} (engines: ${pkg.engines.node})`);
});

/** Runs the installed CLI with a hook that records every package and file the ES module loader resolves, plus CommonJS modules. */
function loaded(args: string[]): string[] {
  const { dir } = install();
  const log = join(dir, `loaded-${args.join('_').replace(/[^a-z0-9_-]/gi, '')}.txt`);
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register, createRequire } from 'node:module';\nimport { appendFileSync } from 'node:fs';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\nprocess.on('exit', () => appendFileSync(${JSON.stringify(log)}, Object.keys(createRequire(import.meta.url).cache).map((f) => 'file://' + f + '\\n').join('')));\n`);
  rmSync(log, { force: true });
  const r = run(args, ['--import', pathToFileURL(register).href]);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

const packagesIn = (urls: string[]) => [...new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []).filter((p) => p !== 'spillway'))].sort();

test('commands load lazily: --version loads commander only, render and validate never load the Kubernetes client, CEL or prom-client', { timeout: 300_000 }, () => {
  const version = loaded(['--version']);
  assert.deepEqual(packagesIn(version), ['commander']);
  assert.deepEqual(version.filter((u) => u.includes('/spillway/dist/')).map((u) => u.replace(/^.*\/spillway\/dist\//, '')).sort(), ['api/text.js', 'cli/errors.js', 'cli/main.js', 'cli/version.js', 'install/common.js']);
  for (const args of [['validate', '-f', 'seed.yaml'], ['render', '-f', 'seed.yaml', '--cluster', 'cluster2'], ['crds']]) {
    const pkgs = packagesIn(loaded(args));
    assert.ok(pkgs.includes('js-yaml'), `${args[0]} loads js-yaml (the scan sees packages)`);
    for (const heavy of ['@kubernetes/client-node', '@bufbuild/cel', '@bufbuild/re2', 'prom-client']) assert.ok(!pkgs.includes(heavy), `${args.join(' ')} does not load ${heavy} (loaded: ${pkgs.join(', ')})`);
  }
});
