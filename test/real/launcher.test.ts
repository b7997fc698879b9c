/**
 * The real-cluster launcher: a ready cluster serves TLS with its own CA and enforces RBAC, and a test process
 * that dies (SIGKILL: no exit handlers run) leaves no server behind.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isKubeApiError } from '../../src/kube/errors.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { startRealClusters } from '../support/real-cluster.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('real-cluster launcher', { timeout: 400_000 }, () => {
  it('serves TLS with its own CA, authenticates the admin certificate, refuses anonymous writes', { timeout: 240_000 }, async () => {
    const [c] = await startRealClusters(['launcher']);
    try {
      const admin = c!.client();
      const v = (await admin.request({ method: 'GET', path: '/version' })) as { gitVersion: string };
      assert.equal(v.gitVersion, 'v1.37.2');
      const who = (await admin.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } })) as { status: { userInfo: { username: string; groups: string[] } } };
      assert.equal(who.status.userInfo.username, 'spillway-admin');
      assert.ok(who.status.userInfo.groups.includes('system:masters'));
      // A ServiceAccount with no role may do nothing.
      await admin.request({ method: 'POST', path: '/api/v1/namespaces/default/serviceaccounts', body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody' } } });
      const nobody = new HttpKubeClient(kubeConfigFromText(c!.tokenKubeconfig(await c!.token('default', 'nobody', 600))));
      await assert.rejects(nobody.request({ method: 'GET', path: '/api/v1/namespaces/default/configmaps' }), (e: unknown) => isKubeApiError(e) && e.status === 403);
      nobody.close();
      // Every request is in the audit log, with its user.
      assert.ok(c!.audit().some((e) => e.user.username === 'system:serviceaccount:default:nobody' && e.responseStatus?.code === 403));
    } finally {
      await c!.close();
    }
  });

  it('a test process killed with SIGKILL leaves no server running', { timeout: 240_000 }, async () => {
    const script = `
      const { startRealClusters } = await import(${JSON.stringify(fileURLToPath(new URL('../support/real-cluster.ts', import.meta.url)))});
      const [c] = await startRealClusters(['orphan']);
      const { execFileSync } = await import('node:child_process');
      const pids = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim();
      process.stdout.write('PIDS ' + pids + ' ' + c.server + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^PIDS (.*)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`helper exited ${String(code)} before the cluster was ready`)));
    });
    const parts = line.split(/\s+/);
    const server = parts.pop()!;
    const pids = parts.map(Number).filter((p) => p > 0);
    assert.ok(pids.length >= 1 && pids.every(alive), `server pids ${pids.join(',')}`);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pids.filter(alive), [], `still running after the test process died (${server})`);
  });
});
