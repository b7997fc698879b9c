// The independent floor of `npm run bench`, in plain JavaScript (no Spillway code, no TypeScript loader):
// js-yaml parses the input, then the parsed render output is serialized with JSON.stringify and written to a file.
// The output is read and parsed first, untimed: it only provides objects of the right size and shape. Its JSON is
// one object a line (the `{clusters, messages}` document spillway prints), read line by line: at 10k services over
// 5 clusters it is longer than one JavaScript string can hold, so the floor stringifies once per cluster (and once
// for the messages) rather than once for the whole document.
// Reports wall time and CPU time (user + system) of the timed part.
// Usage: node bench/render-floor.mjs INPUT.yaml RENDERED.json OUT.json; prints one JSON line.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import yaml from 'js-yaml';

const [input, rendered, out] = process.argv.slice(2);

/** The rendered document's parts: one array per cluster and the messages, each line of the file one element. */
function readRendered(file) {
  const buf = readFileSync(file);
  const parts = [];
  let current;
  for (let start = 0; start < buf.length; ) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    let line = buf.toString('utf8', start, end);
    start = end + 1;
    if (line.endsWith(',')) line = line.slice(0, -1);
    const open = /^(?:"([^"]+)": \[|\}, "messages": \[)(\]\}?)?$/.exec(line);
    if (open) {
      current = { name: open[1] ?? 'messages', items: [] };
      parts.push(current);
    } else if (line.startsWith('{"') && current) current.items.push(JSON.parse(line));
  }
  return parts;
}

const parts = readRendered(rendered);
const cpu0 = process.cpuUsage();
let t = performance.now();
const docs = yaml.loadAll(readFileSync(input, 'utf8'));
const parseMs = performance.now() - t;
t = performance.now();
const texts = parts.map((p) => JSON.stringify(p.items));
const stringifyMs = performance.now() - t;
t = performance.now();
const fd = openSync(out, 'w');
let bytes = 0;
for (const text of texts) bytes += writeSync(fd, text);
closeSync(fd);
const writeMs = performance.now() - t;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ documents: docs.length, objects: parts.reduce((n, p) => n + p.items.length, 0), parseMs, stringifyMs, writeMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes }));
