/**
 * The suite depends on nothing outside the repository, and a missing piece is a clear error in seconds, never a
 * hang: no test, script or tool refers to a path outside the clone (a user's clone has no shared folder beside it);
 * with no Go toolchain the build script says so and exits; a cached tool that is missing is a one-line error
 * naming the command that builds it. The last two run a copy of the build script and path helper in an empty
 * scratch "clone", so the real cache is never touched.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Whatever a clone cannot have: the shared folder beside it, or an absolute path into this build machine. */
const OUTSIDE = new RegExp(['\\.\\./' + 'shared\\b', '(["\'`]|\\s)/(work|root|home|opt)/'].join('|'));
const SCANNED = ['test', 'scripts', 'tools', 'bench', '.ci', 'src', 'examples', 'package.json', 'eslint.config.js'];
/** A hung child fails the test instead of the suite: the bound is for a hang, not a speed target. */
const HANG_MS = 60_000;

function files(p: string, out: string[] = []): string[] {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return out;
  if (st.isFile()) out.push(p);
  else for (const name of readdirSync(p).sort()) if (name !== 'node_modules' && name !== 'envoy-proto') files(join(p, name), out);
  return out;
}

describe('the suite is self-contained', { timeout: 120_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'spillway-clone-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  // A clone with the build script, the path helper and the tools (their module's pins and sources), and an empty .cache.
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ type: 'module' }));
  for (const f of ['scripts/build-go-tools.mjs', 'test/support/go-tools.ts', 'tools']) {
    mkdirSync(join(scratch, dirname(f)), { recursive: true });
    cpSync(join(ROOT, f), join(scratch, f), { recursive: true });
  }

  it('no test, script, tool or source file refers to a path outside the repository', () => {
    const all = SCANNED.flatMap((s) => files(join(ROOT, s)));
    assert.ok(all.length > 200, `scanned only ${all.length} files`);
    const hits = all.flatMap((f) => {
      const text = readFileSync(f, 'utf8');
      return text.split('\n').flatMap((line, i) => (OUTSIDE.test(line) ? [`${relative(ROOT, f)}:${i + 1}: ${line.trim().slice(0, 120)}`] : []));
    });
    assert.deepEqual(hits, []);
  });

  it('no Go toolchain: the build script names what is missing and exits 1 at once', { timeout: HANG_MS + 10_000 }, () => {
    const r = spawnSync(process.execPath, [join(scratch, 'scripts', 'build-go-tools.mjs'), 'istio-crds'], { encoding: 'utf8', timeout: HANG_MS, env: { PATH: join(scratch, 'no-bin'), HOME: scratch } });
    assert.equal(r.signal, null, `killed after ${HANG_MS} ms: it hung`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^build-go-tools: downloading istio\.io\/istio: go is not on PATH \(Go 1\.26 is needed to build the test tools\)$/m);
    assert.equal(r.stdout, '');
  });

  it('a cached tool that is missing is a one-line error naming the command that builds it', { timeout: HANG_MS + 10_000 }, () => {
    const probe = join(scratch, 'probe.ts');
    writeFileSync(probe, `import { requireGoTool } from './test/support/go-tools.ts';
for (const t of ['istioCrds', 'istioOracle', 'kubeCluster'] as const) { try { requireGoTool(t); console.log(t + ': found'); } catch (e) { console.log((e as Error).message); } }\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', probe], { encoding: 'utf8', timeout: HANG_MS, cwd: ROOT });
    assert.equal(r.signal, null, `killed after ${HANG_MS} ms: it hung`);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[0] ?? '', /^Istio CRD bundle \(istio\.io\/istio v\S+\) is missing at \.cache\/istio\/v\S+\/crd-all\.gen\.yaml: run `node scripts\/build-go-tools\.mjs`$/);
    assert.match(lines[1] ?? '', /^istio-oracle binary \(istio\.io\/istio v\S+\) is missing at \.cache\/istio-oracle\/v\S+\/istio-oracle: run `node scripts\/build-go-tools\.mjs`$/);
    assert.match(lines[2] ?? '', /^kube-apiserver\/etcd\/kubectl binary \(k8s\.io\/kubernetes v\S+\) is missing at \.cache\/kube\/v\S+\/kube-cluster: run `node scripts\/build-go-tools\.mjs kube-cluster`$/);
  });
});
