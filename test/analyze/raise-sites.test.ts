/**
 * No coded text is written where it is raised: every message, finding, input error, kubeconfig problem and Event
 * of src/ passes a code and its params, and the table (src/api/messages.ts) renders the text. The types already
 * refuse most of it; this scan keeps the source from reopening the gap by other routes (an object literal with a
 * `message`, a template that prefixes a code, an Event with a reason of its own).
 *
 * The controller's own Accepted/Programmed/Degraded conditions and per-cluster sync messages are not codes, but
 * they too render from the table (CONDITIONS): none is written in place (the last test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CHECK_FINDINGS, conditionText } from '../../src/api/messages.ts';
import { sourceFiles } from '../support/source-files.ts';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** Source files (path relative to src/) and their text with comments removed, the table itself left out. */
const files = sourceFiles(SRC)
  .map((p) => ({ file: relative(SRC, p), text: readFileSync(p, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1') }))
  .filter((f) => f.file !== 'api/messages.ts');

const hits = (re: RegExp, only?: (file: string) => boolean): string[] =>
  files.filter((f) => !only || only(f.file)).flatMap((f) => [...f.text.matchAll(re)].map((m) => `${f.file}: ${m[0].slice(0, 120)}`));

test('the scan sees the source (it cannot pass on an empty tree)', () => {
  assert.ok(files.length > 100, `${files.length} files`);
  assert.ok(hits(/\br\.finding\(/g, (f) => f.startsWith('check/')).length > 60, 'check findings raised');
  assert.ok(hits(/new InputError\(/g).length > 15, 'input errors raised');
  assert.ok(hits(/kubeconfigProblem\(/g).length > 25, 'kubeconfig problems raised');
  assert.ok(hits(/\bcreateEvent\(/g).length >= 3, 'Events recorded');
});

test('no message object is assembled by hand: a code next to a message in one literal', () => {
  assert.deepEqual(hits(/\bcode:\s*(?:'(?:SPW|SPC|SIM)\d{3}'|[A-Z_]+_(?:CODES|ERRORS)\.\w+)[^}]*\bmessage:/g), []);
});

test('spillway check: every finding is r.finding(level, code, params) with a code that has a renderer, and no check writes a text', () => {
  const inCheck = (f: string) => f.startsWith('check/');
  assert.deepEqual(hits(/\.add\(\s*['"`](?:pass|warn|fail|skip)/g, inCheck), []);
  assert.deepEqual(hits(/\b(?:message|hint):\s*[`'"]/g, inCheck), []);
  const raised = hits(/\br\.finding\(\s*[^,]+,\s*([^,]+),/g, inCheck);
  const codes = raised.map((h) => /,\s*'(SPC\d{3})'\s*,/.exec(h)?.[1]);
  assert.deepEqual(raised.filter((_, i) => codes[i] === undefined || !Object.hasOwn(CHECK_FINDINGS, codes[i]!)), [], 'a code literal of CHECK_FINDINGS');
});

test('input errors: new InputError(code, params), never a text', () => {
  assert.deepEqual(hits(/new InputError\([^,]+,\s*[`'"]/g), []);
  assert.deepEqual(hits(/new InputError\([^,]+,\s*(?!\{|params\b)\w/g), [], 'params are an object literal (or the params of a wrapper)');
});

test('kubeconfig problems and credential lines come from the table', () => {
  assert.deepEqual(hits(/\b(?:message|why):\s*[`'"]/g, (f) => f === 'kube/config.ts'), []);
  assert.deepEqual(hits(/`\$\{KUBECONFIG_CODES\./g), [], 'no `${KUBECONFIG_CODES.X}: ...` template: kubeconfigLine(code, params)');
});

test('Events: every one carries its code and params (eventAnnotations) and takes reason and message from the table', () => {
  const eventFiles = files.filter((f) => f.file !== 'kube/ops.ts' && /\bcreateEvent\(/.test(f.text));
  assert.ok(eventFiles.length >= 2, eventFiles.map((f) => f.file).join(', '));
  for (const f of eventFiles) {
    const events = [...f.text.matchAll(/\bcreateEvent\(/g)].length;
    const annotated = [...f.text.matchAll(/\beventAnnotations\(/g)].length;
    assert.equal(annotated, events, `${f.file}: ${events} createEvent, ${annotated} eventAnnotations`);
    assert.deepEqual([...f.text.matchAll(/\b(?:reason|message):\s*[`'"][^\n]{0,60}/g)].map((m) => `${f.file}: ${m[0]}`), [], `${f.file}: an Event's reason and message are the code's name and rendering`);
  }
});

/**
 * No status or condition text is written in place in the controller or the checks: a condition's (or a cluster's
 * sync) message renders from CONDITIONS in src/api/messages.ts through conditionText(), as `message: '...'` or
 * `message = '...'` never appears there.
 */
test('the controller writes no free-text condition or sync message (all come from the table)', () => {
  const inScope = (f: string): boolean => f.startsWith('controller/') || f.startsWith('check/');
  assert.deepEqual(hits(/\bmessage(?::|\s*=)\s*[`'"]/g, inScope), [], 'a status or condition text written in place: add it to CONDITIONS in src/api/messages.ts and render it with conditionText()');
  // Not vacuous: the conditions and sync messages are rendered from the table in the files that write them.
  assert.ok(hits(/\bconditionText\(/g, (f) => f === 'controller/reconcile.ts').length >= 14, 'reconcile.ts renders its conditions from the table');
  assert.ok(hits(/\bconditionText\(/g, (f) => f === 'controller/executor.ts' || f === 'controller/controller.ts').length >= 2, 'sync messages rendered from the table');
  // A member's connection error (MeshCluster status) is an SPW2xx problem or the table's KubeconfigUnusable text.
  assert.deepEqual(hits(/\berror\s*=\s*(?:[^;?]*\?[^;:]*:\s*)?[`'"][^;]*;/g, (f) => f === 'controller/registry.ts'), [], 'registry.ts: a connection error text written in place');
  assert.equal(hits(/conditionText\('Sync', '(?:Secret\w+|KubeconfigUnusable)'/g, (f) => f === 'controller/registry.ts').length, 4, 'registry.ts renders its connection errors from the table');
  assert.equal(conditionText('Sync', 'KubeconfigUnusable', { secret: 'spillway-system/cluster2' }), 'the kubeconfig in Secret spillway-system/cluster2 could not be used');
  assert.equal(conditionText('Sync', 'KubeconfigUnusable', {}), 'the kubeconfig in the Secret could not be used');
});
