/**
 * Reading input: bounded (bytes, documents, depth, aliases; devices and FIFOs refused), each limit a one-line
 * coded error with exit status 2, and kubectl's habits (Lists, JSON streams, duplicate keys, -R, empty input).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import yaml from 'js-yaml';
import { runCli } from '../../src/cli/main.ts';
import { INPUT_LIMITS, parseDocuments, readInputDocuments } from '../../src/cli/inputs.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const SEED = join(REPO, 'examples/seed.yaml');
const SEED_TEXT = readFileSync(SEED, 'utf8');
const SEED_DOCS = (yaml.loadAll(SEED_TEXT) as Record<string, unknown>[]).filter(Boolean);

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-inputs-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** One line on stderr, the given code, exit 2, nothing on stdout, no stack trace. */
function assertInputError(r: { code: number; out: string; err: string }, code: string, pattern?: RegExp): void {
  assert.equal(r.code, 2, r.err);
  assert.equal(r.out, '', 'nothing partial is printed');
  assert.equal(r.err.split('\n').length, 2, `one line: ${r.err}`);
  assert.match(r.err, new RegExp(`^spillway: ${code} `));
  assert.doesNotMatch(r.err, /internal error|\bat .*:\d+:\d+\)?$/m);
  if (pattern) assert.match(r.err, pattern);
}

const spillway = (args: string[], input?: string | Buffer) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], { cwd: REPO, input, encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 26 });

test('-f /dev/zero and a FIFO are refused at once (SPW002), without reading them', { timeout: 60_000 }, withDir((dir) => {
  const fifo = join(dir, 'in.yaml');
  const mk = spawnSync('mkfifo', [fifo]);
  assert.equal(mk.status, 0, 'mkfifo');
  for (const path of ['/dev/zero', fifo]) {
    const t0 = Date.now();
    const r = spillway(['validate', '-f', path]);
    assert.equal(r.status, 2, `${path}: ${r.stderr} (signal ${r.signal})`);
    assert.match(r.stderr, new RegExp(`^spillway: SPW002 ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is a (character device|FIFO \\(named pipe\\)), not a regular file`));
    assert.ok(Date.now() - t0 < 25_000, 'fails fast');
  }
  // A FIFO inside a directory is refused just the same.
  const r = spillway(['validate', '-f', dir]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /SPW002/);
}));

test('standard input is bounded too: more than the byte limit is SPW003, never an out-of-memory crash', { timeout: 60_000 }, () => {
  const big = Buffer.alloc(INPUT_LIMITS.maxBytes + 1024, 0x20);
  const r = spillway(['validate', '-f', '-'], big);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `spillway: SPW003 standard input: input exceeds ${INPUT_LIMITS.maxBytes / 1024 / 1024} MiB (all inputs together); split it into several runs\n`);
});

test('a file over the byte limit is refused from its size, and the limit counts all inputs together', withDir(async (dir) => {
  const f = join(dir, 'a.yaml');
  writeFileSync(f, SEED_TEXT);
  assert.throws(() => readInputDocuments([f, f], { limits: { maxBytes: SEED_TEXT.length + 10 } }), /^CliError|SPW003/);
  try {
    readInputDocuments([f, f], { limits: { maxBytes: SEED_TEXT.length + 10 } });
  } catch (e) {
    assert.match((e as Error).message, /^SPW003 .*a\.yaml: input exceeds \d+ bytes \(all inputs together\)/);
  }
  assert.equal(readInputDocuments([f], { limits: { maxBytes: SEED_TEXT.length } }).length, 5, 'exactly at the limit is fine');
}));

