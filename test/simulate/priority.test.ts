import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelHealth, priorityLoad } from '../../src/simulate/priority.ts';
import type { PriorityLevel } from '../../src/simulate/priority.ts';

/** A level with `pct` percent of 100 hosts healthy: the docs' tables talk in percent of hosts. */
const pct = (p: number): PriorityLevel => ({ healthy: p, total: 100 });

// Envoy docs, intro/arch_overview/upstream/load_balancing/priority: two levels, P=1 100% healthy.
const twoLevelsP1Healthy: [number, number, number][] = [
  [100, 100, 0],
  [72, 100, 0],
  [71, 99, 1],
  [50, 70, 30],
  [25, 35, 65],
  [0, 0, 100],
];
for (const [p0, t0, t1] of twoLevelsP1Healthy) {
  test(`priority doc, P1 healthy: P0 ${p0}% healthy -> ${t0}/${t1}`, () => {
    assert.deepEqual(priorityLoad([pct(p0), pct(100)]).percent, [t0, t1]);
  });
}

// Same page, second table: both levels degrade.
const twoLevels: [number, number, number, number][] = [
  [100, 100, 100, 0],
  [72, 72, 100, 0],
  [71, 71, 99, 1],
  [50, 50, 70, 30],
  [25, 100, 35, 65],
  [25, 25, 50, 50],
];
for (const [p0, p1, t0, t1] of twoLevels) {
  test(`priority doc: P0 ${p0}% P1 ${p1}% -> ${t0}/${t1}`, () => {
    assert.deepEqual(priorityLoad([pct(p0), pct(p1)]).percent, [t0, t1]);
  });
}

// Same page, third table: three levels.
const threeLevels: [number, number, number, number[]][] = [
  [100, 100, 100, [100, 0, 0]],
  [72, 72, 100, [100, 0, 0]],
  [71, 71, 100, [99, 1, 0]],
  [50, 50, 100, [70, 30, 0]],
  [25, 100, 100, [35, 65, 0]],
  [25, 25, 100, [35, 35, 30]],
];
for (const [p0, p1, p2, expected] of threeLevels) {
  test(`priority doc: P0 ${p0}% P1 ${p1}% P2 ${p2}% -> ${expected.join('/')}`, () => {
    assert.deepEqual(priorityLoad([pct(p0), pct(p1), pct(p2)]).percent, expected);
  });
}

test('priority doc row 25/25/20: doc prints 36/36/28; Envoy\'s code gives 37/35/28 without panic, 34/33/33 with it', () => {
  // The priority page ignores panic. With panic disabled: health 35, 35, 28; NTH 98;
  // floor(3500/98)=35, 35, floor(2800/98)=28, and the 2 left over go to the first healthy level.
  // (Envoy's own unit tests confirm leftovers land on P=0: 1/5 healthy x3 -> 34/33/33.)
  const r = priorityLoad([pct(25), pct(25), pct(20)], { panicThreshold: 0 });
  assert.deepEqual(r.health, [35, 35, 28]);
  assert.equal(r.normalizedTotalHealth, 98);
  assert.deepEqual(r.percent, [37, 35, 28]);
  // With Envoy's default 50% threshold every level is below it and NTH < 100: total panic, by host count.
  const d = priorityLoad([pct(25), pct(25), pct(20)]);
  assert.equal(d.totalPanic, true);
  assert.deepEqual(d.percent, [34, 33, 33]);
});

test('priority doc normalisation example: healths {20, 30} -> {40, 60}', () => {
  // health 20 needs floor(140*h/t) = 20: 1 of 7 hosts; health 30: 3 of 14 hosts.
  const r = priorityLoad([{ healthy: 1, total: 7 }, { healthy: 3, total: 14 }], { panicThreshold: 0 });
  assert.deepEqual(r.health, [20, 30]);
  assert.deepEqual(r.percent, [40, 60]);
});

// Envoy docs, .../panic_threshold: P=1 100% healthy -> never in panic.
for (const [p0, t0, t1] of [[72, 100, 0], [71, 99, 1], [50, 70, 30], [25, 35, 65], [0, 0, 100]] as const) {
  test(`panic doc, P1 healthy: P0 ${p0}% -> ${t0}/${t1}, no panic, NTH 100`, () => {
    const r = priorityLoad([pct(p0), pct(100)]);
    assert.deepEqual(r.percent, [t0, t1]);
    assert.deepEqual(r.panic, [false, false]);
    assert.equal(r.normalizedTotalHealth, 100);
  });
}

// Same page, second table: both levels degrade.
const panicRows: [number, number, number[], boolean[], number][] = [
  [72, 72, [100, 0], [false, false], 100],
  [71, 71, [99, 1], [false, false], 100],
  [50, 60, [70, 30], [false, false], 100],
  [25, 100, [35, 65], [false, false], 100],
  [25, 25, [50, 50], [true, true], 70],
];
for (const [p0, p1, load, panic, nth] of panicRows) {
  test(`panic doc: P0 ${p0}% P1 ${p1}% -> ${load.join('/')} panic ${panic.join('/')} NTH ${nth}`, () => {
    const r = priorityLoad([pct(p0), pct(p1)]);
    assert.deepEqual(r.percent, load);
    assert.deepEqual(r.panic, panic);
    assert.equal(r.normalizedTotalHealth, nth);
    assert.equal(r.totalPanic, panic.every(Boolean));
  });
}

