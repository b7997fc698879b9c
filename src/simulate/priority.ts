/**
 * Envoy's priority-load arithmetic (LoadBalancerBase: recalculatePerPriorityState, distributeLoad,
 * recalculatePerPriorityPanic, recalculateLoadInTotalPanic), reimplemented from its documented
 * behaviour and unsigned-integer arithmetic. Pure: no I/O.
 *
 * Every division below is an unsigned integer division in Envoy, so it is `Math.floor` of
 * non-negative integers here.
 */

export interface PriorityLevel {
  /** Hosts Envoy considers healthy in this level. */
  healthy: number;
  /** Hosts in this level (excluded hosts already removed). 0 = an empty level. */
  total: number;
  /** Hosts Envoy considers degraded (neither healthy nor unhealthy). @default 0 */
  degraded?: number;
}

export interface PriorityOptions {
  /** EDS overprovisioning factor in percent (Envoy's default 140, i.e. 1.4). */
  overprovisioningFactor?: number;
  /** Cluster `common_lb_config.healthy_panic_threshold` in percent. @default 50 (Envoy's default) */
  panicThreshold?: number;
}

export interface PriorityLoad {
  /** Percent of requests sent to the healthy hosts of each level; with `degradedPercent` sums to 100 unless `noHealthyUpstream`. */
  percent: number[];
  /** Percent of requests sent to the degraded hosts of each level. */
  degradedPercent: number[];
  /** Per-level health score (0-100) after the overprovisioning factor. */
  health: number[];
  /** Normalized total health: min(100, sum of health and degraded scores). */
  normalizedTotalHealth: number;
  /** Per-level panic flag (only ever set when normalized total health < 100). */
  panic: boolean[];
  /** Every level is in panic: load follows host counts, ignoring health. */
  totalPanic: boolean;
  /** Panic disabled (threshold 0) and no healthy or degraded host anywhere: Envoy answers 503 "no healthy upstream". All percents are 0. */
  noHealthyUpstream: boolean;
}

export const DEFAULT_OVERPROVISIONING_FACTOR = 140;
export const DEFAULT_PANIC_THRESHOLD = 50;

function checkCount(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
}

/** Health score of one level: min(100, floor(factor * healthy / total)); 0 for an empty level. */
export function levelHealth(healthy: number, total: number, overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR): number {
  if (total === 0) return 0;
  return Math.min(100, Math.floor((overprovisioningFactor * healthy) / total));
}

/**
 * Spread `totalLoad` over levels in order: each level takes floor(availability * 100 / NTH),
 * capped by what is left. Returns the first level with availability > 0 (or -1) and the rest.
 */
function distribute(out: number[], availability: number[], totalLoad: number, nth: number): { first: number; remaining: number } {
  let first = -1;
  let remaining = totalLoad;
  for (let i = 0; i < availability.length; i++) {
    const a = availability[i] ?? 0;
    if (first < 0 && a > 0) first = i;
    const load = Math.min(remaining, Math.floor((a * 100) / nth));
    out[i] = load;
    remaining -= load;
  }
  return { first, remaining };
}

/** Share of hosts (healthy or degraded) in a level, in percent, as Envoy's isHostSetInPanic computes it (floating point). */
function availablePercent(level: PriorityLevel): number {
  if (level.total === 0) return 0;
  return (100 * level.healthy) / level.total + (100 * (level.degraded ?? 0)) / level.total;
}

/**
 * Per-level load as Envoy computes it for one priority set (a plain EDS cluster, or an aggregate
 * cluster's linearized children).
 */
export function priorityLoad(levels: PriorityLevel[], opts: PriorityOptions = {}): PriorityLoad {
  const factor = opts.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR;
  // Envoy stores the threshold as a rounded integer percent and caps it at 100.
  const threshold = Math.min(100, Math.round(opts.panicThreshold ?? DEFAULT_PANIC_THRESHOLD));
  if (!(factor >= 0) || !Number.isFinite(factor)) throw new RangeError(`overprovisioningFactor must be >= 0, got ${factor}`);
  if (!(threshold >= 0)) throw new RangeError(`panicThreshold must be >= 0, got ${opts.panicThreshold}`);
  levels.forEach((l, i) => {
    checkCount(l.healthy, `levels[${i}].healthy`);
    checkCount(l.total, `levels[${i}].total`);
    checkCount(l.degraded ?? 0, `levels[${i}].degraded`);
    if (l.healthy + (l.degraded ?? 0) > l.total) throw new RangeError(`levels[${i}]: healthy + degraded exceeds total`);
  });

  const n = levels.length;
  const health = levels.map((l) => levelHealth(l.healthy, l.total, factor));
  const degradedHealth = levels.map((l) => levelHealth(l.degraded ?? 0, l.total, factor));
  const nth = Math.min(100, health.reduce((a, b) => a + b, 0) + degradedHealth.reduce((a, b) => a + b, 0));
  const percent = new Array<number>(n).fill(0);
  const degradedPercent = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  const result: PriorityLoad = { percent, degradedPercent, health, normalizedTotalHealth: nth, panic, totalPanic: false, noHealthyUpstream: false };
  if (n === 0) {
    result.noHealthyUpstream = true;
    return result;
  }

  if (nth > 0) {
    const healthy = distribute(percent, health, 100, nth);
    const degraded = distribute(degradedPercent, degradedHealth, healthy.remaining, nth);
    // Rounding leftovers go to the first level with healthy availability, else the first with degraded.
    if (degraded.remaining !== 0) {
      if (healthy.first !== -1) percent[healthy.first] = (percent[healthy.first] ?? 0) + degraded.remaining;
      else if (degraded.first !== -1) degradedPercent[degraded.first] = (degradedPercent[degraded.first] ?? 0) + degraded.remaining;
    }
  }

  if (threshold === 0 && nth === 0) {
    // Panic disabled and nothing available. Envoy parks the whole load on P=0 so the vector sums
    // to 100, but a healthy host is only found there if some host is healthy at all (a level can
    // have healthy hosts yet a health score of 0 when fewer than 1 in 140 are healthy).
    const anyAvailable = levels.some((l) => l.healthy + (l.degraded ?? 0) > 0);
    if (!anyAvailable) {
      result.noHealthyUpstream = true;
      return result;
    }
    percent.fill(0);
    degradedPercent.fill(0);
    percent[0] = 100;
    result.noHealthyUpstream = levels[0] !== undefined && levels[0].healthy + (levels[0].degraded ?? 0) === 0;
    return result;
  }

  let total = true;
  for (let i = 0; i < n; i++) {
    const level = levels[i] as PriorityLevel;
    panic[i] = nth === 100 ? false : availablePercent(level) < threshold;
    total = total && (panic[i] as boolean);
  }
  result.totalPanic = total;
  if (total) {
    // Every level in panic: load by host count, health ignored; rounding to the first non-empty level.
    percent.fill(0);
    degradedPercent.fill(0);
    const hosts = levels.reduce((a, l) => a + l.total, 0);
    if (hosts === 0) {
      // No host at all (Envoy parks the load on P=0, where there is nothing to pick).
      result.noHealthyUpstream = true;
      return result;
    }
    let left = 100;
    let firstNonEmpty = -1;
    levels.forEach((l, i) => {
      if (firstNonEmpty < 0 && l.total > 0) firstNonEmpty = i;
      const load = Math.floor((100 * l.total) / hosts);
      percent[i] = load;
      left -= load;
    });
    percent[firstNonEmpty] = (percent[firstNonEmpty] ?? 0) + left;
  }
  return result;
}