test('an alias bomb in metadata.creationTimestamp is SPW006 (exit 2), not an internal error', withDir(async (dir) => {
  const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) levels.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  const f = join(dir, 'bomb.yaml');
  writeFileSync(f, `${SEED_TEXT}\n---\napiVersion: spillway.dev/v1alpha1\nkind: FailoverService\nmetadata:\n  name: bomb\n  creationTimestamp:\n    ${levels.join('\n    ')}\nspec: {meshWorkloads: [reviews-cluster1, reviews-cluster2]}\n`);
  for (const cmd of ['validate', 'render']) assertInputError(await cli(cmd, '-f', f), 'SPW006', /bomb\.yaml:\d+: aliases expand to more than 100000 nodes/);
  // Ordinary anchors, aliases and merge keys still work.
  const ok = join(dir, 'anchors.yaml');
  const cluster2 = 'kind: MeshCluster\nmetadata:\n  name: cluster2\nspec:\n  gateway:\n    address: 192.0.2.20\n    port: 32000\n    servicePort: 443\n';
  assert.ok(SEED_TEXT.includes(cluster2));
  writeFileSync(ok, SEED_TEXT.replace(cluster2, 'kind: MeshCluster\nmetadata:\n  name: cluster2\n  labels: &sel {istio: ingressgateway}\nspec:\n  gateway:\n    <<: [{port: 32000, servicePort: 443}, {port: 1}]\n    address: 192.0.2.20\n    selector: *sel\n'));
  const r = await cli('render', '-f', ok, '-o', 'json');
  const base = await cli('render', '-f', SEED, '-o', 'json');
  assert.equal(r.code, 0, r.err + r.out.slice(-2000));
  assert.equal(r.out, base.out, 'anchors, aliases and merge keys read as their expansion');
}));

test('a recursive alias is SPW006; nesting beyond the limit (2000 deep, or through aliases) is SPW005', withDir(async (dir) => {
  const cyc = join(dir, 'cycle.yaml');
  writeFileSync(cyc, 'apiVersion: spillway.dev/v1alpha1\nkind: MeshCluster\nmetadata: {name: c1}\nspec: &s {gateway: {selector: *s}}\n');
  assertInputError(await cli('validate', '-f', cyc), 'SPW006', /cycle\.yaml:1: a recursive alias/);
  const deep = join(dir, 'deep.yaml');
  writeFileSync(deep, `apiVersion: spillway.dev/v1alpha1\nkind: MeshCluster\nmetadata: {name: c1}\nspec: {x: ${'['.repeat(2000)}${']'.repeat(2000)}}\n`);
  assertInputError(await cli('validate', '-f', deep), 'SPW005', /deep\.yaml:4:\d+: nested more than 100 levels deep/);
  const deepJson = join(dir, 'deep.json');
  writeFileSync(deepJson, `{"a": ${'{"b": '.repeat(5000)}1${'}'.repeat(5000)}}`);
  assertInputError(await cli('render', '-f', deepJson), 'SPW005');
  const chain = ['a0: &a0 [[[[[[[[[[1]]]]]]]]]]'];
  for (let i = 1; i < 15; i++) chain.push(`a${i}: &a${i} [[[[[[[[[[*a${i - 1}]]]]]]]]]]`);
  const viaAliases = join(dir, 'alias-deep.yaml');
  writeFileSync(viaAliases, `kind: X\nmetadata:\n  ${chain.join('\n  ')}\n`);
  assertInputError(await cli('validate', '-f', viaAliases), 'SPW005', /through aliases/);
}));

test('125k documents is SPW004 (the limit counts List items too)', withDir(async (dir) => {
  const f = join(dir, 'many.yaml');
  writeFileSync(f, 'kind: ConfigMap\n---\n'.repeat(125_000));
  assertInputError(await cli('validate', '-f', f), 'SPW004', /many\.yaml:\d+:1: more than 100000 documents/);
  const list = join(dir, 'list.json');
  writeFileSync(list, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: 100_001 }, () => ({ kind: 'ConfigMap' })) }));
  assertInputError(await cli('validate', '-f', list), 'SPW004');
  // Under the limit, many documents are fine (no stack overflow from spreading them).
  const ok = join(dir, 'ok.yaml');
  writeFileSync(ok, `${SEED_TEXT}\n${'---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'.repeat(90_000)}`);
  const r = await cli('render', '-f', ok, '-o', 'json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).messages.length, 90_000, 'every ConfigMap is an info message');
}));

