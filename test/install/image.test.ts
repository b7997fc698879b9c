// The container image cannot be built here (no Docker engine), so these checks keep the Dockerfile consistent
// with the repository: what it copies exists and is not ignored, the runtime needs only production
// dependencies, and the image's user and command agree with the Deployment `spillway install` prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { installManifests } from '../../src/install/install.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; bin: Record<string, string> };

function dockerignored(path: string): boolean {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(patterns.every((p) => !/[*?!]/.test(p) || /^\*\.[a-z]+$/.test(p)), 'the matcher below understands plain paths and *.ext only');
  return patterns.some((p) => (p.startsWith('*.') ? path.endsWith(p.slice(1)) : path === p || path.startsWith(`${p}/`)));
}

test('every COPY source of the build context exists and is not excluded by .dockerignore', () => {
  const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
  assert.ok(copies.length >= 3);
  for (const line of copies) {
    const parts = line.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(join(ROOT, src)), `${src} exists`);
      assert.ok(!dockerignored(src), `${src} is not in .dockerignore`);
    }
  }
  // What the runtime loads is copied: the bin entry, package.json (the version), and the sources the build compiles.
  const copied = copies.flatMap((l) => l.split(/\s+/).slice(1, -1));
  for (const needed of [...Object.values(pkg.bin), 'src/cli/main.ts', 'package.json', 'tsconfig.build.json']) {
    assert.ok(copied.some((c) => needed === c || needed.startsWith(`${c.replace(/\/$/, '')}/`)), `${needed} is copied`);
  }
});

test('the image compiles dist/ in a build stage and the runtime copies only dist/, never the TypeScript sources', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1).map((s) => s.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
  const build = stages.find((s) => / AS build$/.test(s[0]!));
  assert.ok(build, 'a stage named build');
  assert.ok(build.includes('RUN npm run build'), 'the build stage runs npm run build');
  const runtime = stages.at(-1)!;
  assert.ok(runtime.includes('COPY --from=build /app/dist ./dist'), 'the runtime copies dist from the build stage');
  assert.ok(!runtime.some((l) => /^COPY\s+(?!--from)[^\n]*\bsrc\b/.test(l)), 'the runtime does not copy src/');
  const bin = readFileSync(join(ROOT, pkg.bin.spillway!), 'utf8');
  assert.match(bin, /import\('\.\.\/dist\/cli\/main\.js'\)/, 'the bin entry runs the compiled CLI');
});

test('node 20 slim stages, production-only npm ci, numeric non-root user matching the Deployment, controller by default', () => {
  const froms = instructions.filter((l) => l.startsWith('FROM '));
  assert.ok(froms.length >= 2, 'multi-stage');
  for (const f of froms) assert.match(f, /^FROM node:20-slim\b/);
  assert.ok(instructions.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l)));
  const user = instructions.filter((l) => l.startsWith('USER ')).at(-1);
  assert.ok(user, 'a USER instruction');
  const [uid, gid] = user.slice(5).split(':').map(Number);
  assert.ok(uid !== undefined && uid > 0, 'numeric, non-root uid');
  const dep = installManifests().find((o) => o.kind === 'Deployment')!;
  const pod = (dep.spec as { template: { spec: { securityContext: Record<string, unknown>; containers: { args: string[] }[] } } }).template.spec;
  assert.equal(pod.securityContext.runAsUser, uid);
  assert.equal(pod.securityContext.runAsGroup, gid);
  const entry = instructions.find((l) => l.startsWith('ENTRYPOINT '));
  assert.deepEqual(JSON.parse(entry!.slice('ENTRYPOINT '.length)), ['node', `/app/${pkg.bin.spillway}`]);
  assert.deepEqual(JSON.parse(instructions.find((l) => l.startsWith('CMD '))!.slice(4)), ['controller']);
  assert.equal(pod.containers[0]!.args[0], 'controller', 'the Deployment\'s args replace CMD, so they name the command');
});

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

test('everything the image runs imports only production dependencies (npm ci --omit=dev drops the rest)', () => {
  const builtins = new Set(builtinModules);
  const used = new Map<string, string>();
  for (const file of [...sourceFiles(join(ROOT, 'src')), join(ROOT, pkg.bin.spillway!)]) {
    // Comments are stripped first so that prose mentioning `import x from 'y'` does not count.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specs: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g)) if (!m[1]) specs.push(m[2]!);
    for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
    for (const m of text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
    for (const s of specs) {
      if (s.startsWith('.') || s.startsWith('node:') || builtins.has(s)) continue;
      used.set(packageOf(s), file.slice(ROOT.length + 1));
    }
  }
  assert.ok(used.has('commander') && used.has('js-yaml'), 'the scan found the CLI\'s imports');
  assert.ok(!used.has('tsx'), `no TypeScript loader at run time (tsx imported by ${used.get('tsx')})`);
  assert.ok(!('tsx' in pkg.dependencies), 'tsx is a devDependency');
  for (const [name, file] of used) {
    assert.ok(name in pkg.dependencies, `${name} (imported by ${file}) must be in dependencies, not devDependencies`);
  }
});