test('panic doc row 5%/65%: panic flags and NTH as documented; load is 8/92 in integer arithmetic (doc prints 7/93)', () => {
  // health 7 and 91, NTH 98: floor(700/98)=7, floor(9100/98)=92, leftover 1 to P=0.
  const r = priorityLoad([pct(5), pct(65)]);
  assert.deepEqual(r.panic, [true, false]);
  assert.equal(r.totalPanic, false);
  assert.equal(r.normalizedTotalHealth, 98);
  assert.deepEqual(r.percent, [8, 92]);
});

test('panic doc: total panic splits by host count (5+5 -> 50/50, 2+8 -> 20/80)', () => {
  assert.deepEqual(priorityLoad([{ healthy: 0, total: 5 }, { healthy: 1, total: 5 }]).percent, [50, 50]);
  const r = priorityLoad([{ healthy: 0, total: 2 }, { healthy: 1, total: 8 }]);
  assert.equal(r.totalPanic, true);
  assert.deepEqual(r.percent, [20, 80]);
});

// shared/docs/domain.md section 2.
test('domain: local 50% healthy, remote 100% -> 70/30', () => {
  assert.deepEqual(priorityLoad([{ healthy: 1, total: 2 }, { healthy: 1, total: 1 }]).percent, [70, 30]);
});
test('domain: local 2 of 3 pods -> 93/7', () => {
  assert.deepEqual(priorityLoad([{ healthy: 2, total: 3 }, { healthy: 1, total: 1 }]).percent, [93, 7]);
});
test('domain: local 72% or more -> 100/0, below -> spill', () => {
  for (let h = 72; h <= 100; h++) assert.deepEqual(priorityLoad([pct(h), pct(100)]).percent, [100, 0], `at ${h}%`);
  for (let h = 0; h < 72; h++) assert.ok((priorityLoad([pct(h), pct(100)]).percent[1] ?? 0) > 0, `at ${h}%`);
});

// Cases from Envoy's own unit tests of LoadBalancerBase (behaviour, re-derived here).
test('Envoy unit cases: three levels of 1/5 healthy -> 34/33/33, all in panic', () => {
  const r = priorityLoad([{ healthy: 1, total: 5 }, { healthy: 1, total: 5 }, { healthy: 1, total: 5 }]);
  assert.deepEqual(r.percent, [34, 33, 33]);
  assert.deepEqual(r.panic, [true, true, true]);
});
test('Envoy unit cases: P0, P1 down, P2 2/5 healthy -> total panic by host count 34/33/33', () => {
  const r = priorityLoad([{ healthy: 0, total: 5 }, { healthy: 0, total: 5 }, { healthy: 2, total: 5 }]);
  assert.equal(r.totalPanic, true);
  assert.deepEqual(r.percent, [34, 33, 33]);
});
test('Envoy unit cases: total panic 5/6/3 hosts -> 37/42/21', () => {
  const r = priorityLoad([{ healthy: 0, total: 5 }, { healthy: 2, total: 6 }, { healthy: 1, total: 3 }]);
  assert.deepEqual(r.percent, [37, 42, 21]);
});
test('Envoy unit cases: empty P0 in total panic -> rounding to first non-empty level 0/67/33', () => {
  const r = priorityLoad([{ healthy: 0, total: 0 }, { healthy: 0, total: 6 }, { healthy: 0, total: 3 }]);
  assert.deepEqual(r.percent, [0, 67, 33]);
});
test('Envoy unit cases: P0, P1 down, P2 4/5 healthy -> 0/0/100, nobody in panic', () => {
  const r = priorityLoad([{ healthy: 0, total: 5 }, { healthy: 0, total: 5 }, { healthy: 4, total: 5 }]);
  assert.deepEqual(r.percent, [0, 0, 100]);
  assert.deepEqual(r.panic, [false, false, false]);
});
test('Envoy unit cases: overprovisioning factor 100 -> proportional (2/4 + 2/4 -> 50/50)', () => {
  assert.deepEqual(priorityLoad([{ healthy: 2, total: 4 }, { healthy: 2, total: 4 }], { overprovisioningFactor: 100 }).percent, [50, 50]);
});
test('degraded hosts: load spills to degraded levels; leftover to the first degraded level when none is healthy', () => {
  const spill = priorityLoad([{ healthy: 0, degraded: 1, total: 5 }, { healthy: 0, degraded: 5, total: 5 }, { healthy: 1, total: 5 }]);
  assert.deepEqual(spill.percent, [0, 0, 28]);
  assert.deepEqual(spill.degradedPercent, [28, 44, 0]);
  const noHealthy = priorityLoad([{ healthy: 0, total: 5 }, { healthy: 0, degraded: 2, total: 5 }, { healthy: 0, degraded: 1, total: 5 }], { panicThreshold: 0 });
  assert.deepEqual(noHealthy.percent, [0, 0, 0]);
  assert.deepEqual(noHealthy.degradedPercent, [0, 67, 33]);
});

