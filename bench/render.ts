/**
 * `npm run bench`: `spillway render -f in.yaml -o json > out.json` timed as a user runs it (the whole process of
 * the installed package, stdout a file), for 1k and 10k FailoverServices over 5 clusters, against an
 * independent floor measured in the same run: js-yaml parsing the input plus JSON.stringify of the parsed
 * output (once per cluster: the whole document is longer than one string can hold), written to a file
 * (bench/render-floor.mjs, no Spillway code). Runs are interleaved; medians are printed.
 * Targets (issue 13): 10k x 5 within 1.5x the floor, peak memory under 1 GiB. Exits 1 when a target is missed.
 * Options: --sizes 1000,10000 --runs 3 --clusters 5 --bin PATH (an installed `spillway`; default: pack and install)
 * --profile (one more render run under `node --cpu-prof`, profile in .tmp/bench/).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, closeSync, readSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spillwayBin } from './startup-install.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
};
const sizes = arg('sizes', '1000,10000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const CLUSTERS = Number(arg('clusters', '5'));
const PROFILE = process.argv.includes('--profile');
const TARGET_RATIO = 1.5;
const TARGET_RSS_MB = 1024;

function inputYaml(n: number): string {
  const parts: string[] = [];
  for (let c = 1; c <= CLUSTERS; c++) {
    // A NodePort gateway with the Service port behind it (without servicePort every service gets a warning, SPW134).
    parts.push(`apiVersion: spillway.dev/v1alpha1\nkind: MeshCluster\nmetadata:\n  name: cluster${c}\nspec:\n  gateway:\n    address: 192.0.2.${c}\n    port: 32000\n    servicePort: 443\n`);
  }
  for (let i = 0; i < n; i++) {
    const ns = `team${i % 50}`;
    for (let c = 1; c <= CLUSTERS; c++) {
      parts.push(`apiVersion: spillway.dev/v1alpha1\nkind: MeshWorkload\nmetadata:\n  name: svc${i}-cluster${c}\n  namespace: ${ns}\nspec:\n  cluster: cluster${c}\n  service:\n    name: svc${i}\n    namespace: ${ns}\n  ports:\n  - name: http\n    number: 8080\n    protocol: HTTP\n`);
    }
    const list = Array.from({ length: CLUSTERS }, (_, k) => `  - svc${i}-cluster${((i + k) % CLUSTERS) + 1}`).join('\n');
    parts.push(`apiVersion: spillway.dev/v1alpha1\nkind: FailoverService\nmetadata:\n  name: svc${i}\n  namespace: ${ns}\nspec:\n  meshWorkloads:\n${list}\n`);
  }
  return parts.join('---\n');
}

// Each measured process reports its own peak RSS and CPU time at exit (a one-line hook, no other effect on the
// process). Peak RSS is VmHWM, the high-water mark of the process's own memory since exec: getrusage's maxRSS would
// also count the parent's memory that the child held between fork and exec.
const RSS_HOOK_FILE = resolve('.tmp/bench/rss-hook.mjs');
mkdirSync(dirname(RSS_HOOK_FILE), { recursive: true });
writeFileSync(
  RSS_HOOK_FILE,
  "import { readFileSync } from 'node:fs';\n" +
    "process.on('exit', () => {\n" +
    "  const u = process.resourceUsage();\n" +
    "  let kb = u.maxRSS;\n" +
    "  try { kb = Number(/^VmHWM:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]); } catch { /* not Linux */ }\n" +
    "  process.stderr.write(`\\nbench-usage ${kb} ${u.userCPUTime + u.systemCPUTime}\\n`);\n" +
    "});\n",
);
const RSS_HOOK = pathToFileURL(RSS_HOOK_FILE).href;

/** Peak RSS (MB) and CPU time, user + system (ms), the process reported at exit. */
function usage(stderr: string): { rssMB: number; cpuMs: number } {
  const m = /bench-usage (\d+) (\d+)/.exec(stderr);
  if (!m) throw new Error(`no usage reported: ${stderr.slice(-500)}`);
  return { rssMB: Number(m[1]) / 1024, cpuMs: Number(m[2]) / 1000 };
}

