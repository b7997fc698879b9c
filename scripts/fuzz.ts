/**
 * Mutation fuzzing of the CLI: takes the examples, mutates them (hostile values at random paths, deleted and
 * unknown fields, misspelled kinds, duplicated keys and documents, truncation, stray bytes, aliases, deep nesting,
 * Lists, JSON streams), runs a random command on each (validate, render -o json|yaml, render --out-dir, simulate)
 * in this process, and asserts for every case:
 *   - the exit status is 0, 1 or 2, never 3 ("internal error") and never a crash;
 *   - nothing printed carries a stack trace or a control character;
 *   - everything rendered (exit 0, and the valid part of an exit 1) is valid against Istio's CRDs (closed schemas)
 *     and every EnvoyFilter ADD value parses strictly as an Envoy Cluster over Envoy's protos;
 *   - --out-dir writes only inside its directory;
 *   - each case takes under --case-ms (default 10 s) and the process stays under --max-rss-mb (default 1536).
 * Deterministic: case i of seed S always builds the same input. A failure prints the seed and case, and saves the
 * input under .tmp/fuzz/, so `npx tsx scripts/fuzz.ts --seed S --only i` replays it.
 *
 *   npx tsx scripts/fuzz.ts [--iterations 500] [--seed 1] [--only N] [--case-ms 10000] [--max-rss-mb 1536]
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yaml from 'js-yaml';
import { runCli } from '../src/cli/main.ts';
import { validateIstioObject } from '../test/support/istio-crds.ts';
import { checkTypedStructPayload, parseEnvoyCluster } from '../test/support/envoy-proto.ts';

const REPO = new URL('../', import.meta.url).pathname;

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** Run only this case index. */
  only?: number;
  caseMs?: number;
  maxRssMb?: number;
  /** Where failing inputs are saved; default .tmp/fuzz under the repository. */
  saveDir?: string;
  log?: (line: string) => void;
}

export interface FuzzFailure {
  seed: number;
  index: number;
  command: string[];
  problem: string;
  saved: string;
}

export interface FuzzReport {
  cases: number;
  exitCodes: Record<string, number>;
  renderedObjects: number;
  envoyClusters: number;
  maxCaseMs: number;
  peakRssMb: number;
  totalMs: number;
  failures: FuzzFailure[];
}

// --- deterministic randomness ------------------------------------------------------------------------------

