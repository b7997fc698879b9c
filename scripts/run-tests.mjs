#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner (node --test does not expand globs on
// Node 20, so the list is built here). Extra arguments narrow the run: `npm test -- test/translate`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureGoTools } from './build-go-tools.mjs';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('test', []).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The upstream Go components the suite runs against (Istio's CRD bundle, the istiod oracle): a no-op when
// cached, so a plain clone needs only `npm ci && npm test`. A failure here is one line, not a hung suite.
try {
  ensureGoTools();
} catch (e) {
  console.error(`build-go-tools: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
