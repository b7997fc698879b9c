// scripts/kube-double.ts: starts N doubles, writes a kubeconfig for each, stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { waitFor, within } from './helpers.ts';

describe('scripts/kube-double.ts', () => {
  it('runs independent clusters reachable through the kubeconfigs it writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-double-script-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/kube-double.ts', '--clusters', '2', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor('both clusters to start', () => out.includes('2 cluster(s) running'), 15000);
      const clients = ['cluster1', 'cluster2'].map((name) => {
        const kc = new k8s.KubeConfig();
        kc.loadFromString(readFileSync(join(dir, `${name}.kubeconfig`), 'utf8'));
        assert.equal(kc.getCurrentContext(), name);
        assert.ok(out.includes(kc.getCurrentCluster()?.server ?? 'missing'));
        return kc.makeApiClient(k8s.CoreV1Api);
      });
      await clients[0]!.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'only-in-1' } } });
      assert.equal((await clients[0]!.listNamespacedConfigMap({ namespace: 'default' })).items.length, 1);
      assert.equal((await clients[1]!.listNamespacedConfigMap({ namespace: 'default' })).items.length, 0);
    } finally {
      child.kill('SIGTERM');
      const code = await within(exited, 10000, 'script to exit');
      rmSync(dir, { recursive: true, force: true });
      assert.equal(code, 0);
    }
  });
});