/** mulberry32: small, fast, good enough to pick mutations; seeded per case so cases replay alone. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

const HOSTILE_STRINGS = [
  '', ' ', '/../../escaped', '../x', 'a/b', '..', '.', 'UPPER', 'under_score', 'x'.repeat(64), 'x'.repeat(254), 'y'.repeat(5000),
  '-lead', 'trail-', 'a..b', '0s', '0ms', '1ns', '1500us', '99999999999h', '-1s', '1', '65536', '240.0.0.1', '0.0.0.0', '::1',
  '256.1.1.1', 'example.com', '*.example.com', 'reviews.default.svc.cluster.local', 'evil\u001b[31mred', 'nul\u0000byte',
  'bidi\u202eevil', 'line\nbreak', 'tab\there', 'üñí', '😀', '${HOME}', '$(id)', '`id`', '%s%n', '\\', '"', "'", '{}', '[]',
  'null', 'true', '~', '.nan', '.inf', 'HTTP', 'tcp', 'GRPC', 'http2', 'ISTIO_MUTUAL', 'DISABLE', '1.5', '1.8.1', '1.30', '0.9',
  'c1', 'cluster1', 'cluster2', 'default', 'istio-system', 'reviews', 'http1',
];
const DURATIONS = ['0s', '0ms', '0.5ms', '999us', '1500us', '1.0005s', '1ns', '2562048h', '99999999999h', '1ms', '250ms', '1m30s', '5s', '1h', '-1s', '1', 's', ''];
const HOSTILE_NUMBERS = [0, -1, 1, 2, 80, 100, 101, 65535, 65536, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 0.5, 1.5, -0, 32000];

function randomScalar(r: Rand): unknown {
  const k = r();
  if (k < 0.55) return pick(r, HOSTILE_STRINGS);
  if (k < 0.85) return pick(r, HOSTILE_NUMBERS);
  if (k < 0.92) return r() < 0.5;
  return null;
}

function randomValue(r: Rand, depth = 0): unknown {
  const k = r();
  if (depth > 2 || k < 0.7) return randomScalar(r);
  if (k < 0.85) return Array.from({ length: int(r, 0, 3) }, () => randomValue(r, depth + 1));
  return Object.fromEntries(Array.from({ length: int(r, 0, 3) }, () => [pick(r, ['name', 'port', 'x', 'spec', 'kind', 'selector', '<<', 'app']), randomValue(r, depth + 1)]));
}

/** Every path to a node of a value: [] is the root. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function getAt(v: unknown, path: (string | number)[]): unknown {
  let cur = v;
  for (const p of path) cur = (cur as Record<string | number, unknown>)[p];
  return cur;
}

function setAt(root: unknown, path: (string | number)[], value: unknown | typeof DELETE): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = path.at(-1) as string | number;
  if (value === DELETE) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string | number, unknown>)[key];
  } else (parent as Record<string | number, unknown>)[key] = value;
}
const DELETE = Symbol('delete');

/** Optional fields of each kind the examples leave out, so mutations reach them too. */
const KNOWN_FIELDS: Record<string, string[][]> = {
  MeshCluster: [['spec', 'istio', 'version'], ['spec', 'istio', 'rootNamespace'], ['spec', 'clusterDomain'], ['spec', 'network'], ['spec', 'locality', 'region'], ['spec', 'locality', 'zone'],
    ['spec', 'gateway', 'selector'], ['spec', 'gateway', 'listenPort'], ['spec', 'kubeconfigSecret', 'name'], ['spec', 'kubeconfigSecret', 'namespace'], ['metadata', 'name']],
  MeshWorkload: [['spec', 'cluster'], ['spec', 'service', 'name'], ['spec', 'service', 'namespace'], ['spec', 'ports', '0', 'name'], ['spec', 'ports', '0', 'number'], ['spec', 'ports', '0', 'protocol'], ['metadata', 'namespace']],
  FailoverService: [['spec', 'connectTimeout'], ['spec', 'outlierDetection', 'interval'], ['spec', 'outlierDetection', 'baseEjectionTime'], ['spec', 'outlierDetection', 'consecutive5xxErrors'],
    ['spec', 'outlierDetection', 'consecutiveGatewayErrors'], ['spec', 'outlierDetection', 'maxEjectionPercent'], ['spec', 'panicThreshold'], ['spec', 'clientSelector'], ['spec', 'hostname'],
    ['spec', 'address'], ['spec', 'port'], ['spec', 'tls', 'mode'], ['spec', 'meshWorkloads', '0'], ['metadata', 'creationTimestamp']],
};

function setKnown(r: Rand, doc: Record<string, unknown>): string {
  const fields = KNOWN_FIELDS[String(doc.kind)];
  if (!fields) return 'none';
  const path = pick(r, fields);
  let cur: Record<string, unknown> = doc;
  for (const p of path.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== 'object') cur[p] = /^[0-9]+$/.test(path[path.indexOf(p) + 1] ?? '') ? [] : {};
    cur = cur[p] as Record<string, unknown>;
  }
  const last = path.at(-1) as string;
  const durationField = /Timeout|interval|Time$/.test(last);
  cur[last] = durationField && r() < 0.7 ? pick(r, DURATIONS) : last === 'selector' || last === 'clientSelector' ? { [String(pick(r, ['app', 'a/b', 'UP/x', '-x', 'x'.repeat(70), 'istio']))]: randomScalar(r) } : randomScalar(r);
  return `set ${path.join('.')}`;
}

const KIND_TYPOS = ['FailoverServce', 'failoverservice', 'MeshClusters', 'MeshWorkLoad', 'FailOverService', 'Meshcluster', 'List', 'ConfigMap', ''];