test('a duplicated mapping key is an error naming its line (YAML and JSON)', withDir(async (dir) => {
  const f = join(dir, 'dup.yaml');
  writeFileSync(f, SEED_TEXT.replace('  name: cluster2\n', '  name: cluster2\n  name: cluster3\n'));
  const line = SEED_TEXT.split('\n').indexOf('  name: cluster2') + 2;
  assertInputError(await cli('render', '-f', f), 'SPW007', new RegExp(`dup\\.yaml:${line}:\\d+: YAML syntax error: duplicated mapping key`));
  const j = join(dir, 'dup.json');
  writeFileSync(j, '{"kind": "MeshCluster",\n "metadata": {"name": "a"},\n "metadata": {"name": "b"}}\n');
  assertInputError(await cli('validate', '-f', j), 'SPW007', /dup\.json:3:\d+: YAML syntax error: duplicated mapping key/);
}));

test('kubectl\'s kind: List (v1 and typed lists) is read item by item, with each item\'s line', withDir(async (dir) => {
  const base = await cli('render', '-f', SEED, '-o', 'json');
  assert.equal(base.code, 0);
  const asList = join(dir, 'list.yaml');
  writeFileSync(asList, yaml.dump({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: SEED_DOCS }));
  assert.equal((await cli('render', '-f', asList, '-o', 'json')).out, base.out, 'a v1 List renders like its items');
  const typed = join(dir, 'typed.json');
  writeFileSync(typed, JSON.stringify({ apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshClusterList', items: SEED_DOCS.slice(0, 2) }) + JSON.stringify({ apiVersion: 'v1', kind: 'List', items: SEED_DOCS.slice(2) }));
  assert.equal((await cli('render', '-f', typed, '-o', 'json')).out, base.out, 'typed lists too');
  const docs = parseDocuments('apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata: {name: a}\n- kind: B\n  metadata: {name: b}\n', 'l.yaml');
  assert.deepEqual(docs.map((d) => d.source), ['l.yaml:4', 'l.yaml:6']);
}));

test('JSON streams (concatenated objects, one a line or pretty-printed) and JSON arrays of objects are read', withDir(async (dir) => {
  const base = await cli('render', '-f', SEED, '-o', 'json');
  const compact = join(dir, 'stream.json');
  writeFileSync(compact, SEED_DOCS.map((d) => JSON.stringify(d)).join(''));
  const pretty = join(dir, 'pretty.json');
  writeFileSync(pretty, SEED_DOCS.map((d) => JSON.stringify(d, null, 2)).join('\n'));
  const array = join(dir, 'array.json');
  writeFileSync(array, JSON.stringify(SEED_DOCS));
  for (const f of [compact, pretty, array]) {
    const r = await cli('render', '-f', f, '-o', 'json');
    assert.equal(r.code, 0, `${f}: ${r.err}`);
    assert.equal(r.out, base.out, f);
  }
  const piped = spillway(['validate', '-f', '-'], SEED_DOCS.map((d) => JSON.stringify(d, null, 2)).join('\n'));
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stdout, 'no problems found\n');
  // A syntax error in the third object of a stream names the line in the file, not in the object.
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, `${JSON.stringify(SEED_DOCS[0])}\n${JSON.stringify(SEED_DOCS[1])}\n{"kind": "MeshCluster", "metadata": {"name": "x"}, "spec": {"gateway": {"port": 1 "address": "a"}}}\n`);
  assertInputError(await cli('validate', '-f', broken), 'SPW007', /broken\.json:3:\d+: YAML syntax error/);
  const sources = parseDocuments('{"kind": "A"}\n\n{\n  "kind": "B"\n}\n', 's.json').map((d) => d.source);
  assert.deepEqual(sources, ['s.json:1', 's.json:3']);
}));

test('input that holds no object is an error; so is a directory without input files', withDir(async (dir) => {
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '# only a comment\n---\n---\n');
  assertInputError(await cli('render', '-f', empty), 'SPW008', /no objects in the input/);
  assertInputError(await cli('validate', '-f', '-'.replace('-', empty)), 'SPW008');
  const none = join(dir, 'none');
  mkdirSync(join(none, 'sub'), { recursive: true });
  writeFileSync(join(none, 'README.md'), 'not input');
  writeFileSync(join(none, 'sub', 'seed.yaml'), SEED_TEXT);
  assertInputError(await cli('validate', '-f', none), 'SPW008', /no \*\.yaml, \*\.yml or \*\.json files at its top level \(-R reads subdirectories\)/);
  // ...but a file that is empty next to one with objects is fine, as with kubectl.
  assert.equal((await cli('validate', '-f', empty, '-f', SEED)).code, 0);
}));

