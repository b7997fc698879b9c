/** The CLI as a user meets it: exit statuses, output shapes, one-line errors, folders for kubectl. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import yaml from 'js-yaml';
import { runCli } from '../../src/cli/main.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const SEED = join(REPO, 'examples/seed.yaml');
const THREE = join(REPO, 'examples/three-clusters.yaml');

/** Runs the CLI as a terminal user would (stdout a TTY); habits.test.ts covers pipes. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), stdoutIsTTY: true });
  return { code, out, err };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'spillway-cli-'));
}

test('render -o json prints exactly {clusters, messages} with messages {code, level, object, ref, path, params, message}', async () => {
  const dir = tmp();
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: spillway.dev/v1alpha1\nkind: FailoverService\nmetadata: {name: ghost, namespace: default}\nspec: {meshWorkloads: [nope-1, nope-2]}\n');
    const r = await cli('render', '-f', SEED, '-f', bad, '-o', 'json');
    assert.equal(r.code, 1, 'an invalid input makes the exit status 1');
    const doc = JSON.parse(r.out) as { clusters: Record<string, unknown[]>; messages: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(doc), ['clusters', 'messages']);
    assert.deepEqual(Object.keys(doc.clusters), ['cluster1', 'cluster2']);
    assert.equal(doc.clusters.cluster1?.length, 8, 'the valid service is still rendered');
    assert.ok(doc.messages.length > 0);
    for (const m of doc.messages) assert.deepEqual(Object.keys(m).filter((k) => k !== 'path'), ['code', 'level', 'object', 'ref', 'params', 'message']);
    assert.equal(doc.messages[0]?.object, 'FailoverService/default/ghost');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('render prints YAML grouped by cluster, and --cluster narrows it', async () => {
  const all = await cli('render', '-f', THREE);
  assert.equal(all.code, 0);
  assert.equal(all.err, '');
  const docs = yaml.loadAll(all.out).filter((d) => d !== null && d !== undefined) as { metadata: { labels: Record<string, string> } }[];
  const order = docs.map((d) => d.metadata.labels['spillway.dev/cluster']);
  assert.deepEqual(order, [...order].sort(), 'grouped by cluster, clusters sorted');
  const only = await cli('render', '-f', THREE, '--cluster', 'eu');
  const euDocs = yaml.loadAll(only.out).filter((d) => d) as { metadata: { labels: Record<string, string> } }[];
  assert.ok(euDocs.length > 0 && euDocs.every((d) => d.metadata.labels['spillway.dev/cluster'] === 'eu'));
  const none = await cli('render', '-f', THREE, '--cluster', 'mars');
  assert.equal(none.code, 2);
  assert.match(none.err, /^spillway: --cluster mars: no such cluster/);
});

test('exit 2 with one line naming file and position for a YAML syntax error, never a stack trace', async () => {
  const dir = tmp();
  try {
    const f = join(dir, 'broken.yaml');
    writeFileSync(f, 'apiVersion: spillway.dev/v1alpha1\nkind: MeshCluster\nmetadata:\n  name: [unclosed\n');
    const r = await cli('render', '-f', SEED, '-f', f);
    assert.equal(r.code, 2);
    assert.equal(r.out, '', 'nothing partial is printed');
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.match(r.err, new RegExp(`^spillway: SPW007 ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error: `));
    assert.doesNotMatch(r.err, /\bat .*\.ts:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit 2 for unusable invocations and unreadable files', async () => {
  const missing = await cli('render', '-f', '/nonexistent/x.yaml');
  assert.equal(missing.code, 2);
  assert.equal(missing.err, 'spillway: SPW001 /nonexistent/x.yaml: cannot read: no such file or directory\n');
  assert.equal((await cli('render')).code, 2, 'no -f');
  assert.equal((await cli('render', '-f', SEED, '-o', 'xml')).code, 2);
  assert.equal((await cli('frobnicate')).code, 2);
  assert.equal((await cli('render', '-f', SEED, '--bogus')).code, 2);
  assert.equal((await cli('--help')).code, 0);
});

test('validate prints coded messages only and shares render\'s verdict', async () => {
  const ok = await cli('validate', '-f', SEED);
  assert.deepEqual([ok.code, ok.out], [0, 'no problems found\n']);
  const dir = tmp();
  try {
    const f = join(dir, 'x.yaml');
    writeFileSync(f, readFileSync(SEED, 'utf8').replace('port: 32000', 'port: 99999'));
    const bad = await cli('validate', '-f', f);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /^error SPW100 MeshCluster\/cluster1: \S+x\.yaml:\d+: spec\.gateway\.port: /m);
    assert.match(bad.out, /^error SPW102 FailoverService\/default\/reviews-remote: /m);
    const json = await cli('validate', '-f', f, '-o', 'json');
    const rendered = await cli('render', '-f', f, '-o', 'json');
    assert.deepEqual(JSON.parse(json.out).messages, JSON.parse(rendered.out).messages);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--out-dir writes one folder per cluster, one object a file, and removes only its own stale files', async () => {
  const dir = tmp();
  try {
    const r = await cli('render', '-f', THREE, '--out-dir', dir);
    assert.equal(r.code, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['east', 'eu', 'west']);
    const east = readdirSync(join(dir, 'east')).sort();
    assert.ok(east.includes('envoyfilter-istio-system-checkout-global.shop.global.yaml'), east.join(','));
    for (const f of east) {
      const obj = yaml.load(readFileSync(join(dir, 'east', f), 'utf8')) as { kind: string };
      assert.ok(obj.kind);
    }
    writeFileSync(join(dir, 'east', 'mine.yaml'), 'kind: ConfigMap\n');
    writeFileSync(join(dir, 'east', 'serviceentry-shop-gone.yaml'), '# Generated by spillway; do not edit.\nkind: ServiceEntry\n');
    await cli('render', '-f', THREE, '--out-dir', dir);
    assert.ok(existsSync(join(dir, 'east', 'mine.yaml')), 'a file spillway did not write is kept');
    assert.ok(!existsSync(join(dir, 'east', 'serviceentry-shop-gone.yaml')), 'a stale generated file is removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the README quick start command works from a checkout: npm run --silent spillway -- render (stdin too)', () => {
  const r = spawnSync('npm', ['run', '--silent', 'spillway', '--', 'render', '-f', '-', '-o', 'json'], { cwd: REPO, input: readFileSync(SEED), encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(Object.keys((JSON.parse(r.stdout) as { clusters: object }).clusters).length, 2);
  // The installed command (bin/spillway.mjs, compiled dist/) is tested from a packed tarball: package.test.ts.
});
