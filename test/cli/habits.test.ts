/**
 * kubectl's habits: what `render` prints to a pipe can never mix clusters, `-o json` of one cluster is a v1 List,
 * `-o name` is kubectl's, `version`, shell completion and an Examples section in every --help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/main.ts';
import { istioCrdDocuments } from '../support/istio-crds.ts';
import { NO_KUBECTL, hasKubectl, kubectl, startHarness } from '../double-conformance/helpers.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const SEED = join(REPO, 'examples/seed.yaml');
const THREE = join(REPO, 'examples/three-clusters.yaml');
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

async function cli(args: string[], extra: Partial<CliIO> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), ...extra });
  return { code, out, err };
}

const NAME = /^[a-z]+\.networking\.istio\.io\/[a-z0-9][-a-z0-9.]*$/;

test('YAML or names of several clusters to a pipe or file are refused with a one-line hint, and nothing is printed', async () => {
  for (const args of [['render', '-f', THREE], ['render', '-f', THREE, '-o', 'name'], ['render', '-f', THREE, '--cluster', 'eu', '--cluster', 'west']]) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '', 'nothing partial');
    assert.equal(r.err.split('\n').length, 2, 'one line');
    assert.match(r.err, /^spillway: -o (yaml|name) to a pipe or file would mix [23] clusters' objects \((east, )?eu, west\) in one stream; pick one with --cluster \w+, or write --out-dir DIR .* or -o json /);
  }
  // What a user may pipe: one cluster, a terminal, the JSON document of all clusters, a folder per cluster.
  assert.equal((await cli(['render', '-f', THREE, '--cluster', 'eu'])).code, 0);
  assert.equal((await cli(['render', '-f', THREE], { stdoutIsTTY: true })).code, 0);
  const doc = await cli(['render', '-f', THREE, '-o', 'json']);
  assert.equal(doc.code, 0);
  assert.deepEqual(Object.keys((JSON.parse(doc.out) as { clusters: object }).clusters), ['east', 'eu', 'west']);
});

test('a real pipe is detected: the process refuses several clusters and accepts --cluster', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  const mixed = run(['render', '-f', THREE]);
  assert.equal(mixed.status, 2, mixed.stderr);
  assert.equal(mixed.stdout, '');
  assert.match(mixed.stderr, /^spillway: -o yaml to a pipe or file would mix 3 clusters/);
  const one = run(['render', '-f', THREE, '--cluster', 'west']);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /^# cluster: west /m);
  assert.doesNotMatch(one.stdout, /^# cluster: (east|eu) /m);
});

test('on a terminal the README quick start prints every cluster (script(1) gives it a pseudo-terminal)', { skip: spawnSync('script', ['--version']).status === 0 ? false : 'script(1) not installed', timeout: 90_000 }, () => {
  const r = spawnSync('script', ['-qefc', 'npm run --silent spillway -- render -f examples/seed.yaml', '/dev/null'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const c of ['cluster1', 'cluster2']) assert.match(r.stdout, new RegExp(`^# cluster: ${c} `, 'm'));
});

test('-o json with one --cluster is a v1 List of that cluster\'s objects; messages go to stderr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-habits-'));
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: spillway.dev/v1alpha1\nkind: FailoverService\nmetadata: {name: ghost, namespace: default}\nspec: {meshWorkloads: [nope-1, nope-2]}\n');
    const r = await cli(['render', '-f', SEED, '-f', bad, '-o', 'json', '--cluster', 'cluster1']);
    assert.equal(r.code, 1);
    const list = JSON.parse(r.out) as { apiVersion: string; kind: string; items: { metadata: { labels: Record<string, string> } }[] };
    assert.equal(list.apiVersion, 'v1');
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 8);
    assert.ok(list.items.every((o) => o.metadata.labels['spillway.dev/cluster'] === 'cluster1'));
    assert.match(r.err, /^error SPW\d+ FailoverService\/default\/ghost: /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-o name prints kind.group/name, one a line, as kubectl does', async () => {
  const r = await cli(['render', '-f', SEED, '--cluster', 'cluster1', '-o', 'name']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 8);
  for (const l of lines) assert.match(l, NAME);
  assert.ok(lines.includes('destinationrule.networking.istio.io/reviews-local'), lines.join('\n'));
  const all = await cli(['render', '-f', SEED, '-o', 'name'], { stdoutIsTTY: true });
  assert.deepEqual(all.out.split('\n').filter((l) => l.startsWith('# cluster: ')), ['# cluster: cluster1', '# cluster: cluster2']);
});

test('a misspelled kind of the spillway.dev group is an error naming its file:line, with a suggestion', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-kind-'));
  try {
    const f = join(dir, 'typo.yaml');
    writeFileSync(f, 'apiVersion: spillway.dev/v1alpha1\nkind: MeshCluster\nmetadata: {name: c1}\nspec: {gateway: {address: 192.0.2.1}}\n---\napiVersion: spillway.dev/v1alpha1\nkind: FailoverServce\nmetadata: {name: typo, namespace: default}\nspec: {meshWorkloads: [a]}\n');
    const r = await cli(['validate', '-f', f]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, new RegExp(`^error SPW130 FailoverServce/default/typo: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6: FailoverServce: did you mean FailoverService\\?$`, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output written as bytes (the process does) is exactly the output written as text', async () => {
  for (const args of [['-o', 'json'], ['--cluster', 'eu', '-o', 'json'], ['--cluster', 'west'], ['--cluster', 'east', '-o', 'name']]) {
    const text = await cli(['render', '-f', THREE, ...args]);
    const chunks: Uint8Array[] = [];
    const bytes = await cli(['render', '-f', THREE, ...args], {
      // Copied, and reported done: the render reuses its buffer.
      stdoutBytes: (b) => {
        chunks.push(Uint8Array.from(b));
        return true;
      },
    });
    assert.equal(text.code, 0, text.err);
    assert.equal(bytes.code, 0, bytes.err);
    assert.ok(chunks.length > 0, 'bytes went to stdoutBytes');
    assert.equal(bytes.out, '', 'and nothing to stdout');
    assert.equal(Buffer.concat(chunks).toString('utf8'), text.out, args.join(' '));
    // A consumer that keeps what it is given without saying it is done (a stream that queued it) gets a new buffer
    // each time: nothing it holds is overwritten.
    const kept: Uint8Array[] = [];
    const queued = await cli(['render', '-f', THREE, ...args], {
      stdoutBytes: (b) => {
        kept.push(b);
      },
    });
    assert.equal(queued.code, 0, queued.err);
    assert.equal(Buffer.concat(kept).toString('utf8'), text.out, `${args.join(' ')}: kept buffers`);
  }
});

test('spillway version prints the package version, as text and as JSON; --version prints it alone', async () => {
  const text = await cli(['version']);
  assert.equal(text.code, 0);
  assert.match(text.out, new RegExp(`^spillway ${PKG.version.replace(/\./g, '\\.')}\nnode v\\d+\\.\\d+\\.\\d+ [a-z0-9]+/[a-z0-9]+\n`));
  const json = JSON.parse((await cli(['version', '-o', 'json'])).out) as Record<string, string>;
  assert.equal(json.spillway, PKG.version);
  assert.equal(json.node, process.version);
  assert.deepEqual(await cli(['--version']), { code: 0, out: `${PKG.version}\n`, err: '' });
});

/** Every command path, from the top-level help's command list down. */
async function commandPaths(prefix: string[] = []): Promise<string[][]> {
  const help = (await cli([...prefix, '--help'])).out;
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? '';
  const names = [...section.matchAll(/^ {2}([a-z][-a-z]*)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  const out: string[][] = [];
  for (const n of names) {
    out.push([...prefix, n]);
    out.push(...(await commandPaths([...prefix, n])));
  }
  return out;
}

test('every --help ends with Examples that run that command', async () => {
  const paths = await commandPaths();
  assert.ok(paths.length >= 10, `found ${paths.map((p) => p.join(' ')).join(', ')}`);
  for (const p of [[], ...paths]) {
    const r = await cli([...p, '--help']);
    assert.equal(r.code, 0);
    const ex = /\nExamples:\n((?: {2}.*\n)+)/.exec(r.out);
    assert.ok(ex, `${['spillway', ...p].join(' ')} --help has an Examples section`);
    assert.ok(ex[1]!.includes(`spillway ${p.join(' ')}`.trimEnd()), `${p.join(' ')}: an example runs it:\n${ex[1]}`);
  }
});

test('bash completion completes commands, subcommands, flags, -o choices and files', async () => {
  const script = (await cli(['completion', 'bash'])).out;
  const dir = mkdtempSync(join(tmpdir(), 'spillway-completion-'));
  try {
    writeFileSync(join(dir, 'mesh.yaml'), '');
    writeFileSync(join(dir, 'c.bash'), script);
    const complete = (...words: string[]) => {
      const r = spawnSync('bash', ['-c', `source ./c.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _spillway; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: dir, encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(complete('spillway', ''), ['check', 'cluster', 'completion', 'controller', 'crds', 'install', 'render', 'simulate', 'status', 'validate', 'version']);
    assert.deepEqual(complete('spillway', 're'), ['render']);
    assert.deepEqual(complete('spillway', 'cluster', ''), ['register']);
    assert.deepEqual(complete('spillway', 'render', '-f', 'x', '-o', ''), ['json', 'name', 'yaml']);
    assert.deepEqual(complete('spillway', 'render', '--cl'), ['--cluster']);
    assert.deepEqual(complete('spillway', 'render', '-f', 'me'), ['mesh.yaml']);
    assert.deepEqual(complete('spillway', 'cluster', 'register', 'c1', '--kube'), ['--kubeconfig']);
    assert.deepEqual(complete('spillway', 'completion', ''), ['bash', 'zsh']);
    const zsh = (await cli(['completion', 'zsh'])).out;
    assert.match(zsh, /^# zsh: .*\nautoload -U \+X bashcompinit && bashcompinit\n/);
    assert.ok(zsh.endsWith(script), 'zsh runs the bash functions through bashcompinit');
    const hasZsh = spawnSync('zsh', ['--version']).status === 0;
    if (hasZsh) assert.equal(spawnSync('zsh', ['-n', '-c', zsh]).status, 0, 'zsh parses it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubectl apply -f - accepts the one-cluster List and YAML stream, and names the objects as -o name does', { skip: hasKubectl ? false : NO_KUBECTL, timeout: 180_000 }, async () => {
  const crds = (istioCrdDocuments() as { kind?: string; spec?: { group?: string } }[])
    .filter((d) => d?.kind === 'CustomResourceDefinition' && d.spec?.group === 'networking.istio.io');
  const h = await startHarness({ name: 'cluster1', namespaces: ['default', 'istio-system'] });
  try {
    const created = await kubectl(h, ['create', '-f', '-'], crds.map((c) => `---\n${JSON.stringify(c)}\n`).join(''));
    assert.equal(created.code, 0, created.stderr);
    const names = (await cli(['render', '-f', SEED, '--cluster', 'cluster1', '-o', 'name'])).out.trimEnd().split('\n').sort();
    assert.equal(names.length, 8);
    const list = await cli(['render', '-f', SEED, '--cluster', 'cluster1', '-o', 'json']);
    const applied = await kubectl(h, ['apply', '-f', '-', '-o', 'name'], list.out);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(applied.stdout.trimEnd().split('\n').sort(), names);
    const stream = await cli(['render', '-f', SEED, '--cluster', 'cluster1']);
    const again = await kubectl(h, ['apply', '-f', '-', '-o', 'name'], stream.out);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.stdout.trimEnd().split('\n').sort(), names);
  } finally {
    await h.close();
  }
});