test('-R reads subdirectories (sorted, like kubectl); without it only the top level', withDir(async (dir) => {
  mkdirSync(join(dir, 'clusters'));
  mkdirSync(join(dir, 'apps', 'reviews'), { recursive: true });
  writeFileSync(join(dir, 'clusters', 'c.yaml'), yaml.dump(SEED_DOCS[0]) + '---\n' + yaml.dump(SEED_DOCS[1]));
  writeFileSync(join(dir, 'apps', 'reviews', 'w.yml'), SEED_DOCS.slice(2, 4).map((d) => yaml.dump(d)).join('---\n'));
  writeFileSync(join(dir, 'fos.json'), JSON.stringify(SEED_DOCS[4]));
  writeFileSync(join(dir, 'notes.txt'), 'kind: Ignored\n');
  const base = await cli('render', '-f', SEED, '-o', 'json');
  for (const flag of ['-R', '--recursive']) {
    const r = await cli('render', '-f', dir, flag, '-o', 'json');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, base.out);
  }
  const top = await cli('validate', '-f', dir);
  assert.equal(top.code, 1, 'only fos.json is read without -R: its workloads are missing');
  assert.match(top.out, /SPW127 FailoverService\/default\/reviews-remote: MeshWorkload default\/reviews-cluster1 not found/);
  const sim = await cli('simulate', '-f', dir, '-R', '--down', 'cluster1');
  assert.equal(sim.code, 0, sim.err);
}));

test('.nan and .inf stay strings (JSON cannot hold them); unquoted timestamps stay strings; UTF-16 with a BOM is read', withDir(async (dir) => {
  const [d] = parseDocuments('a: .nan\nb: -.inf\nc: 2024-01-02T03:04:05Z\nd: 1e999\ne: 1.5\n', 'x.yaml');
  assert.deepEqual(d?.value, { a: '.nan', b: '-.inf', c: '2024-01-02T03:04:05Z', d: '1e999', e: 1.5 });
  const f = join(dir, 'utf16.yaml');
  writeFileSync(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SEED_TEXT, 'utf16le')]));
  const r = await cli('validate', '-f', f);
  assert.deepEqual([r.code, r.out], [0, 'no problems found\n'], r.err);
}));

test('output is bounded before rendering: FailoverServices declaring more tier pairs than the limit are SPW010', withDir(async (dir) => {
  const fos = (i: number, n: number) => ({ apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name: `s${i}`, namespace: 'default' }, spec: { meshWorkloads: Array.from({ length: n }, (_, k) => `w${i}-${k}`) } });
  const f = join(dir, 'many-tiers.json');
  writeFileSync(f, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: 7000 }, (_, i) => fos(i, 9)) }));
  assertInputError(await cli('render', '-f', f, '-o', 'json'), 'SPW010', /many-tiers\.json:\d+: the FailoverServices would render more than 500000 cluster tiers/);
  // The 10k-service x 5-cluster benchmark's shape (250,000 pairs) is well inside.
  const ok = join(dir, 'bench-shape.json');
  writeFileSync(ok, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: 10_000 }, (_, i) => fos(i, 5)) }));
  const r = await cli('validate', '-f', ok, '-o', 'json');
  assert.equal(r.code, 1, 'its workloads are missing, but it is read and validated');
  assert.ok(readInputDocuments([ok]).length === 10_000);
}));
