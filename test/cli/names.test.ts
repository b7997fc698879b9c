/**
 * Names and values are checked where they enter: every name that reaches a file path, an object name or a label,
 * and every value Envoy or Kubernetes would reject, is an error at `validate`; `render --out-dir` never writes
 * outside its directory whatever the input says; messages never carry a control character to the terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { render } from '../../src/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { runCli } from '../../src/cli/main.ts';
import { writeOutDir } from '../../src/cli/output.ts';
import { durationNanos, labelKeyError, labelValueError } from '../../src/api/values.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const SEED_DOCS = (yaml.loadAll(readFileSync(join(REPO, 'examples/seed.yaml'), 'utf8')) as KubeObject[]).filter(Boolean);

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

/** The seed with `value` set at `path` of the document of `kind` (the first one). */
function seedWith(kind: string, path: string[], value: unknown): KubeObject[] {
  const docs = structuredClone(SEED_DOCS);
  const doc = docs.find((d) => d.kind === kind) as Record<string, unknown>;
  let cur = doc;
  for (const p of path.slice(0, -1)) {
    cur[p] ??= {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path.at(-1) as string] = value;
  return docs;
}

const HOSTILE = ['/../../escaped', '../up', 'a/b', 'Upper', 'dot..dot', 'x'.repeat(300), 'evil\u001b[31m', 'nul\u0000', ''];

const NAME_FIELDS: [kind: string, path: string[], hostile: string[]][] = [
  ['MeshCluster', ['spec', 'istio', 'rootNamespace'], HOSTILE],
  ['MeshCluster', ['spec', 'clusterDomain'], HOSTILE],
  ['MeshCluster', ['spec', 'kubeconfigSecret', 'namespace'], HOSTILE],
  ['MeshCluster', ['spec', 'network'], ['/../x', 'a b', 'x'.repeat(64), '-lead']],
  ['MeshCluster', ['spec', 'locality', 'region'], ['us/east', 'a b', 'x'.repeat(64)]],
  ['MeshCluster', ['spec', 'locality', 'zone'], ['us/east', 'a b']],
  ['MeshWorkload', ['spec', 'cluster'], HOSTILE],
  ['MeshWorkload', ['spec', 'service', 'name'], [...HOSTILE, '1starts-with-digit']],
  ['MeshWorkload', ['spec', 'service', 'namespace'], HOSTILE],
  ['FailoverService', ['spec', 'meshWorkloads'], HOSTILE.filter((h) => h !== 'a/b').map((h) => [h, 'reviews-cluster2']) as unknown as string[]],
];

test('every name field rejects hostile names at validate, naming the field (SPW100)', () => {
  let cases = 0;
  for (const [kind, path, values] of NAME_FIELDS) {
    for (const v of values) {
      const r = render(seedWith(kind, path, v));
      const field = path.slice(1).join('.');
      const mine = r.messages.filter((m) => m.level === 'error' && m.object.startsWith(`${kind}/`) && m.message.includes(field));
      assert.ok(mine.length > 0, `${kind} ${field} = ${JSON.stringify(v)}: ${JSON.stringify(r.messages)}`);
      assert.ok(mine.every((m) => m.code === 'SPW100'), JSON.stringify(mine));
      cases++;
    }
  }
  assert.ok(cases > 60);
});

test('selector label keys and values are checked as Kubernetes does (gateway selector, clientSelector)', () => {
  const badKeys = ['app/', '/app', '-app', 'a'.repeat(64), 'UPPER.example.com/app', 'a b', 'x/y/z'];
  const badValues = ['has space', 'x'.repeat(64), '-lead', 'trail-', 'a/b'];
  for (const [kind, path] of [['MeshCluster', ['spec', 'gateway', 'selector']], ['FailoverService', ['spec', 'clientSelector']]] as const) {
    for (const k of badKeys) {
      const r = render(seedWith(kind, [...path], { [k]: 'ok' }));
      assert.ok(r.messages.some((m) => m.code === 'SPW100' && m.object.startsWith(`${kind}/`) && /label key/.test(m.message)), `${kind} key ${k}: ${JSON.stringify(r.messages)}`);
    }
    for (const v of badValues) {
      const r = render(seedWith(kind, [...path], { app: v }));
      assert.ok(r.messages.some((m) => m.code === 'SPW100' && m.object.startsWith(`${kind}/`)), `${kind} value ${v}: ${JSON.stringify(r.messages)}`);
    }
    const ok = render(seedWith(kind, [...path], { 'app.kubernetes.io/name': 'a-b_c.d', istio: 'eastwestgateway', empty: '' }));
    assert.deepEqual(ok.messages.filter((m) => m.level === 'error'), [], `${kind}: valid labels pass`);
  }
  assert.equal(labelKeyError('example.com/app'), undefined);
  assert.equal(labelValueError(''), undefined);
});

test('durations Envoy or istiod would reject are errors at validate: 0, below 1ms, sub-millisecond, beyond the range', () => {
  const fields: string[][] = [['spec', 'connectTimeout'], ['spec', 'outlierDetection', 'interval'], ['spec', 'outlierDetection', 'baseEjectionTime']];
  for (const f of fields) {
    for (const bad of ['0s', '0ms', '0.5ms', '999us', '1500us', '1.0005s', '2562048h', '99999999999h']) {
      const r = render(seedWith('FailoverService', f, bad));
      const m = r.messages.find((x) => x.code === 'SPW100' && x.message.startsWith(f.join('.')));
      assert.ok(m, `${f.join('.')} = ${bad}: ${JSON.stringify(r.messages)}`);
      assert.equal(Object.values(r.clusters).flat().length, 0, 'nothing is rendered for it');
    }
    for (const good of ['1ms', '250ms', '1.5s', '1m30s', '2562047h']) {
      const r = render(seedWith('FailoverService', f, good));
      assert.deepEqual(r.messages.filter((x) => x.level === 'error'), [], `${f.join('.')} = ${good}`);
    }
  }
  assert.equal(durationNanos('1.5h'), 5_400_000_000_000n);
  assert.equal(durationNanos('1m30s'), 90_000_000_000n);
});

test('list lengths are bounded: a FailoverService lists at most 32 workloads, a huge list is one message and no output', () => {
  const names = Array.from({ length: 33 }, (_, i) => `w${i}`);
  const r = render(seedWith('FailoverService', ['spec', 'meshWorkloads'], names));
  assert.ok(r.messages.some((m) => m.code === 'SPW100' && /spec\.meshWorkloads: must have at most 32 items/.test(m.message)), JSON.stringify(r.messages));
  // What issue 10 reported: a 50 MB list gave 538 MB of output (a message per missing workload). Now: one message.
  const huge = Array.from({ length: 2_000_000 }, (_, i) => `workload-${i}`);
  const t0 = Date.now();
  const big = render(seedWith('FailoverService', ['spec', 'meshWorkloads'], huge));
  assert.ok(Date.now() - t0 < 20_000);
  assert.ok(big.messages.length <= 2, JSON.stringify(big.messages).slice(0, 500));
  assert.ok(JSON.stringify(big).length < 10_000);
  const ports = Array.from({ length: 257 }, (_, i) => ({ name: `p${i}`, number: 1000 + i, protocol: 'HTTP' }));
  const rp = render(seedWith('MeshWorkload', ['spec', 'ports'], ports));
  assert.ok(rp.messages.some((m) => /spec\.ports: must have at most 256 items/.test(m.message)));
});

test('render --out-dir with hostile names writes nothing outside its directory (rootNamespace "/../../escaped" and more)', async () => {
  const base = mkdtempSync(join(tmpdir(), 'spillway-outdir-'));
  try {
    const out = join(base, 'a', 'b');
    for (const [kind, path, values] of NAME_FIELDS) {
      for (const v of values) {
        const f = join(base, 'in.yaml');
        writeFileSync(f, seedWith(kind, path, v).map((d) => `---\n${yaml.dump(d)}`).join(''));
        const r = await cli('render', '-f', f, '--out-dir', out);
        assert.ok(r.code === 1, `${kind} ${path.join('.')}=${JSON.stringify(v)}: exit ${r.code} ${r.err}`);
        assert.deepEqual(readdirSync(base).sort(), ['a', 'in.yaml'], `nothing written beside the directory for ${JSON.stringify(v)}`);
        assert.deepEqual(readdirSync(join(base, 'a')), ['b']);
        for (const c of readdirSync(out)) assert.match(c, /^cluster[12]$/);
      }
    }
    assert.ok(!existsSync(join(base, 'escaped')) && !existsSync('/escaped'));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('the --out-dir writer itself refuses names that leave the directory, symlinks and clashes, writing nothing (SPW009)', () => {
  const base = mkdtempSync(join(tmpdir(), 'spillway-writer-'));
  const obj = (name: string, namespace = 'default', kind = 'ServiceEntry'): KubeObject => ({ apiVersion: 'networking.istio.io/v1', kind, metadata: { name, namespace } });
  const refuse = (clusters: Record<string, KubeObject[]>, pattern: RegExp) => {
    assert.throws(() => writeOutDir(join(base, 'out'), clusters), (e: Error) => {
      assert.match(e.message, /^SPW009 --out-dir /);
      assert.match(e.message, pattern);
      return true;
    });
  };
  try {
    refuse({ '../evil': [obj('x')] }, /cannot name a folder/);
    refuse({ c1: [obj('../../../x')] }, /cannot name a file/);
    refuse({ c1: [obj('x', '../..')] }, /cannot name a file/);
    refuse({ c1: [obj('x/y')] }, /cannot name a file/);
    refuse({ c1: [obj('ok')], c2: [obj('ok'), obj('a\u0000b')] }, /cannot name a file/);
    refuse({ c1: [obj('c', 'a-b'), obj('b-c', 'a')] }, /would be written here/);
    assert.ok(!existsSync(join(base, 'out')), 'a refused render writes nothing, not even the folders');
    // A symlink planted in the output directory is never followed.
    const outside = join(base, 'outside');
    mkdirSync(outside);
    mkdirSync(join(base, 'out'));
    symlinkSync(outside, join(base, 'out', 'c1'));
    refuse({ c1: [obj('x')] }, /symlink that leads outside/);
    rmSync(join(base, 'out', 'c1'));
    mkdirSync(join(base, 'out', 'c1'));
    writeFileSync(join(outside, 'target'), 'precious');
    symlinkSync(join(outside, 'target'), join(base, 'out', 'c1', 'serviceentry-default-x.yaml'));
    refuse({ c1: [obj('x')] }, /is a symlink \(not followed\)/);
    assert.equal(readFileSync(join(outside, 'target'), 'utf8'), 'precious');
    assert.deepEqual(readdirSync(outside), ['target']);
    const ok = writeOutDir(join(base, 'ok'), { c1: [obj('x')] });
    assert.deepEqual(ok, [join(base, 'ok', 'c1', 'serviceentry-default-x.yaml')]);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('no control character from the input reaches the terminal: names and values are escaped in messages', async () => {
  const base = mkdtempSync(join(tmpdir(), 'spillway-ctl-'));
  try {
    const f = join(base, 'evil\u001b]0;title\u0007.yaml');
    const docs = seedWith('MeshCluster', ['metadata', 'name'], 'evil\u001b[2J\u202e');
    docs.push({ apiVersion: 'v1', kind: 'Sec\u001bret', metadata: { name: 'x\ny' } } as KubeObject);
    writeFileSync(f, docs.map((d) => `---\n${JSON.stringify(d)}`).join('\n'));
    for (const args of [['validate', '-f', f], ['render', '-f', f], ['validate', '-f', f, '-o', 'json'], ['render', '-f', join(base, 'missing\u001b[1m.yaml')]]) {
      const r = await cli(...args);
      assert.ok(r.code === 1 || r.code === 2, `${args.join(' ')}: ${r.code}`);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(r.out + r.err, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, `${args.join(' ')} printed a control character`);
    }
    const v = await cli('validate', '-f', f);
    assert.match(v.out, /evil\\x1b\[2J\\u202e/, 'escaped, visible');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
