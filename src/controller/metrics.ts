/**
 * The controller's metrics on prom-client: Spillway's own counters, gauges and histograms, and (for the running
 * controller) prom-client's default process, GC and event-loop metrics. Loaded only with the controller (the CLI
 * imports it lazily), so other commands never load prom-client. Labels are cluster, FailoverService, code and
 * state names only: nothing secret.
 */
import { Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';

type Labels = Record<string, string>;

/** Labels in name order, as Spillway's exposition always printed them. */
const sorted = (l: Labels): Labels => Object.fromEntries(Object.keys(l).sort().map((k) => [k, l[k]!]));
const names = (l: readonly string[]): string[] => [...l].sort();

export class Counter {
  constructor(private readonly c: PromCounter) {}
  inc(labels: Labels = {}, by = 1): void {
    this.c.inc(sorted(labels), by);
  }
}

export class Gauge {
  constructor(private readonly g: PromGauge) {}
  set(labels: Labels, v: number): void {
    this.g.set(sorted(labels), v);
  }
  /** Removes one series. */
  remove(labels: Labels): void {
    this.g.remove(sorted(labels));
  }
  /** Replaces every series (for gauges computed from current state, e.g. per cluster). */
  reset(): void {
    this.g.reset();
  }
}

export class Histogram {
  constructor(private readonly h: PromHistogram) {}
  observe(v: number): void {
    this.h.observe(v);
  }
}

export class Registry {
  readonly prom = new PromRegistry();
  private readonly collectors: (() => void)[] = [];
  /** `labels`: the label names the series carry (prom-client refuses others). */
  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    return new Counter(new PromCounter({ name, help, labelNames: names(labels), registers: [this.prom] }));
  }
  gauge(name: string, help: string, labels: readonly string[] = []): Gauge {
    return new Gauge(new PromGauge({ name, help, labelNames: names(labels), registers: [this.prom] }));
  }
  histogram(name: string, help: string, buckets: readonly number[], labels: readonly string[] = []): Histogram {
    return new Histogram(new PromHistogram({ name, help, buckets: [...buckets], labelNames: names(labels), registers: [this.prom] }));
  }
  /** Runs before each exposition (to refresh gauges from live state). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }
  /** The usual process, GC and event-loop metrics (process_*, nodejs_*), once per registry. */
  collectDefaults(): void {
    collectDefaultMetrics({ register: this.prom });
  }
  /** Prometheus text exposition (format 0.0.4). */
  async expose(): Promise<string> {
    for (const c of this.collectors) c();
    return this.prom.metrics();
  }
  get contentType(): string {
    return this.prom.contentType;
  }
}

/** The controller's metrics. */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles = this.registry.counter('spillway_reconciles_total', 'Reconciles run, by result (success, error, skipped).', ['result']);
  readonly duration = this.registry.histogram('spillway_reconcile_duration_seconds', 'Duration of reconciles.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly applied = this.registry.counter('spillway_objects_applied_total', 'Objects created or updated by server-side apply, by cluster.', ['cluster']);
  readonly pruned = this.registry.counter('spillway_objects_pruned_total', 'Objects deleted because they are no longer desired, by cluster.', ['cluster']);
  readonly clusterErrors = this.registry.counter('spillway_cluster_errors_total', 'Failed requests while syncing a cluster, by cluster.', ['cluster']);
  readonly reachable = this.registry.gauge('spillway_cluster_reachable', '1 when the cluster\'s watches are healthy, by cluster.', ['cluster']);
  readonly credentialsExpiry = this.registry.gauge('spillway_cluster_credentials_expiry_timestamp_seconds', 'When the member credentials expire (Unix time), by cluster; alert on it minus time().', ['cluster']);
  readonly conflicts = this.registry.gauge('spillway_object_conflicts', 'Desired objects left alone because an object not managed by Spillway has the name, by cluster.', ['cluster']);
  readonly leader = this.registry.gauge('spillway_leader', '1 when this replica holds the leader lease.');
  readonly services = this.registry.gauge('spillway_failover_services', 'FailoverServices, by accepted (true/false).', ['accepted']);
  readonly watchRestarts = this.registry.gauge('spillway_watch_restarts', 'Watch restarts since the cluster connected, by cluster and reason (stall, gone, error).', ['cluster', 'reason']);
  readonly statusWrites = this.registry.counter('spillway_status_writes_total', 'Status subresource writes, by kind.', ['kind']);
  readonly discoveryConflicts = this.registry.gauge('spillway_discovery_name_conflicts', 'Discovered services that got a fallback MeshWorkload name.');

  /** `defaults`: also the process, GC and event-loop metrics (the running controller; tests leave them off). */
  constructor(o: { defaults?: boolean } = {}) {
    if (o.defaults) this.registry.collectDefaults();
  }
}
