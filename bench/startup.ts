/**
 * `npm run bench:startup`: start-up time of the installed CLI against `node -e 0` on the same machine, in the
 * same run. Installs the packed package into a temporary prefix (see startup-install.ts), then runs, from a
 * folder outside the repository and interleaved so that noise hits every command alike:
 *   floor     node -e 0
 *   version   spillway --version
 *   validate  spillway validate -f seed.yaml        (the bundled two-cluster example)
 * Each figure is a whole process (spawn to exit), the median of --runs (default 21). Targets: --version within 3x
 * the floor, validate within 6x. Exits 1 when a target is missed. Options: --runs N, --bin PATH (skip the install).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spillwayBin } from './startup-install.ts';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 21;
// Outside the repository, so that nothing resolves from its node_modules.
const work = join(tmpdir(), 'spillway-bench-startup');
const bin = spillwayBin(join(work, 'package'));
const elsewhere = join(work, 'elsewhere');
mkdirSync(elsewhere, { recursive: true });
copyFileSync('examples/seed.yaml', join(elsewhere, 'seed.yaml'));

interface Case {
  name: string;
  cmd: string;
  args: string[];
  expect: RegExp;
  target?: number;
}
const cases: Case[] = [
  { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], expect: /^$/ },
  { name: 'spillway --version', cmd: bin, args: ['--version'], expect: /^\d+\.\d+\.\d+/, target: 3 },
  { name: 'spillway validate -f seed.yaml', cmd: bin, args: ['validate', '-f', 'seed.yaml'], expect: /^no problems found\n$/, target: 6 },
];

function once(c: Case): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { cwd: elsewhere, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 || !c.expect.test(r.stdout)) throw new Error(`${c.name}: exit ${r.status}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}, stderr ${r.stderr.slice(0, 500)}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

for (const c of cases) once(c); // warm the file cache; not counted
const times = cases.map(() => [] as number[]);
for (let r = 0; r < RUNS; r++) {
  // Rotate the order each round so no command always runs right after another.
  for (let k = 0; k < cases.length; k++) {
    const i = (k + r) % cases.length;
    times[i]!.push(once(cases[i]!));
  }
}

console.log(`spillway start-up benchmark: ${RUNS} interleaved runs each, node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
console.log(`installed: ${bin}, run from ${elsewhere}`);
const floor = median(times[0]!);
let missed = 0;
cases.forEach((c, i) => {
  const m = median(times[i]!);
  const ratio = m / floor;
  const verdict = c.target === undefined ? 'floor' : `${ratio.toFixed(2)}x floor (target <= ${c.target}x): ${ratio <= c.target ? 'met' : 'MISSED'}`;
  if (c.target !== undefined && ratio > c.target) missed++;
  console.log(`${c.name.padEnd(32)} median ${m.toFixed(1).padStart(7)} ms (min ${Math.min(...times[i]!).toFixed(1)}, max ${Math.max(...times[i]!).toFixed(1)}) | ${verdict}`);
});
if (missed > 0) {
  console.log(`${missed} target(s) missed`);
  process.exitCode = 1;
}
