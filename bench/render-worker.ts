/**
 * One measurement in a fresh process (so peak RSS is its own). Modes:
 *   floor FILE  - read + parse the input YAML (timed), render (untimed), serialize that output (timed)
 *   job FILE    - the real `spillway render -f FILE -o json`, stdout to /dev/null (timed end to end)
 * Prints one JSON line.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import yaml from 'js-yaml';
import { render } from '../src/index.ts';
import { runCli } from '../src/cli/main.ts';
import { jsonChunks, writeChunks } from '../src/cli/output.ts';

const [mode, file] = process.argv.slice(2);
if (!file || (mode !== 'floor' && mode !== 'job')) throw new Error('usage: render-worker.ts floor|job FILE');
const devnull = openSync('/dev/null', 'w');
let bytes = 0;
const sink = (s: string) => {
  bytes += Buffer.byteLength(s);
  writeSync(devnull, s);
};

if (mode === 'floor') {
  let t = performance.now();
  const docs = yaml.loadAll(readFileSync(file, 'utf8'));
  const parseMs = performance.now() - t;
  const result = render(docs);
  t = performance.now();
  writeChunks(jsonChunks(result), sink);
  const serializeMs = performance.now() - t;
  console.log(JSON.stringify({ parseMs, serializeMs, outBytes: bytes, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
} else {
  const t = performance.now();
  const code = await runCli(['render', '-f', file, '-o', 'json'], { stdout: sink, stderr: (s) => process.stderr.write(s) });
  const totalMs = performance.now() - t;
  console.log(JSON.stringify({ code, totalMs, outBytes: bytes, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}
closeSync(devnull);
