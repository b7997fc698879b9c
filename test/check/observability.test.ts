/**
 * The shipped dashboard and alert rules parse, and every spillway_* metric they query is one the controller
 * actually exposes (so a renamed gauge breaks this test, not a user's dashboard).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { ControllerMetrics } from '../../src/controller/metrics.ts';
import { ServingPublisher } from '../../src/controller/serving.ts';
import { realClock, noJitter } from '../../src/kube/clock.ts';
import { silentLogger } from '../../src/controller/log.ts';
import type { KubeClient } from '../../src/kube/client.ts';

const root = new URL('../../deploy/observability/', import.meta.url);

async function exposedMetricNames(): Promise<Set<string>> {
  const metrics = new ControllerMetrics();
  new ServingPublisher({ management: {} as KubeClient, clock: realClock, jitter: noJitter, isLeader: () => false, failoverService: () => undefined, log: silentLogger, registry: metrics.registry });
  return new Set([...(await metrics.registry.expose()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

const spillwayMetrics = (expr: string): string[] => [...expr.matchAll(/\b(spillway_[a-z_]+)\b/g)].map((m) => m[1]!);

test('dashboard JSON: panels query only metrics the controller exposes', { timeout: 10_000 }, async () => {
  const dash = JSON.parse(readFileSync(new URL('grafana-dashboard.json', root), 'utf8')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
  assert.equal(dash.uid, 'spillway-tier-shares');
  const names = await exposedMetricNames();
  const used = dash.panels.flatMap((p) => p.targets.flatMap((t) => spillwayMetrics(t.expr)));
  assert.ok(used.length >= 4, 'the dashboard shows the controller\'s predictions');
  for (const m of used) assert.ok(names.has(m), `${m} is exposed`);
  assert.ok(dash.panels.some((p) => p.targets.some((t) => t.expr.includes('envoy_cluster_upstream_rq_total'))), 'and Envoy\'s observed share');
});

test('PrometheusRule: alerts parse, query exposed metrics, and one fires on a client spilled for N minutes', { timeout: 10_000 }, async () => {
  const rule = yaml.load(readFileSync(new URL('prometheusrule.yaml', root), 'utf8')) as { kind: string; spec: { groups: { rules: { alert?: string; record?: string; expr: string; for?: string }[] }[] } };
  assert.equal(rule.kind, 'PrometheusRule');
  const rules = rule.spec.groups.flatMap((g) => g.rules);
  const names = await exposedMetricNames();
  for (const r of rules) for (const m of spillwayMetrics(r.expr)) assert.ok(names.has(m) || m.startsWith('spillway_leader'), `${r.alert ?? r.record}: ${m} is exposed`);
  const spilling = rules.find((r) => r.alert === 'SpillwayClientSpilling');
  assert.ok(spilling && /spillway_spilled_percent.*> 0/.test(spilling.expr) && spilling.for === '10m');
});
