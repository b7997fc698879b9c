/**
 * The analyzer grid: each YAML case under cases/ states the [code, object] pairs it must report (`# expect:`),
 * or `# expect: none`, and which FailoverServices must still render (`# renders:`), so a bad object is shown
 * never to block a good one. `# base: FILE` prepends shared documents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parseDocuments } from '../../src/cli/inputs.ts';
import { render } from '../../src/index.ts';
import { LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE } from '../../src/api/types.ts';

const dir = new URL('./cases/', import.meta.url);
const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.startsWith('_')).sort();

function directives(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^# ${key}: (.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
}

test('the grid covers every error and warning code the analyzer can raise from input', () => {
  const seen = new Set(cases.flatMap((f) => directives(readFileSync(new URL(f, dir), 'utf8'), 'expect').map((e) => e.split(' ')[0])));
  for (const code of ['SPW100', 'SPW101', 'SPW102', 'SPW103', 'SPW104', 'SPW105', 'SPW106', 'SPW107', 'SPW108', 'SPW109', 'SPW110', 'SPW111', 'SPW112', 'SPW113', 'SPW114', 'SPW116', 'SPW117', 'SPW118', 'SPW119', 'SPW120', 'SPW121', 'SPW122', 'SPW123', 'SPW124', 'SPW125', 'SPW126', 'SPW127', 'SPW128', 'SPW129', 'SPW130', 'SPW140', 'SPW141', 'SPW142', 'SPW160', 'SPW161']) {
    assert.ok(seen.has(code), `no case expects ${code}`);
  }
});

for (const file of cases) {
  test(`case ${file}`, () => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    const docs = [
      ...directives(text, 'base').flatMap((b) => parseDocuments(readFileSync(new URL(b, dir), 'utf8'), `cases/${b}`)),
      ...parseDocuments(text, `cases/${file}`),
    ];
    const result = render(docs);
    const expected = directives(text, 'expect').filter((e) => e !== 'none').sort();
    const actual = result.messages.map((m) => `${m.code} ${m.object}`).sort();
    assert.deepEqual([...new Set(actual)], expected, result.messages.map((m) => `${m.code} ${m.object}: ${m.message}`).join('\n'));
    for (const m of result.messages) assert.ok(m.message.length > 10, `message text for ${m.code} says something`);

    const rendered = new Set(Object.values(result.clusters).flat().map((o) => `FailoverService/${o.metadata.labels?.[LABEL_OWNER_NAMESPACE]}/${o.metadata.labels?.[LABEL_OWNER_NAME]}`));
    const mustRender = directives(text, 'renders').flatMap((r) => r.split(/\s+/));
    for (const ref of mustRender) assert.ok(rendered.has(ref), `${ref} renders despite the other messages`);
    // An object with an error-level message renders nothing at all.
    for (const m of result.messages.filter((x) => x.level === 'error' && x.object.startsWith('FailoverService/'))) {
      assert.ok(!rendered.has(m.object), `${m.object} has errors and must render nothing`);
    }
  });
}
