/**
 * `npm run bench`: renders 1k and 10k FailoverServices over 5 clusters to JSON and compares it with the floor,
 * the time just to parse that input YAML and to serialize an output of that size. Each figure comes from a fresh
 * process; the median of the runs is printed. Targets (issue #2): 10k x 5 within 2x the floor, peak memory under
 * 2 GiB, cost linear in services x clusters. Options: --sizes 1000,10000 --runs 3 --clusters 5
 */
import { mkdirSync, writeFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
};
const sizes = arg('sizes', '1000,10000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const CLUSTERS = Number(arg('clusters', '5'));

function inputYaml(n: number): string {
  const parts: string[] = [];
  for (let c = 1; c <= CLUSTERS; c++) {
    parts.push(`apiVersion: spillway.dev/v1alpha1\nkind: MeshCluster\nmetadata:\n  name: cluster${c}\nspec:\n  gateway:\n    address: 192.0.2.${c}\n    port: 32000\n`);
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

function measure(mode: 'floor' | 'job', file: string): Record<string, number> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--max-old-space-size=4096', 'bench/render-worker.ts', mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, number>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

mkdirSync('.tmp/bench', { recursive: true });
console.log(`spillway render benchmark: ${CLUSTERS} clusters, ${runs} run(s) each, node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
const rows: { n: number; floor: number; job: number; rss: number }[] = [];
for (const n of sizes) {
  const file = `.tmp/bench/input-${n}x${CLUSTERS}.yaml`;
  writeFileSync(file, inputYaml(n));
  const floors = Array.from({ length: runs }, () => measure('floor', file));
  const jobs = Array.from({ length: runs }, () => measure('job', file));
  if (jobs.some((j) => j.code !== 0)) throw new Error('render reported errors on the benchmark input');
  const parse = median(floors.map((f) => f.parseMs as number));
  const ser = median(floors.map((f) => f.serializeMs as number));
  const job = median(jobs.map((j) => j.totalMs as number));
  const rss = Math.max(...jobs.map((j) => j.maxRssMB as number));
  rows.push({ n, floor: parse + ser, job, rss });
  console.log(
    `${String(n).padStart(6)} services: input ${(statSync(file).size / 1e6).toFixed(1)} MB, output ${((jobs[0]?.outBytes ?? 0) / 1e6).toFixed(0)} MB | ` +
      `floor ${(parse / 1000).toFixed(2)} s parse + ${(ser / 1000).toFixed(2)} s serialize = ${((parse + ser) / 1000).toFixed(2)} s | ` +
      `render job ${(job / 1000).toFixed(2)} s = ${(job / (parse + ser)).toFixed(2)}x floor | peak RSS ${rss.toFixed(0)} MB | ` +
      `${((job * 1000) / (n * CLUSTERS)).toFixed(1)} us per service x cluster`,
  );
}
if (rows.length >= 2) {
  const [a, b] = [rows[0]!, rows[rows.length - 1]!];
  console.log(`scaling ${a.n} -> ${b.n} services: time x${(b.job / a.job).toFixed(1)} for x${(b.n / a.n).toFixed(0)} the work (linear = x${(b.n / a.n).toFixed(0)})`);
}
