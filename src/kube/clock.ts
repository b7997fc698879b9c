/**
 * Time, as the controller sees it. Everything that waits (backoff, watchdogs, rate limits, lease renewals)
 * goes through a Clock so tests can inject short or fake timers, and every random jitter goes through a
 * Jitter so tests can make it deterministic.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
  /** Wall-clock time for timestamps written to the API (RFC 3339). */
  wallTime(): Date;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** Spreads a delay: returns a value in [ms, ms * (1 + factor)) in production, `ms` when deterministic. */
export type Jitter = (ms: number) => number;

export const realClock: Clock = {
  now: () => performance.now(),
  wallTime: () => new Date(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

export function randomJitter(factor = 0.2): Jitter {
  return (ms) => ms * (1 + Math.random() * factor);
}

export const noJitter: Jitter = (ms) => ms;

/** Exponential backoff: base * 2^(attempt-1), capped, jittered. `attempt` counts from 1. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, jitter: Jitter): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.min(maxMs, jitter(exp));
}

/** Resolves after `ms` on `clock`, or early (resolving) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      t.cancel();
      resolve();
    };
    const t = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A controllable clock for unit tests: timers fire only when `advance` moves time past them. */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  constructor(private readonly epoch = Date.parse('2024-01-01T00:00:00Z')) {}

  now(): number {
    return this.t;
  }
  wallTime(): Date {
    return new Date(this.epoch + this.t);
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { cancel: () => this.timers.delete(id) };
  }
  /** Pending timers' due times, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].map((x) => x.at).sort((a, b) => a - b);
  }
  /** Moves time forward, firing due timers in order (timers they create fire too if due). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
