// writeChunks: output over several 1 MiB writes, to a consumer that copies and says it is done (the buffer is
// reused) and to one that keeps what it is given (each write gets a new buffer): both see exactly the text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeChunks } from '../../src/cli/output.ts';
import type { Chunk } from '../../src/cli/output.ts';

function chunks(): { list: Chunk[]; text: string } {
  const list: Chunk[] = [];
  let text = '';
  for (let i = 0; i < 40_000; i++) {
    // Mixed text (some of it multi-byte) and pre-encoded bytes, about 3.5 MiB in all.
    const s = `{"n":${i},"s":"${'é✓x'.repeat(i % 7)}${'a'.repeat(60 + (i % 40))}"}`;
    list.push(i % 3 === 0 ? Buffer.from(s) : s, Buffer.from(',\n'));
    text += `${s},\n`;
  }
  list.push('x'.repeat(2 << 20)); // one chunk longer than a write
  text += 'x'.repeat(2 << 20);
  return { list, text };
}

test('writeChunks: reused buffer when the consumer is done with it, a new one when it keeps it', { timeout: 60_000 }, () => {
  const { list, text } = chunks();
  const copies: Buffer[] = [];
  const seen = new Set<ArrayBufferLike>();
  writeChunks(list, (b) => {
    copies.push(Buffer.from(b));
    seen.add(b.buffer);
    return true;
  });
  assert.ok(copies.length >= 4, `several writes (${copies.length})`);
  assert.equal(Buffer.concat(copies).toString('utf8'), text);
  assert.ok(seen.size < copies.length, 'a buffer was reused');

  const kept: Uint8Array[] = [];
  writeChunks(list, (b) => {
    kept.push(b);
  });
  assert.equal(Buffer.concat(kept).toString('utf8'), text);
  // No write ever splits a character: each one decodes on its own.
  for (const b of kept) assert.ok(!Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8').includes('\ufffd'));
});
