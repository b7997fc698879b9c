/**
 * Runs one reconcile at a time for any number of triggers: triggers while idle start a run after `debounceMs`;
 * triggers during a run cause exactly one more run after it; runs start at least `minIntervalMs` apart (rate
 * limit). A run that throws is retried with exponential backoff; a run may also ask to be retried after a
 * delay (a cluster failed). A periodic resync triggers a run every `resyncMs`.
 */
import type { Clock, Jitter, TimerHandle } from '../kube/clock.ts';
import { backoffDelay } from '../kube/clock.ts';

export interface RunResult {
  /** Run again after this long even without a trigger (something failed and should be retried). */
  retryAfterMs?: number;
}

export interface SchedulerOptions {
  clock: Clock;
  jitter: Jitter;
  run: () => Promise<RunResult>;
  debounceMs?: number;
  minIntervalMs?: number;
  resyncMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onError?: (e: unknown, attempt: number, retryInMs: number) => void;
}

export class Scheduler {
  private timer: TimerHandle | undefined;
  private dueAt = Infinity;
  private running = false;
  private dirty = false;
  private stopped = true;
  private lastStart = -Infinity;
  private failures = 0;
  private current: Promise<void> | undefined;
  private resyncTimer: TimerHandle | undefined;
  private idleWaiters: (() => void)[] = [];
  readonly o: Required<Omit<SchedulerOptions, 'onError'>> & Pick<SchedulerOptions, 'onError'>;
  runs = 0;

  constructor(o: SchedulerOptions) {
    this.o = { debounceMs: 10, minIntervalMs: 50, resyncMs: 300_000, backoffBaseMs: 200, backoffMaxMs: 60_000, ...o };
  }

  start(): void {
    this.stopped = false;
    this.armResync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.resyncTimer?.cancel();
    await this.current;
    this.notifyIdle();
  }

  /** Asks for a reconcile soon. Cheap; call it for every relevant event. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.schedule(this.o.debounceMs);
  }

  /** True when nothing is running or scheduled sooner than the resync. */
  get isIdle(): boolean {
    return !this.running && this.timer === undefined;
  }

  /** Resolves when no run is in progress (one scheduled for later does not count). */
  async notRunning(): Promise<void> {
    while (this.running && this.current) await this.current;
  }

  /** Resolves when no run is in progress or pending (retries count as pending). */
  idle(): Promise<void> {
    if (this.isIdle || this.stopped) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private notifyIdle(): void {
    if (!this.isIdle && !this.stopped) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private armResync(): void {
    this.resyncTimer?.cancel();
    if (this.stopped || !(this.o.resyncMs > 0)) return;
    this.resyncTimer = this.o.clock.setTimer(this.o.jitter(this.o.resyncMs), () => {
      this.trigger();
      this.armResync();
    });
  }

  private schedule(delayMs: number): void {
    const at = Math.max(this.o.clock.now() + delayMs, this.lastStart + this.o.minIntervalMs);
    if (this.timer && this.dueAt <= at) return; // an earlier run is already scheduled
    this.timer?.cancel();
    this.dueAt = at;
    this.timer = this.o.clock.setTimer(at - this.o.clock.now(), () => {
      this.timer = undefined;
      this.dueAt = Infinity;
      this.current = this.runOnce();
    });
  }

  private async runOnce(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    this.dirty = false;
    this.lastStart = this.o.clock.now();
    this.runs++;
    let retry: number | undefined;
    try {
      const r = await this.o.run();
      this.failures = 0;
      retry = r.retryAfterMs;
    } catch (e) {
      this.failures++;
      retry = backoffDelay(this.failures, this.o.backoffBaseMs, this.o.backoffMaxMs, this.o.jitter);
      this.o.onError?.(e, this.failures, retry);
    } finally {
      this.running = false;
    }
    if (this.stopped) return this.notifyIdle();
    if (this.dirty) this.schedule(0);
    else if (retry !== undefined) this.schedule(retry);
    this.notifyIdle();
  }
}
