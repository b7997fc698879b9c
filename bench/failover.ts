/**
 * Failover / failback timing of Spillway's rendered aggregate cluster on gRPC's xDS client
 * (@grpc/grpc-js-xds), using the harness in test/xds/. See docs/dataplane-proof.md.
 *
 *   npm run bench:failover                 # 20 trials per scenario
 *   npm run bench:failover -- --trials 5
 *
 * One 2-cluster world per client configuration. Per trial:
 *   failover = local backend killed (forceShutdown)      -> first call served by cluster2
 *   failback = local backend restarted on the same port  -> first call served by cluster1
 *   eds-out  = local endpoint pushed UNHEALTHY over EDS   -> first call served by cluster2
 *   eds-back = local endpoint pushed HEALTHY again         -> first call served by cluster1
 * plus, with fewer trials, failback after the local backend stayed down for OUTAGE_MS (gRPC's reconnect
 * backoff grows while it is down, and failback waits for the next reconnect attempt).
 * The client calls back to back (deadline CALL_MS each, POLL_MS sleep after a failed call); the clock
 * starts right before the kill / restart / push and stops when the reply arrives.
 */
import { startWorld } from '../test/xds/harness.ts';
import type { ClientTuning, World } from '../test/xds/harness.ts';

const CALL_MS = 250;
const POLL_MS = 2;
const WAIT_MS = 10_000;
const OUTAGE_MS = 4_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
}

function quantile(sorted: number[], q: number): number {
  // nearest-rank
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}

function summary(label: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1).padStart(8);
  return `  ${label.padEnd(26)} median ${f(quantile(s, 0.5))} ms   p95 ${f(quantile(s, 0.95))} ms   min ${f(s[0] ?? NaN)}   max ${f(s[s.length - 1] ?? NaN)}   (n=${s.length})`;
}

async function timeUntil(w: World, identity: string): Promise<number> {
  return w.caller.waitForIdentity(identity, WAIT_MS, { callTimeoutMs: CALL_MS, sleepMs: POLL_MS });
}

async function runConfig(name: string, tuning: ClientTuning, trials: number): Promise<void> {
  const w = await startWorld({ clusters: ['cluster1', 'cluster2'], client: 'cluster1', tuning });
  const r = { failover: [] as number[], failback: [] as number[], edsOut: [] as number[], edsBack: [] as number[], failbackLong: [] as number[] };
  try {
    await w.caller.waitForIdentity('cluster1', 20_000);
    for (let i = 0; i < trials; i++) {
      // Start each trial from a steady state: local serving for a few calls.
      await w.caller.waitForIdentity('cluster1', WAIT_MS);
      await w.caller.tally(3);

      let t0 = performance.now();
      w.backend('cluster1').kill();
      await timeUntil(w, 'cluster2');
      r.failover.push(performance.now() - t0);

      await w.caller.tally(3);
      t0 = performance.now();
      await w.backend('cluster1').restart();
      await timeUntil(w, 'cluster1');
      r.failback.push(performance.now() - t0);

      await w.caller.tally(3);
      t0 = performance.now();
      w.setLocalHealth('UNHEALTHY');
      await timeUntil(w, 'cluster2');
      r.edsOut.push(performance.now() - t0);

      t0 = performance.now();
      w.setLocalHealth('HEALTHY');
      await timeUntil(w, 'cluster1');
      r.edsBack.push(performance.now() - t0);
    }
    const longTrials = Math.min(trials, 3);
    for (let i = 0; i < longTrials; i++) {
      await w.caller.waitForIdentity('cluster1', WAIT_MS);
      w.backend('cluster1').kill();
      await timeUntil(w, 'cluster2');
      await new Promise((res) => setTimeout(res, OUTAGE_MS));
      const t0 = performance.now();
      await w.backend('cluster1').restart();
      await timeUntil(w, 'cluster1');
      r.failbackLong.push(performance.now() - t0);
    }
    if (w.ads.nacks.length > 0) throw new Error(`xDS NACKs: ${JSON.stringify(w.ads.nacks)}`);
  } finally {
    await w.close();
  }
  console.log(`\n${name}: grpc.initial_reconnect_backoff_ms=${tuning.initialReconnectBackoffMs ?? 'default(1000)'} grpc.max_reconnect_backoff_ms=${tuning.maxReconnectBackoffMs ?? 'default(120000)'}`);
  console.log(summary('failover', r.failover));
  console.log(summary('failback', r.failback));
  console.log(summary('eds-out', r.edsOut));
  console.log(summary('eds-back', r.edsBack));
  console.log(summary(`failback after ${OUTAGE_MS / 1000} s down`, r.failbackLong));
}

async function main(): Promise<void> {
  const trials = arg('trials', 20);
  console.log(`Spillway failover on @grpc/grpc-js-xds: 2 clusters, ${trials} trials per configuration`);
  console.log(`client: call deadline ${CALL_MS} ms, ${POLL_MS} ms sleep after a failed call; keepalive off (grpc-js default);`);
  console.log('backend death = server.forceShutdown() on loopback (connections reset, port refuses)');
  await runConfig('tuned backoff', { initialReconnectBackoffMs: 100, maxReconnectBackoffMs: 500 }, trials);
  // grpc-js defaults: 1 s initial reconnect backoff (x1.6, +-20% jitter), 120 s max.
  await runConfig('grpc defaults', { initialReconnectBackoffMs: 1000, maxReconnectBackoffMs: 120_000 }, trials);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
