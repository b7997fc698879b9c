/**
 * `spillway status`: the table, JSON and YAML from FailoverService.status.serving on an API double, the fallback
 * to the failover order before any share is published, and `--watch` printing a row when its shares change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeDouble } from '../double/index.ts';
import { customResourceDefinitions } from '../../src/api/crds.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { runCli } from '../../src/cli/main.ts';
import { age, formatTable, statusCommand, statusRows } from '../../src/cli/status.ts';

const now = new Date('2026-12-01T10:10:00Z');
const serving = [
  { client: 'cluster1', tiers: [{ cluster: 'cluster1', percent: 46, healthy: 1, total: 3 }, { cluster: 'cluster2', percent: 54, healthy: 3, total: 3, gatewayReady: 1 }], failingPercent: 0, lastTransitionTime: '2026-12-01T10:09:48Z' },
  { client: 'cluster2', tiers: [{ cluster: 'cluster2', percent: 100, healthy: 3, total: 3 }, { cluster: 'cluster1', percent: 0, healthy: 1, total: 3, gatewayReady: 0 }], failingPercent: 0, lastTransitionTime: '2026-12-01T09:05:00Z' },
];

function fs(name: string, status?: Record<string, unknown>): KubeObject {
  return { apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name, namespace: 'default' }, spec: { meshWorkloads: ['a', 'b'] }, ...(status ? { status } : {}) };
}

describe('spillway status: rows and table', { timeout: 10_000 }, () => {
  it('one row per client, tiers in order with share and healthy/total, ages like kubectl', () => {
    const rows = statusRows(fs('reviews', { serving, conditions: [{ type: 'Programmed', status: 'True' }] }));
    const lines = formatTable(rows, now).trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^NAMESPACE {3}NAME {6}CLIENT {5}TIERS \(IN ORDER: SHARE HEALTHY\/TOTAL\) +FAILING {3}PROGRAMMED {3}LAST CHANGE$/);
    assert.match(lines[1]!, /^default {5}reviews {3}cluster1 {3}cluster1 46% 1\/3, cluster2 54% 3\/3 +0% {8}True {9}12s$/);
    assert.match(lines[2]!, /^default {5}reviews {3}cluster2 {3}cluster2 100% 3\/3, cluster1 0% 1\/3 \(gateway down\) +0% +True +65m$/);
    // Columns line up: every row's CLIENT starts where the header's does.
    const col = lines[0]!.indexOf('CLIENT');
    assert.ok(lines.every((l) => l.slice(col).match(/^(CLIENT|cluster\d)/)));
    assert.deepEqual([age('2026-12-01T10:09:15Z', now), age('2026-12-01T08:00:00Z', now), age('2026-11-28T10:00:00Z', now), age(undefined, now)], ['45s', '2h', '3d', '<unknown>']);
  });

  it('a client-only cluster (its workload gone): remote tiers only, marked in the table and in JSON', () => {
    const only = { client: 'cluster3', tiers: [{ cluster: 'cluster1', percent: 100, healthy: 1, total: 3 }, { cluster: 'cluster2', percent: 0, healthy: 3, total: 3 }], failingPercent: 0, lastTransitionTime: '2026-12-01T10:09:48Z' };
    const rows = statusRows(fs('reviews', { serving: [...serving, only] }));
    assert.deepEqual(rows.map((r) => r.clientOnly ?? false), [false, false, true]);
    assert.match(formatTable(rows, now).trimEnd().split('\n')[3]!, /^default {5}reviews {3}cluster3 {3}\(no local tier\) cluster1 100% 1\/3, cluster2 0% 3\/3 +0% +- +12s$/);
    const before = statusRows(fs('reviews', { clusters: [{ name: 'cluster3', roles: ['client'], failoverOrder: ['cluster1', 'cluster2'] }] }));
    assert.deepEqual(before.map((r) => [r.client, r.clientOnly, r.tiers.map((t) => t.cluster)]), [['cluster3', true, ['cluster1', 'cluster2']]]);
  });

  it('before shares are published: the failover order from status.clusters, shares unknown', () => {
    const rows = statusRows(fs('ratings', { clusters: [{ name: 'cluster1', roles: ['client', 'receiver'], failoverOrder: ['cluster1', 'cluster2'] }] }));
    assert.deepEqual(rows.map((r) => [r.client, r.tiers.map((t) => t.cluster)]), [['cluster1', ['cluster1', 'cluster2']]]);
    assert.match(formatTable(rows, now), /cluster1 {3}cluster1 \?, cluster2 \? +- +- +-\n$/);
    assert.deepEqual(statusRows(fs('new')).map((r) => [r.client, r.tiers.length]), [['-', 0]]);
  });
});

describe('spillway status against an API double', { timeout: 30_000 }, () => {
  let d: KubeDouble;
  let c: HttpKubeClient;
  let dir: string;
  let kubeconfig: string;
  const path = '/apis/spillway.dev/v1alpha1/namespaces/default/failoverservices';

  before(async () => {
    d = await KubeDouble.start({ name: 'mgmt' });
    c = new HttpKubeClient(kubeConfigFromText(d.kubeconfig()), { timeoutMs: 5_000 });
    for (const crd of customResourceDefinitions()) await c.request({ method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: crd });
    await c.request({ method: 'POST', path, body: fs('reviews') });
    await c.request({ method: 'PATCH', path: `${path}/reviews/status`, contentType: 'application/merge-patch+json', body: { status: { serving, conditions: [{ type: 'Programmed', status: 'True' }] } } });
    dir = mkdtempSync(join(tmpdir(), 'spillway-status-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, d.kubeconfig());
  });
  after(async () => {
    c?.close();
    await d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    return { code, out, err };
  };

  it('prints the table, and the same rows as JSON and YAML (the CRD schema kept every field)', async () => {
    const t = await run(['status', '--kubeconfig', kubeconfig]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^NAMESPACE +NAME +CLIENT +TIERS/);
    assert.match(t.out, /default +reviews +cluster1 +cluster1 46% 1\/3, cluster2 54% 3\/3 +0% +True/);
    const j = JSON.parse((await run(['status', '--kubeconfig', kubeconfig, '-o', 'json'])).out) as { items: { client: string; tiers: { gatewayReady?: number }[]; lastTransitionTime: string }[] };
    assert.deepEqual(j.items.map((r) => r.client), ['cluster1', 'cluster2']);
    assert.equal(j.items[1]!.tiers[1]!.gatewayReady, 0);
    assert.equal(j.items[0]!.lastTransitionTime, '2026-12-01T10:09:48Z');
    const y = yaml.load((await run(['status', '--kubeconfig', kubeconfig, '-o', 'yaml'])).out) as { items: unknown[] };
    assert.deepEqual(y, j);
    const none = await run(['status', '--kubeconfig', kubeconfig, '-n', 'elsewhere']);
    assert.equal(none.code, 0);
    assert.equal(none.err, 'No FailoverServices found in namespace elsewhere.\n');
  });

  it('--watch prints the current rows, then a row set again when its shares change', async () => {
    let out = '';
    const stop = new AbortController();
    const done = statusCommand({ kubeconfig, output: 'table', watch: true }, { stdout: (s) => (out += s), stderr: () => undefined }, stop.signal, () => now);
    const wait = async (re: RegExp): Promise<void> => {
      const t0 = Date.now();
      while (!re.test(out)) {
        if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${re} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await wait(/cluster1 46%/);
    const moved = structuredClone(serving);
    moved[0]!.tiers[0]!.percent = 0;
    moved[0]!.tiers[1]!.percent = 100;
    moved[0]!.tiers[0]!.healthy = 0;
    await c.request({ method: 'PATCH', path: `${path}/reviews/status`, contentType: 'application/merge-patch+json', body: { status: { serving: moved } } });
    await wait(/cluster1 0% 0\/3, cluster2 100% 3\/3/);
    stop.abort();
    assert.equal(await done, 0);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('NAMESPACE')).length, 1, 'one header');
    assert.equal(lines.length, 5, out);
  });
});
