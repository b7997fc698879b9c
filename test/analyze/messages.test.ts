/**
 * The table of codes (src/api/messages.ts): every code in it is raised by the source and documented, every message
 * the analyzer emits resolves in it and renders back from its params (also after a JSON round trip), and a code
 * that is not in the table, or params of the wrong shape, do not compile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { CHECK_CODES, EVENT_CODES, INPUT_CODES, KUBECONFIG_CODES, MESSAGES, codeTable, docsAnchor, isCode, message, renderFinding, renderMessage } from '../../src/api/messages.ts';
import type { Message, MessageCode } from '../../src/api/messages.ts';
import { escapeControl } from '../../src/api/text.ts';
import { parseDocuments } from '../../src/cli/inputs.ts';
import { render } from '../../src/index.ts';
import { codesSection, withCodes } from '../../scripts/messages-doc.ts';
import { sourceFiles } from '../support/source-files.ts';

const REPO = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, REPO), 'utf8');

test('every code of the table is raised somewhere in the source (the table itself does not count)', { timeout: 60_000 }, () => {
  const root = new URL('src/', REPO).pathname;
  const text = sourceFiles(root).filter((f) => !f.endsWith('/api/messages.ts')).map((f) => readFileSync(f, 'utf8')).join('\n');
  const unused = codeTable().map((r) => r.code).filter((code) => !text.includes(`'${code}'`));
  assert.deepEqual(unused, [], 'codes in the table that no source file raises');
});

test('every code the source names is in the table', { timeout: 60_000 }, () => {
  const root = new URL('src/', REPO).pathname;
  const named = new Set<string>();
  for (const f of sourceFiles(root)) for (const m of readFileSync(f, 'utf8').matchAll(/'((?:SPW|SPC|SIM)\d{3})'/g)) named.add(m[1]!);
  assert.ok(named.size > 60, `found ${named.size} codes in the source`);
  assert.deepEqual([...named].filter((c) => !isCode(c)).sort(), []);
});

test('docs/messages.md lists every code with its anchor, level, name and title, as the table generates them', () => {
  const page = read('docs/messages.md');
  assert.equal(withCodes(page), page, 'docs/messages.md is out of date: run npm run docs:messages');
  for (const r of codeTable()) {
    assert.equal(r.anchor, docsAnchor(r.code));
    assert.ok(page.includes(`<a id="${r.code.toLowerCase()}"></a>${r.code} | ${r.level} | ${r.name} |`), `${r.code} row`);
  }
  assert.ok(codesSection().split('\n').length > codeTable().length);
  // Names are unique, so programs may match on them too.
  const names = codeTable().map((r) => r.name);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
});

test('the three families do not overlap and every code is well formed', () => {
  const all = [...Object.keys(MESSAGES), ...Object.keys(CHECK_CODES), ...Object.keys(INPUT_CODES), ...Object.keys(KUBECONFIG_CODES), ...Object.keys(EVENT_CODES)];
  assert.equal(new Set(all).size, all.length);
  for (const c of Object.keys(MESSAGES)) assert.match(c, /^(SPW1\d\d|SIM0\d\d)$/);
  for (const c of Object.keys(CHECK_CODES)) assert.match(c, /^SPC1\d\d$/);
  for (const c of Object.keys(INPUT_CODES)) assert.match(c, /^SPW0\d\d$/);
  for (const c of Object.keys(KUBECONFIG_CODES)) assert.match(c, /^SPW2\d\d$/);
  for (const c of Object.keys(EVENT_CODES)) assert.match(c, /^SPW3\d\d$/);
});

/** Every message the analyzer grid emits: resolves in the table, renders back from its params, survives JSON. */
function gridMessages(): Message[] {
  const dir = new URL('test/analyze/cases/', REPO);
  const out: Message[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml') && !x.startsWith('_'))) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    const bases = [...text.matchAll(/^# base: (.*)$/gm)].map((m) => (m[1] ?? '').trim());
    const docs = [...bases.flatMap((b) => parseDocuments(readFileSync(new URL(b, dir), 'utf8'), `cases/${b}`)), ...parseDocuments(text, `cases/${f}`)];
    out.push(...render(docs).messages);
  }
  return out;
}

