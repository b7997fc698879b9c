/** A minimal Prometheus registry with text exposition (format 0.0.4): counters, gauges, histograms. */

type Labels = Record<string, string>;

const key = (l: Labels): string =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${String(l[k]).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',');

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

export class Counter implements Family {
  readonly type = 'counter' as const;
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge implements Family {
  readonly type = 'gauge' as const;
  private values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  set(labels: Labels, v: number): void {
    this.values.set(key(labels), v);
  }
  /** Replaces every series (for gauges computed from current state, e.g. per cluster). */
  reset(): void {
    this.values = new Map();
  }
  get(labels: Labels = {}): number | undefined {
    return this.values.get(key(labels));
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Histogram implements Family {
  readonly type = 'histogram' as const;
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]!++;
    });
  }
  render(): string[] {
    return [
      ...this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

export class Registry {
  private readonly families: Family[] = [];
  private readonly collectors: (() => void)[] = [];
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  /** Runs before each exposition (to refresh gauges from live state). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }
  private add<T extends Family>(f: T): T {
    this.families.push(f);
    return f;
  }
  expose(): string {
    for (const c of this.collectors) c();
    return `${this.families.flatMap((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render()]).join('\n')}\n`;
  }
}

/** The controller's metrics. */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles = this.registry.counter('spillway_reconciles_total', 'Reconciles run, by result (success, error, skipped).');
  readonly duration = this.registry.histogram('spillway_reconcile_duration_seconds', 'Duration of reconciles.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly applied = this.registry.counter('spillway_objects_applied_total', 'Objects created or updated by server-side apply, by cluster.');
  readonly pruned = this.registry.counter('spillway_objects_pruned_total', 'Objects deleted because they are no longer desired, by cluster.');
  readonly clusterErrors = this.registry.counter('spillway_cluster_errors_total', 'Failed requests while syncing a cluster, by cluster.');
  readonly reachable = this.registry.gauge('spillway_cluster_reachable', '1 when the cluster\'s watches are healthy, by cluster.');
  readonly credentialsExpiry = this.registry.gauge('spillway_cluster_credentials_expiry_timestamp_seconds', 'When the member credentials expire (Unix time), by cluster; alert on it minus time().');
  readonly conflicts = this.registry.gauge('spillway_object_conflicts', 'Desired objects left alone because an object not managed by Spillway has the name, by cluster.');
  readonly leader = this.registry.gauge('spillway_leader', '1 when this replica holds the leader lease.');
  readonly services = this.registry.gauge('spillway_failover_services', 'FailoverServices, by accepted (true/false).');
  readonly watchRestarts = this.registry.gauge('spillway_watch_restarts', 'Watch restarts since the cluster connected, by cluster and reason (stall, gone, error).');
  readonly statusWrites = this.registry.counter('spillway_status_writes_total', 'Status subresource writes, by kind.');
  readonly discoveryConflicts = this.registry.gauge('spillway_discovery_name_conflicts', 'Discovered services that got a fallback MeshWorkload name.');
}