// Panic threshold behaviour.
test('threshold 0 with no healthy host anywhere: no healthy upstream, all load 0', () => {
  const r = priorityLoad([{ healthy: 0, total: 3 }, { healthy: 0, total: 1 }], { panicThreshold: 0 });
  assert.equal(r.noHealthyUpstream, true);
  assert.deepEqual(r.percent, [0, 0]);
  assert.deepEqual(r.panic, [false, false]);
  assert.equal(r.totalPanic, false);
});
test('threshold 50 with no healthy host anywhere: total panic, split by host count', () => {
  const r = priorityLoad([{ healthy: 0, total: 3 }, { healthy: 0, total: 1 }]);
  assert.equal(r.noHealthyUpstream, false);
  assert.equal(r.totalPanic, true);
  assert.deepEqual(r.percent, [75, 25]);
});
test('threshold 0 never panics: 1/4 + 0/1 keeps all load on the level with a healthy host', () => {
  const r = priorityLoad([{ healthy: 1, total: 4 }, { healthy: 0, total: 1 }], { panicThreshold: 0 });
  assert.deepEqual(r.percent, [100, 0]);
  assert.equal(r.totalPanic, false);
  // Same health with the default threshold: both levels below 50% -> total panic, 80/20 by hosts.
  const d = priorityLoad([{ healthy: 1, total: 4 }, { healthy: 0, total: 1 }]);
  assert.equal(d.totalPanic, true);
  assert.deepEqual(d.percent, [80, 20]);
});
test('a level exactly at the threshold is not in panic (strictly below panics)', () => {
  const r = priorityLoad([{ healthy: 1, total: 2 }, { healthy: 0, total: 1 }]);
  assert.equal(r.normalizedTotalHealth, 70);
  assert.deepEqual(r.panic, [false, true]);
  assert.deepEqual(r.percent, [100, 0]);
});
test('threshold is rounded like Envoy (49.6 -> 50) and capped at 100', () => {
  assert.deepEqual(priorityLoad([{ healthy: 1, total: 2 }, { healthy: 0, total: 1 }], { panicThreshold: 50.4 }).panic, [false, true]);
  assert.deepEqual(priorityLoad([{ healthy: 99, total: 200 }, { healthy: 0, total: 1 }], { panicThreshold: 49.6 }).panic, [true, true]);
  assert.equal(priorityLoad([{ healthy: 2, total: 3 }, { healthy: 0, total: 1 }], { panicThreshold: 250 }).totalPanic, true);
});
test('health score uses integer arithmetic', () => {
  assert.equal(levelHealth(2, 3), 93);
  assert.equal(levelHealth(71, 100), 99);
  assert.equal(levelHealth(1, 141), 0);
  assert.equal(levelHealth(0, 0), 0);
  assert.equal(levelHealth(5, 5), 100);
});
test('tiny healthy share (health score 0) with threshold 0: Envoy parks load on P=0', () => {
  const r = priorityLoad([{ healthy: 1, total: 150 }, { healthy: 0, total: 1 }], { panicThreshold: 0 });
  assert.deepEqual(r.percent, [100, 0]);
  assert.equal(r.noHealthyUpstream, false);
  const r2 = priorityLoad([{ healthy: 0, total: 1 }, { healthy: 1, total: 150 }], { panicThreshold: 0 });
  assert.deepEqual(r2.percent, [100, 0]);
  assert.equal(r2.noHealthyUpstream, true);
});
test('loads always sum to 100 unless no healthy upstream (exhaustive small grid)', () => {
  for (const threshold of [0, 50]) {
    for (let t0 = 0; t0 <= 4; t0++) for (let h0 = 0; h0 <= t0; h0++) for (let t1 = 0; t1 <= 3; t1++) for (let h1 = 0; h1 <= t1; h1++) {
      const r = priorityLoad([{ healthy: h0, total: t0 }, { healthy: h1, total: t1 }], { panicThreshold: threshold });
      const sum = r.percent.reduce((a, b) => a + b, 0);
      assert.equal(sum, r.noHealthyUpstream && sum === 0 ? 0 : 100, `h0=${h0}/${t0} h1=${h1}/${t1} th=${threshold}`);
      assert.ok(r.percent.every((p) => p >= 0));
    }
  }
});
test('rejects impossible input', () => {
  assert.throws(() => priorityLoad([{ healthy: 2, total: 1 }]), RangeError);
  assert.throws(() => priorityLoad([{ healthy: -1, total: 1 }]), RangeError);
  assert.throws(() => priorityLoad([{ healthy: 0.5, total: 1 }]), RangeError);
});
