import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { parseHealth, simulateCommand } from '../../src/cli/simulate.ts';
import type { SimulateArgs } from '../../src/cli/simulate.ts';
import { CliError } from '../../src/cli/errors.ts';
import { render } from '../../src/index.ts';
import { rendered } from './fixtures.ts';
import { renderMessage } from '../../src/api/messages.ts';
import type { Message } from '../../src/api/messages.ts';

const SEED = 'examples/seed.yaml';
const THREE = 'examples/three-clusters.yaml';

function run(args: Partial<SimulateArgs>): { code: number; out: string } {
  let out = '';
  const code = simulateCommand({ files: [SEED], healthy: [], down: [], output: 'text', ...args }, { stdout: (s) => (out += s) });
  return { code, out };
}

interface JsonOut {
  results: { failoverService: string; client: string; tiers: { cluster: string; percent: number }[] }[];
  warnings: Message[];
}
const json = (args: Partial<SimulateArgs>): JsonOut => JSON.parse(run({ ...args, output: 'json' }).out) as JsonOut;

test('-o json prints exactly results and warnings, tiers in priority order, sorted by service then client', () => {
  const doc = json({ healthy: ['cluster1=1/2'] });
  assert.deepEqual(Object.keys(doc), ['results', 'warnings']);
  assert.deepEqual(doc.results, [
    { failoverService: 'default/reviews-remote', client: 'cluster1', tiers: [{ cluster: 'cluster1', percent: 70 }, { cluster: 'cluster2', percent: 30 }] },
    { failoverService: 'default/reviews-remote', client: 'cluster2', tiers: [{ cluster: 'cluster2', percent: 100 }, { cluster: 'cluster1', percent: 0 }] },
  ]);
});

test('--healthy 1/3 of the local tier -> 46/54 (floor(140/3)=46); --down sends everything away', () => {
  assert.deepEqual(json({ healthy: ['cluster1=1/3'] }).results[0]?.tiers.map((t) => t.percent), [46, 54]);
  const down = json({ down: ['cluster2'] });
  assert.deepEqual(down.results.map((r) => r.tiers.map((t) => t.percent)), [[100, 0], [0, 100]]);
});

test('three clusters: remote tiers named after the clusters behind each gateway (one reached by DNS name)', () => {
  const doc = json({ files: [THREE], healthy: ['east=0/2'], down: ['west'] });
  const east = doc.results.find((r) => r.client === 'east');
  assert.deepEqual(east?.tiers, [{ cluster: 'east', percent: 0 }, { cluster: 'west', percent: 0 }, { cluster: 'eu', percent: 100 }]);
  assert.deepEqual(doc.results.map((r) => r.client), ['east', 'eu', 'west']);
});

test('text output: a table per FailoverService and client', () => {
  const { code, out } = run({ healthy: ['cluster1=1/3'] });
  assert.equal(code, 0);
  assert.match(out, /default\/reviews-remote {2}from cluster1/);
  assert.match(out, /P0 +cluster1 +local +3 +1 +1 +46%/);
  assert.match(out, /P1 +cluster2 +remote +1 +1 +1 +54%/);
});

test('already-rendered objects (render -o json output, or YAML objects with cluster labels) simulate the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-sim-'));
  try {
    const seedDocs = yaml.loadAll(readFileSync(SEED, 'utf8'));
    const result = render(seedDocs);
    const jsonFile = join(dir, 'rendered.json');
    writeFileSync(jsonFile, JSON.stringify({ clusters: result.clusters, messages: result.messages }));
    const yamlFile = join(dir, 'rendered.yaml');
    writeFileSync(yamlFile, Object.values(result.clusters).flat().map((o) => `---\n${yaml.dump(o)}`).join(''));
    const fromInputs = json({ healthy: ['cluster1=1/2'] });
    assert.deepEqual(json({ files: [jsonFile], healthy: ['cluster1=1/2'] }), fromInputs);
    assert.deepEqual(json({ files: [yamlFile], healthy: ['cluster1=1/2'] }), fromInputs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


for (const [flag, value, pattern] of [
  ['healthy', 'cluster1=3/2', /more than the total/],
  ['healthy', 'cluster1=x/2', /expected CLUSTER=HEALTHY\/TOTAL/],
  ['healthy', 'cluster1', /expected CLUSTER=HEALTHY\/TOTAL/],
  ['healthy', '=1/2', /expected CLUSTER=HEALTHY\/TOTAL/],
  ['healthy', 'cluster1=1/-2', /expected CLUSTER=HEALTHY\/TOTAL/],
  ['healthy', 'Cluster_1=1/2', /not a cluster name/],
  ['healthy', 'nosuch=1/2', /--healthy nosuch: no such cluster in the input \(have: cluster1, cluster2\)/],
  ['down', 'nosuch', /--down nosuch: no such cluster/],
] as const) {
  test(`bad --${flag} ${value}: CliError with exit 2 and a one-line message`, () => {
    assert.throws(
      () => run(flag === 'healthy' ? { healthy: [value] } : { down: [value] }),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && !e.message.includes('\n') && pattern.test(e.message),
    );
  });
}

test('contradicting or repeated flags are rejected', () => {
  assert.throws(() => parseHealth(['cluster1=1/2'], ['cluster1']), /contradicts/);
  assert.throws(() => parseHealth(['cluster1=1/2', 'cluster1=2/2'], []), /given twice/);
  assert.deepEqual(parseHealth(['cluster1=0/4'], ['cluster1']), { cluster1: { healthy: 0, total: 4 } });
  assert.deepEqual(parseHealth(['a=2'], ['b']), { a: { healthy: 2 }, b: { healthy: 0, total: 1 } });
});

test('hand-written rendered objects with a missing outlier detection surface SIM001 in JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-sim-'));
  try {
    const file = join(dir, 'objs.yaml');
    writeFileSync(file, Object.values(rendered(['c1', 'c2'], { outlierDetection: null })).flat().map((o) => `---\n${yaml.dump(o)}`).join(''));
    const doc = json({ files: [file], down: ['c2'] });
    assert.ok(doc.warnings.some((w) => w.code === 'SIM001'));
    // c2's own clients never eject their failing local pod, so they keep sending everything to it.
    assert.deepEqual(doc.results.find((r) => r.client === 'c2')?.tiers, [{ cluster: 'c2', percent: 100 }, { cluster: 'c1', percent: 0 }]);
    assert.ok(doc.warnings.some((w) => w.code === 'SIM006' && w.message.includes('from c2: 100% of requests go to c2')));
    // Every warning is a message of the table: the FailoverService, the client cluster, typed params, the text from them.
    for (const w of doc.warnings) {
      assert.deepEqual(Object.keys(w), ['code', 'level', 'object', 'ref', 'params', 'message']);
      assert.equal(renderMessage(w.code, w.params as never), w.message);
    }
    const sim006 = doc.warnings.find((w) => w.code === 'SIM006' && w.ref?.cluster === 'c2');
    assert.deepEqual(sim006?.params, { service: 'default/reviews', client: 'c2', percent: 100, cluster: 'c2', hosts: 1 });
    assert.deepEqual(sim006?.ref, { kind: 'FailoverService', namespace: 'default', name: 'reviews', cluster: 'c2' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