interface Job { ms: number; cpuMs: number; rssMB: number; bytes: number }
function renderJob(bin: string, input: string, out: string, profileDir?: string): Job {
  const fd = openSync(out, 'w');
  const t = process.hrtime.bigint();
  const args = ['render', '-f', input, '-o', 'json'];
  // The profiled run starts the installed entry point under node itself (--cpu-prof is refused in NODE_OPTIONS).
  const [cmd, argv] = profileDir === undefined ? [bin, args] : [process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, realpathSync(bin), ...args]];
  const r = spawnSync(cmd, argv, {
    stdio: ['ignore', fd, 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: `--import=${RSS_HOOK}` },
  });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  closeSync(fd);
  if (r.status !== 0) throw new Error(`spillway render exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return { ms, ...usage(r.stderr), bytes: statSync(out).size };
}

interface Floor { ms: number; parseMs: number; stringifyMs: number; writeMs: number; cpuMs: number; rssMB: number }
function floorJob(input: string, rendered: string, out: string): Floor {
  const r = spawnSync(process.execPath, [`--import=${RSS_HOOK}`, '--max-old-space-size=8192', 'bench/render-floor.mjs', input, rendered, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`floor exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  const f = JSON.parse(r.stdout.trim()) as { parseMs: number; stringifyMs: number; writeMs: number; cpuMs: number };
  return { ...f, ms: f.parseMs + f.stringifyMs + f.writeMs, rssMB: usage(r.stderr).rssMB };
}

function digest(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  closeSync(fd);
  return h.digest('hex');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const work = join(tmpdir(), 'spillway-bench-render');
const bin = spillwayBin(join(work, 'package'));
const dir = resolve('.tmp/bench');
mkdirSync(dir, { recursive: true });
console.log(`spillway render benchmark: ${CLUSTERS} clusters, ${runs} interleaved run(s) each, node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
console.log(`job: ${bin} render -f IN -o json > OUT (whole process); floor: js-yaml parse of IN + JSON.stringify of the parsed OUT (once per cluster), written to a file`);
let missed = 0;
const rows: { n: number; job: number }[] = [];
for (const n of sizes) {
  const input = join(dir, `input-${n}x${CLUSTERS}.yaml`);
  const out = join(dir, `output-${n}x${CLUSTERS}.json`);
  const floorOut = join(dir, `floor-${n}x${CLUSTERS}.json`);
  writeFileSync(input, inputYaml(n));
  const jobs: Job[] = [];
  const floors: Floor[] = [];
  jobs.push(renderJob(bin, input, out)); // also provides the output the floor serializes
  // Compared by digest: this process stays small, so what it holds cannot leak into a child's figures.
  const reference = digest(out);
  for (let r = 0; r < runs; r++) {
    if (r > 0) jobs.push(renderJob(bin, input, out));
    floors.push(floorJob(input, out, floorOut));
    if (digest(out) !== reference) throw new Error('render output differs between runs');
  }
  rmSync(floorOut, { force: true });
  const job = median(jobs.map((j) => j.ms));
  const floor = median(floors.map((f) => f.ms));
  const rss = Math.max(...jobs.map((j) => j.rssMB));
  const ratio = job / floor;
  rows.push({ n, job });
  const checked = n === Math.max(...sizes);
  const verdict = checked
    ? ` | target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}, peak RSS < ${TARGET_RSS_MB} MB: ${rss < TARGET_RSS_MB ? 'met' : 'MISSED'}`
    : '';
  if (checked && (ratio > TARGET_RATIO || rss >= TARGET_RSS_MB)) missed++;
  console.log(
    `${String(n).padStart(6)} services: input ${(statSync(input).size / 1e6).toFixed(1)} MB, output ${(jobs[0]!.bytes / 1e6).toFixed(0)} MB | ` +
      `floor ${sec(median(floors.map((f) => f.parseMs)))} parse + ${sec(median(floors.map((f) => f.stringifyMs)))} stringify + ${sec(median(floors.map((f) => f.writeMs)))} write = ${sec(floor)} | ` +
      `render ${sec(job)} = ${ratio.toFixed(2)}x floor | CPU time: floor ${sec(median(floors.map((f) => f.cpuMs)))}, render ${sec(median(jobs.map((j) => j.cpuMs)))} = ${(median(jobs.map((j) => j.cpuMs)) / median(floors.map((f) => f.cpuMs))).toFixed(2)}x | peak RSS ${rss.toFixed(0)} MB (floor ${Math.max(...floors.map((f) => f.rssMB)).toFixed(0)} MB)${verdict}`,
  );
  if (PROFILE) {
    const profDir = join(dir, `profile-${n}`);
    rmSync(profDir, { recursive: true, force: true });
    renderJob(bin, input, out, profDir);
    console.log(`  CPU profile of one more run: ${profDir}`);
  }
}
if (rows.length >= 2) {
  const [a, b] = [rows[0]!, rows[rows.length - 1]!];
  console.log(`scaling ${a.n} -> ${b.n} services: time x${(b.job / a.job).toFixed(1)} for x${(b.n / a.n).toFixed(0)} the work`);
}
if (missed > 0) {
  console.log('target missed');
  process.exitCode = 1;
}
