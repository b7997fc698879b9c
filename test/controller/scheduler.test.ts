import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, noJitter } from '../../src/kube/clock.ts';
import { Scheduler } from '../../src/controller/scheduler.ts';
import type { RunResult } from '../../src/controller/scheduler.ts';

function harness(results: (() => RunResult)[] = []) {
  const clock = new FakeClock();
  const starts: number[] = [];
  let release: (() => void) | undefined;
  let block = false;
  const s = new Scheduler({
    clock,
    jitter: noJitter,
    debounceMs: 10,
    minIntervalMs: 100,
    resyncMs: 0,
    backoffBaseMs: 50,
    backoffMaxMs: 400,
    run: async () => {
      starts.push(clock.now());
      if (block) await new Promise<void>((r) => (release = r));
      const next = results.shift();
      return next ? next() : {};
    },
  });
  s.start();
  return { clock, starts, s, setBlock: (b: boolean) => (block = b), release: () => release?.() };
}

describe('scheduler', () => {
  it('coalesces a burst of triggers into one run after the debounce', { timeout: 300_000 }, async () => {
    const h = harness();
    for (let i = 0; i < 50; i++) h.s.trigger();
    await h.clock.advance(9);
    assert.deepEqual(h.starts, []);
    await h.clock.advance(1);
    assert.deepEqual(h.starts, [10]);
    await h.clock.advance(1000);
    assert.equal(h.starts.length, 1);
  });

  it('triggers during a run cause exactly one more run, no sooner than the minimum interval', { timeout: 300_000 }, async () => {
    const h = harness();
    h.setBlock(true);
    h.s.trigger();
    await h.clock.advance(10);
    assert.deepEqual(h.starts, [10]);
    for (let i = 0; i < 5; i++) h.s.trigger();
    h.setBlock(false);
    h.release();
    await h.clock.advance(0);
    await h.clock.advance(200);
    assert.deepEqual(h.starts, [10, 110]);
  });

  it('backs off exponentially on failure and resets after a success', { timeout: 300_000 }, async () => {
    const fail = () => {
      throw new Error('boom');
    };
    const h = harness([fail, fail, fail, () => ({})]);
    h.s.trigger();
    await h.clock.advance(2000);
    // 10, then +max(50, minInterval 100), +100, +200
    assert.deepEqual(h.starts, [10, 110, 210, 410]);
  });

  it('a run may ask for a retry after a delay', { timeout: 300_000 }, async () => {
    const h = harness([() => ({ retryAfterMs: 300 })]);
    h.s.trigger();
    await h.clock.advance(1000);
    assert.deepEqual(h.starts, [10, 310]);
  });

  it('stop() cancels pending runs', { timeout: 300_000 }, async () => {
    const h = harness();
    h.s.trigger();
    await h.s.stop();
    await h.clock.advance(1000);
    assert.deepEqual(h.starts, []);
  });
});
