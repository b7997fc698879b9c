/**
 * Memory and exposition size of the controller's per-FailoverService tier gauges at a fleet size, with the
 * controller's own registry: every series set once, as a publish of tier shares sets them.
 * Usage: node --expose-gc --import tsx bench/metrics-memory.ts [--services 10000] [--clusters 5]
 */
import { parseArgs } from 'node:util';
import { Registry } from '../src/controller/metrics.ts';

const { values } = parseArgs({ options: { services: { type: 'string', default: '10000' }, clusters: { type: 'string', default: '5' } } });
const N = Number(values.services);
const C = Number(values.clusters);
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with node --expose-gc');
collect();
const before = process.memoryUsage().heapUsed;
const registry = new Registry();
const share = registry.gauge('spillway_tier_share_percent', 'share', ['failover_service', 'client', 'tier']);
const spilled = registry.gauge('spillway_spilled_percent', 'spilled', ['failover_service', 'client']);
const failing = registry.gauge('spillway_failing_percent', 'failing', ['failover_service', 'client']);
const endpoints = registry.gauge('spillway_tier_endpoints', 'endpoints', ['failover_service', 'cluster', 'state']);
const clusters = Array.from({ length: C }, (_, i) => `cluster${i + 1}`);
let series = 0;
for (let i = 0; i < N; i++) {
  const fs = `team${i % 50}/svc${i}`;
  for (const c of clusters) {
    for (const t of clusters) share.set({ failover_service: fs, client: c, tier: t }, t === c ? 100 : 0);
    spilled.set({ failover_service: fs, client: c }, 0);
    failing.set({ failover_service: fs, client: c }, 0);
    endpoints.set({ failover_service: fs, cluster: c, state: 'healthy' }, 3);
    endpoints.set({ failover_service: fs, cluster: c, state: 'total' }, 3);
    series += C + 4;
  }
}
collect();
const held = process.memoryUsage().heapUsed - before;
const text = await registry.prom.metrics();
console.log(`${N} FailoverServices x ${C} clusters: ${series} series, heap +${(held / 1048576).toFixed(1)} MiB held, one exposition ${(Buffer.byteLength(text) / 1048576).toFixed(1)} MB`);