/** One structural mutation of the documents, in place. */
function mutateDocs(r: Rand, docs: unknown[]): string {
  if (docs.length === 0) return 'none';
  const di = int(r, 0, docs.length - 1);
  const doc = docs[di];
  const ps = paths(doc).filter((p) => p.length > 0);
  const k = r();
  if (k < 0.3 && doc !== null && typeof doc === 'object' && !Array.isArray(doc)) return setKnown(r, doc as Record<string, unknown>);
  if (k < 0.35 && ps.length > 0) {
    const p = pick(r, ps);
    setAt(doc, p, randomValue(r));
    return `set ${p.join('.')}`;
  }
  if (k < 0.5 && ps.length > 0) {
    const p = pick(r, ps);
    setAt(doc, p, DELETE);
    return `delete ${p.join('.')}`;
  }
  if (k < 0.6) {
    const objs = paths(doc).filter((p) => { const v = getAt(doc, p); return v !== null && typeof v === 'object' && !Array.isArray(v); });
    const p = objs.length > 0 ? pick(r, objs) : [];
    const target = getAt(doc, p) as Record<string, unknown>;
    if (target && typeof target === 'object') target[pick(r, ['extra', 'prot', 'spce', 'nmae', 'listenPort', 'selector', 'hostname', 'port'])] = randomValue(r);
    return `add field under ${p.join('.')}`;
  }
  if (k < 0.68 && doc !== null && typeof doc === 'object') {
    (doc as Record<string, unknown>).kind = pick(r, KIND_TYPOS);
    return 'kind';
  }
  if (k < 0.74 && doc !== null && typeof doc === 'object') {
    (doc as Record<string, unknown>).apiVersion = pick(r, ['spillway.dev/v1', 'spillway.dev/v1alpha1', 'v1', undefined, 42]);
    return 'apiVersion';
  }
  if (k < 0.82) {
    docs.push(structuredClone(doc));
    return 'duplicate document';
  }
  if (k < 0.88) {
    docs.splice(di, 1);
    return 'drop document';
  }
  if (k < 0.94) {
    docs[di] = pick(r, [null, 'just a string', 42, [doc], { kind: 'List', apiVersion: 'v1', items: [doc] }]);
    return 'replace document';
  }
  // Reorder.
  docs.reverse();
  return 'reverse';
}

/** Text-level mutations: syntax a structural mutation cannot produce. */
function mutateText(r: Rand, text: string): { text: string; what: string } {
  const lines = text.split('\n');
  const k = r();
  if (k < 0.15) return { text: text.slice(0, int(r, 0, text.length)), what: 'truncate' };
  if (k < 0.3) {
    const i = int(r, 0, text.length);
    return { text: text.slice(0, i) + pick(r, ['\u0000', '\t', '"', "'", '{', '}', '[', ']', ':', '- ', '&a ', '*a', '!!binary ', '%YAML 1.1\n', '\r', '\ufeff', '\u202e', '#', '---\n', '...\n', '<<: ']) + text.slice(i), what: 'insert' };
  }
  if (k < 0.45 && lines.length > 1) {
    const i = int(r, 0, lines.length - 1);
    lines.splice(i, 0, lines[i] as string);
    return { text: lines.join('\n'), what: `duplicate line ${i + 1}` };
  }
  if (k < 0.55 && lines.length > 1) {
    lines.splice(int(r, 0, lines.length - 1), 1);
    return { text: lines.join('\n'), what: 'delete line' };
  }
  if (k < 0.65) {
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < int(r, 2, 9); i++) levels.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    return { text: `${text}\n---\napiVersion: spillway.dev/v1alpha1\nkind: FailoverService\nmetadata:\n  name: bomb\n  creationTimestamp:\n    ${levels.join('\n    ')}\nspec: {meshWorkloads: [a, b]}\n`, what: 'alias bomb' };
  }
  if (k < 0.72) return { text: `${text}\n---\nkind: MeshCluster\nmetadata: {name: deep}\nspec: {x: ${'['.repeat(int(r, 50, 3000))}${']'.repeat(3000)}}\n`, what: 'deep nesting' };
  if (k < 0.78) return { text: `${text}\n---\nkind: MeshCluster\nmetadata: &m {name: cyc, labels: {a: b}}\nspec: &s {gateway: {selector: *s}}\n`, what: 'recursive alias' };
  if (k < 0.85) return { text: text.replace(/\n/g, '\r\n'), what: 'CRLF' };
  return { text, what: 'unchanged' };
}

// --- checks --------------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const STACK = /^\s+at .+[:(].*\d+:\d+\)?$|internal error|\bTypeError\b|\bRangeError\b|\bReferenceError\b/m;

interface Counters {
  objects: number;
  envoy: number;
}

