/** `controllerCommand`: exit codes, the HTTP endpoints, JSON logs without credentials, clean stop. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controllerCommand } from '../../src/cli/controller.ts';
import { create, divergence, failoverService, service, startFleet, until } from './harness.ts';

describe('spillway controller (command)', () => {
  it('exits 2 on an unusable kubeconfig or option, without starting', { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    assert.equal(await controllerCommand({ kubeconfig: '/nonexistent/kubeconfig', namespace: 'x', metricsAddr: '', write: (l) => lines.push(l) }), 2);
    assert.match(lines.join(''), /"msg":"cannot start"/);
    assert.equal(await controllerCommand({ kubeconfig: '/nonexistent', namespace: 'x', resyncSeconds: 'soon', write: () => undefined }), 2);
  });

  it('runs against an http:// double, serves /metrics, /healthz, /readyz, converges, and stops on abort', { timeout: 300_000 }, async () => {
    const f = await startFleet(2);
    const dir = mkdtempSync(join(tmpdir(), 'spillway-cli-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, f.mgmt.kubeconfig());
      for (const c of f.clients) await create(c, service('reviews'));
      await create(f.mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2']));
      const ac = new AbortController();
      const lines: string[] = [];
      let port = 0;
      const run = controllerCommand({ kubeconfig, namespace: 'spillway-system', metricsAddr: '127.0.0.1:0', identity: 'cli-test', signal: ac.signal, write: (l) => lines.push(l), onListening: (p) => (port = p) });
      // Converged on real output, not vacuously: discovery must first have turned the Services into MeshWorkloads.
      await until(async () => ((f.mgmt.peek('spillway.dev', 'meshworkloads', 'default', 'reviews-cluster2') ? [] : ['no MeshWorkload reviews-cluster2 yet'])), 'discovery');
      await until(async () => ((await divergence(f)).length === 0 && f.clients.length > 0 && f.members[0]!.peek('networking.istio.io', 'envoyfilters', 'istio-system', 'reviews-global.default.global') ? [] : ['not converged on the rendered objects']), 'controller command converges');
      assert.ok(port > 0);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^spillway_objects_applied_total\{cluster="cluster1"\} [1-9]/m);
      assert.match(metrics, /^spillway_cluster_reachable\{cluster="cluster2"\} 1$/m);
      assert.match(metrics, /^spillway_leader 1$/m);
      // prom-client's defaults next to Spillway's own: process, GC and event-loop metrics.
      for (const m of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes']) assert.match(metrics, new RegExp(`^# TYPE ${m} `, 'm'), m);
      assert.doesNotMatch(metrics, /token|password|BEGIN|secret/i, 'nothing secret in /metrics');
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
      ac.abort();
      assert.equal(await run, 0);
      for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
      const text = lines.join('');
      assert.match(text, /"msg":"became leader"/);
      assert.match(text, /"msg":"stopped"/);
      assert.doesNotMatch(text, /kube-double|Bearer/, 'no token in the logs');
      // A clean stop released the lease.
      await until(async () => {
        const lease = f.mgmt.peek('coordination.k8s.io', 'leases', 'spillway-system', 'spillway-controller') as { spec?: { holderIdentity?: string } } | undefined;
        return lease?.spec?.holderIdentity === '' ? [] : [JSON.stringify(lease?.spec)];
      }, 'lease released');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await f.close();
    }
  });
});