test('every emitted message resolves in the table and its params round-trip through JSON to the same text', () => {
  const msgs = gridMessages();
  assert.ok(msgs.length > 40);
  for (const m of msgs) {
    assert.ok(Object.hasOwn(MESSAGES, m.code), `${m.code} is in the table`);
    assert.equal(m.level, MESSAGES[m.code].level, `${m.code} has the table's level`);
    assert.equal(renderMessage(m.code, m.params as never), m.message);
    const back = JSON.parse(JSON.stringify(m)) as Message;
    assert.deepEqual(back.params, m.params);
    assert.equal(renderMessage(back.code, back.params as never), m.message);
    if (m.object.startsWith('FailoverService/')) assert.deepEqual(m.ref?.kind, 'FailoverService');
  }
  // Field paths are JSON paths into the object.
  for (const m of msgs) if (m.path !== undefined) assert.match(m.path, /^(apiVersion|kind|metadata|spec)(\.[A-Za-z0-9]+|\[\d+\]|\["[^"]*"\])*$/, `${m.code} path ${m.path}`);
  const paths = new Set(msgs.map((m) => `${m.code} ${m.path ?? ''}`));
  for (const p of ['SPW108 spec.port', 'SPW127 spec.meshWorkloads[1]', 'SPW100 spec.ports', 'SPW126 spec.panicThreshold', 'SPW141 spec.hostname']) {
    assert.ok(paths.has(p), `a grid case reports ${p} (have: ${[...paths].sort().join(', ')})`);
  }
});

test('input text is made safe in params as in the text, so the text still renders from the params', () => {
  const m = message('SPW127', 'FailoverService/default/x', { workload: 'default/evil\u001b[31m\n' }, { clean: escapeControl });
  assert.equal(m.params.workload, 'default/evil\\x1b[31m\\n');
  assert.equal(m.message, renderMessage('SPW127', m.params));
});

test('texts of codes the grid does not reach render as they were written before the table', () => {
  const cases: [MessageCode, unknown, string][] = [
    ['SPW115', { from: '240.0.0.7', host: 'a.default.global', owner: 'FailoverService/default/b', address: '240.0.0.8' }, 'address 240.0.0.7 derived from a.default.global is used by FailoverService/default/b; using 240.0.0.8 (pin it with spec.address to keep it)'],
    ['SPW131', { address: '240.240.0.1' }, 'spec.address 240.240.0.1 is in 240.240.0.0/16, where Istio auto-allocates ServiceEntry addresses when DNS proxying allocates them: another host may get the same address; pick one elsewhere in 240.0.0.0/4 or leave spec.address out'],
    ['SPW133', { workload: 'default/w', port: 'http', targetPort: 70000 }, 'MeshWorkload default/w: port http targetPort 70000 is not a port number (1-65535)'],
    ['SPW133', { workload: 'default/w', port: 'http', targetPort: 'Bad_Name' }, 'MeshWorkload default/w: port http targetPort "Bad_Name" is neither a number nor a container port name (lower-case, at most 15 characters, with a letter)'],
    ['SPW134', { cluster: 'c1', port: 31080, entrance: 'http' }, 'MeshCluster c1: gateway.http.port 31080 looks like a NodePort and no http.servicePort is set; set it to the Service port behind the NodePort (80 on the common charts)'],
    ['SPW135', { reason: 'sharedPort', cluster: 'c1', port: 443 }, 'spec.gateway.http of MeshCluster c1 uses gateway port 443, the HTTPS port: a plain-HTTP server there would take that listener from the HTTPS servers (or lose it); use the Service\'s plain-HTTP port (80 on the common charts)'],
    ['SPW143', { host: 'api.shop.global', derived: false, owner: 'ServiceEntry shop/legacy-api in the input' }, 'spec.hostname api.shop.global is a host of ServiceEntry shop/legacy-api in the input, which Spillway did not write: the mesh already routes it, and Spillway would replace its cluster for every proxy; choose another host'],
    ['SIM002', { service: 'default/reviews', client: 'cluster1', host: 'h', hosts: 3, assumed: false, role: 'remote', cluster: 'cluster2' }, 'default/reviews in cluster1: maxEjectionPercent is absent (Envoy default 10%) on h cannot eject a single one of its 3 host(s) (Envoy >= 1.28 checks the cap before the first ejection; needs >= 34), so the gateway of cluster2 never fails over'],
  ];
  for (const [code, params, text] of cases) assert.equal(renderMessage(code, params as never), text, code);
});

test('a code not in the table, or params of the wrong shape, is a compile error (npm run typecheck checks these lines)', () => {
  // @ts-expect-error SPW999 is not a code of the table
  assert.throws(() => message('SPW999', 'FailoverService/default/x', {}));
  // @ts-expect-error SPW127 takes { workload }, not { cluster }
  message('SPW127', 'FailoverService/default/x', { cluster: 'c1' });
  // @ts-expect-error SPW126's percent is a number
  message('SPW126', 'FailoverService/default/x', { percent: '50' });
  // @ts-expect-error SPW135 has no reason 'other'
  message('SPW135', 'FailoverService/default/x', { reason: 'other', cluster: 'c1', port: 80 });
  // @ts-expect-error SPC163's result 'visible' needs namespace and meshDefaults
  renderFinding('SPC163', { result: 'visible' });
  assert.equal(renderFinding('SPC163', { result: 'visible', namespace: 'default', meshDefaults: true }).message, 'exportTo defaults let every namespace see Spillway\'s objects in default (mesh defaults: everywhere)');
  const ok = message('SPW126', 'FailoverService/default/x', { percent: 50 }, { path: 'spec.panicThreshold' });
  assert.deepEqual(ok.ref, { kind: 'FailoverService', namespace: 'default', name: 'x' });
  assert.equal(ok.level, 'warning');
});