function checkObjects(objs: unknown[], where: string, c: Counters): string | undefined {
  for (const o of objs) {
    if (o === null || typeof o !== 'object') return `${where}: a rendered document is not an object`;
    const issues = validateIstioObject(o);
    const obj = o as { kind?: string; metadata?: { name?: string }; spec?: { configPatches?: { patch?: { operation?: string; value?: Record<string, unknown> } }[] } };
    if (issues.length > 0) return `${where}: ${obj.kind} ${obj.metadata?.name}: invalid for Istio's CRD: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
    c.objects++;
    if (obj.kind !== 'EnvoyFilter') continue;
    for (const p of obj.spec?.configPatches ?? []) {
      if (p.patch?.operation !== 'ADD' || !p.patch.value) continue;
      const parsed = parseEnvoyCluster(p.patch.value);
      if (!parsed.ok) return `${where}: EnvoyFilter ${obj.metadata?.name}: not a valid Envoy Cluster: ${parsed.error}`;
      const tc = (p.patch.value.cluster_type as { typed_config?: Record<string, unknown> } | undefined)?.typed_config;
      if (tc?.['@type'] === 'type.googleapis.com/udpa.type.v1.TypedStruct') {
        const inner = checkTypedStructPayload(tc);
        if (!inner.ok) return `${where}: EnvoyFilter ${obj.metadata?.name}: TypedStruct payload: ${inner.error}`;
      }
      c.envoy++;
    }
  }
  return undefined;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

// --- the run ---------------------------------------------------------------------------------------------

const EXAMPLES = ['examples/seed.yaml', 'examples/three-clusters.yaml'].map((f) => readFileSync(join(REPO, f), 'utf8'));

export function buildCase(seed: number, index: number): { input: string; ext: string; steps: string[]; command: (file: string, outDir: string) => string[] } {
  const r = rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const base = pick(r, EXAMPLES);
  const docs = (yaml.loadAll(base) as unknown[]).filter((d) => d !== null && d !== undefined);
  const steps: string[] = [];
  // Mostly one mutation, so that the rest of the input stays valid and the mutated value reaches the output.
  const x = r();
  for (let i = x < 0.1 ? 0 : x < 0.7 ? 1 : x < 0.9 ? 2 : 4; i > 0; i--) steps.push(mutateDocs(r, docs));
  const form = r();
  let input: string;
  let ext = 'yaml';
  if (form < 0.6) input = docs.map((d) => `---\n${yaml.dump(d, { noRefs: true, lineWidth: -1 })}`).join('');
  else if (form < 0.75) {
    input = docs.map((d) => JSON.stringify(d, null, r() < 0.5 ? 2 : 0)).join('\n');
    ext = 'json';
  } else if (form < 0.85) {
    input = yaml.dump({ apiVersion: 'v1', kind: 'List', items: docs }, { noRefs: true });
  } else input = base;
  if (r() < 0.25) {
    const m = mutateText(r, input);
    input = m.text;
    steps.push(m.what);
  }
  const cmd = r();
  const command = (file: string, outDir: string): string[] => {
    if (cmd < 0.3) return ['validate', '-f', file, ...(cmd < 0.15 ? ['-o', 'json'] : [])];
    if (cmd < 0.6) return ['render', '-f', file, '-o', 'json'];
    if (cmd < 0.75) return ['render', '-f', file, '--out-dir', outDir];
    if (cmd < 0.88) return ['render', '-f', file, '--cluster', pick(r, ['cluster1', 'cluster2', 'east', 'west', 'eu'])];
    return ['simulate', '-f', file, '--down', pick(r, ['cluster1', 'east', 'west'])];
  };
  return { input, ext, steps, command };
}

async function runCase(seed: number, index: number, work: string, c: Counters): Promise<{ code: number; problem?: string; command: string[]; input: string; ext: string }> {
  const { input, ext, steps, command } = buildCase(seed, index);
  const file = join(work, `in.${ext}`);
  // Nested, so that a path escaping --out-dir by a few levels still lands inside `work` and is seen.
  const outDir = join(work, 'a', 'b', 'out');
  rmSync(join(work, 'a'), { recursive: true, force: true });
  writeFileSync(file, input);
  const args = command(file, outDir);
  let out = '';
  let err = '';
  let code: number;
  try {
    code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  } catch (e) {
    return { code: -1, problem: `runCli threw: ${(e as Error).stack ?? String(e)}`, command: args, input, ext };
  }
  const problem = ((): string | undefined => {
    if (code !== 0 && code !== 1 && code !== 2) return `exit status ${code}: ${err.slice(0, 500)}`;
    if (STACK.test(out) || STACK.test(err)) return `a stack trace or internal error was printed: ${(err || out).slice(0, 500)}`;
    if (CONTROL.test(err)) return `a control character on stderr: ${JSON.stringify(err.slice(0, 300))}`;
    if (args.includes('--out-dir') ? false : CONTROL.test(out)) return `a control character on stdout: ${JSON.stringify(out.match(new RegExp(`.{0,40}${CONTROL.source}.{0,40}`))?.[0])}`;
    if (code === 2) return undefined;
    if (args[0] === 'render' && args.includes('-o')) {
      let doc: { clusters?: Record<string, unknown[]> };
      try {
        doc = JSON.parse(out) as typeof doc;
      } catch (e) {
        return `render -o json printed invalid JSON: ${(e as Error).message}`;
      }
      for (const [cluster, objs] of Object.entries(doc.clusters ?? {})) {
        const p = checkObjects(objs, cluster, c);
        if (p) return p;
      }
    } else if (args[0] === 'render' && args.includes('--cluster')) {
      const p = checkObjects((yaml.loadAll(out) as unknown[]).filter((d) => d !== null && d !== undefined), 'yaml', c);
      if (p) return p;
    } else if (args.includes('--out-dir')) {
      for (const f of filesUnder(work)) {
        const rel = relative(work, f);
        if (rel === 'in.yaml' || rel === 'in.json') continue;
        if (!rel.startsWith('a/b/out/')) return `--out-dir wrote outside its directory: ${rel}`;
        const text = readFileSync(f, 'utf8');
        if (CONTROL.test(text)) return `a control character in ${rel}`;
        const p = checkObjects([yaml.load(text)], rel, c);
        if (p) return p;
      }
    }
    return undefined;
  })();
  return { code, command: args, input, ext, ...(problem ? { problem: `${problem} [mutations: ${steps.join(', ') || 'none'}]` } : {}) };
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const caseMs = opts.caseMs ?? 10_000;
  const maxRss = (opts.maxRssMb ?? 1536) * 1024 * 1024;
  const saveDir = opts.saveDir ?? join(REPO, '.tmp', 'fuzz');
  const work = mkdtempSync(join(tmpdir(), 'spillway-fuzz-'));
  const report: FuzzReport = { cases: 0, exitCodes: {}, renderedObjects: 0, envoyClusters: 0, maxCaseMs: 0, peakRssMb: 0, totalMs: 0, failures: [] };
  const counters: Counters = { objects: 0, envoy: 0 };
  const t0 = performance.now();
  try {
    const indexes = opts.only !== undefined ? [opts.only] : Array.from({ length: opts.iterations }, (_, i) => i);
    for (const index of indexes) {
      const start = performance.now();
      const res = await runCase(opts.seed, index, work, counters);
      const ms = performance.now() - start;
      const rss = process.memoryUsage().rss;
      report.cases++;
      report.exitCodes[String(res.code)] = (report.exitCodes[String(res.code)] ?? 0) + 1;
      report.maxCaseMs = Math.max(report.maxCaseMs, ms);
      report.peakRssMb = Math.max(report.peakRssMb, rss / 1024 / 1024);
      let problem = res.problem;
      if (!problem && ms > caseMs) problem = `took ${Math.round(ms)} ms (limit ${caseMs})`;
      if (!problem && rss > maxRss) problem = `resident memory ${Math.round(rss / 1024 / 1024)} MiB (limit ${opts.maxRssMb ?? 1536})`;
      if (problem) {
        mkdirSync(saveDir, { recursive: true });
        const saved = join(saveDir, `seed-${opts.seed}-case-${index}.${res.ext}`);
        writeFileSync(saved, res.input);
        const f: FuzzFailure = { seed: opts.seed, index, command: res.command, problem, saved };
        report.failures.push(f);
        log(`FAIL seed ${opts.seed} case ${index}: ${problem}\n  replay: npx tsx scripts/fuzz.ts --seed ${opts.seed} --only ${index}\n  input saved as ${relative(REPO, saved)}; command: spillway ${res.command.join(' ')}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  report.renderedObjects = counters.objects;
  report.envoyClusters = counters.envoy;
  report.totalMs = performance.now() - t0;
  return report;
}

const isMain = process.argv[1] !== undefined && /scripts[/\\]fuzz\.ts$/.test(process.argv[1]);
if (isMain) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const seed = Number(arg('seed') ?? '1');
  const only = arg('only');
  const opts: FuzzOptions = { iterations: Number(arg('iterations') ?? '500'), seed, log: (l) => console.error(l) };
  if (only !== undefined) opts.only = Number(only);
  if (arg('case-ms')) opts.caseMs = Number(arg('case-ms'));
  if (arg('max-rss-mb')) opts.maxRssMb = Number(arg('max-rss-mb'));
  const r = await fuzz(opts);
  console.log(
    `fuzz: seed ${seed}, ${r.cases} cases in ${(r.totalMs / 1000).toFixed(1)} s (${(r.totalMs / Math.max(1, r.cases)).toFixed(0)} ms/case, slowest ${r.maxCaseMs.toFixed(0)} ms), ` +
      `exit statuses ${JSON.stringify(r.exitCodes)}, ${r.renderedObjects} rendered objects checked against Istio's CRDs, ${r.envoyClusters} Envoy clusters parsed, ` +
      `peak RSS ${r.peakRssMb.toFixed(0)} MiB, ${r.failures.length} failure(s)`,
  );
  process.exitCode = r.failures.length > 0 ? 1 : 0;
}
