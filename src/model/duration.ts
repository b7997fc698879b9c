/** Go-style durations (`1m30s`, `250ms`) as Istio accepts them, and their proto3-JSON form for Envoy (`90s`, `0.25s`). */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export function parseDurationNanos(s: string): number | undefined {
  const re = /([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_NS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : Math.round(total);
}

/** proto3 JSON Duration: seconds with up to 9 fractional digits and an `s` suffix. */
export function protoDuration(nanos: number): string {
  const secs = Math.floor(nanos / 1e9);
  const frac = nanos - secs * 1e9;
  if (frac === 0) return `${secs}s`;
  return `${secs}.${String(frac).padStart(9, '0').replace(/0+$/, '')}s`;
}
