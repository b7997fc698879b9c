// The independent floor of `npm run bench`, in plain JavaScript (no Spillway code, no TypeScript loader):
// js-yaml parses the input, then one JSON.stringify of the parsed render output is written to a file.
// The output is read and parsed first, untimed: it only provides an object of the right size and shape.
// Reports wall time and CPU time (user + system) of the timed part.
// Usage: node bench/render-floor.mjs INPUT.yaml RENDERED.json OUT.json; prints one JSON line.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import yaml from 'js-yaml';

const [input, rendered, out] = process.argv.slice(2);
const parsedOutput = JSON.parse(readFileSync(rendered, 'utf8'));
const cpu0 = process.cpuUsage();
let t = performance.now();
const docs = yaml.loadAll(readFileSync(input, 'utf8'));
const parseMs = performance.now() - t;
t = performance.now();
const text = JSON.stringify(parsedOutput);
const stringifyMs = performance.now() - t;
t = performance.now();
writeFileSync(out, text);
const writeMs = performance.now() - t;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ documents: docs.length, parseMs, stringifyMs, writeMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes: text.length }));
