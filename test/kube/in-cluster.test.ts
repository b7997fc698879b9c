// In-cluster config (client-go's rules) and the rotating service-account token file, without a server; the same
// against a real API server with TokenRequest tokens is test/real/in-cluster.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeConfig, tokenFileOf } from '../../src/kube/config.ts';
import { TokenFile } from '../../src/kube/token-file.ts';
import { serviceAccountVolume } from '../support/service-account.ts';

const root = mkdtempSync(join(tmpdir(), 'spillway-incluster-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('in-cluster config', { timeout: 30_000 }, () => {
  const home = join(root, 'home');
  mkdirSync(home);

  it('with KUBERNETES_SERVICE_HOST/PORT and the token file: the service host, the pod CA, namespace and token file', () => {
    const dir = join(root, 'sa1');
    serviceAccountVolume(dir, { token: 'tok-1', 'ca.crt': 'not a real CA', namespace: 'spillway-system\n' });
    const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, home, serviceAccountDir: dir });
    assert.equal(kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
    assert.equal(kc.getCurrentCluster()?.caFile, join(dir, 'ca.crt'));
    assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'spillway-system');
    assert.equal(tokenFileOf(kc), join(dir, 'token'));
    const v6 = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '6443' }, home, serviceAccountDir: dir });
    assert.equal(v6.getCurrentCluster()?.server, 'https://[fd00:10:96::1]:6443');
  });

  it('a kubeconfig wins over the pod; no PORT or no token file is not "in a pod"', () => {
    const dir = join(root, 'sa2');
    serviceAccountVolume(dir, { token: 'tok', 'ca.crt': 'x', namespace: 'ns' });
    writeFileSync(join(root, 'kc.yaml'), 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://c.example"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    assert.equal(loadKubeConfig({ env: { ...env, KUBECONFIG: join(root, 'kc.yaml') }, home, serviceAccountDir: dir }).getCurrentCluster()?.server, 'https://c.example');
    assert.throws(() => loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, home, serviceAccountDir: dir }), /no kubeconfig/);
    assert.throws(() => loadKubeConfig({ env, home, serviceAccountDir: join(root, 'nowhere') }), /no kubeconfig/);
  });
});

describe('rotating token file', { timeout: 30_000 }, () => {
  it('is read again when the kubelet swaps it, at most once per check interval; never quoted in errors', () => {
    const dir = join(root, 'sa3');
    const rotate = serviceAccountVolume(dir, { token: 'first-token\n', 'ca.crt': 'x', namespace: 'ns' });
    let now = 0;
    const tf = new TokenFile(join(dir, 'token'), { checkMs: 1_000, maxAgeMs: 60_000, now: () => now });
    assert.equal(tf.get(), 'first-token');
    rotate('second-token');
    now = 500;
    assert.equal(tf.get(), 'first-token', 'not looked at again within the check interval');
    now = 1_000;
    assert.equal(tf.get(), 'second-token');
    assert.equal(tf.reads, 2);
    now = 5_000;
    assert.equal(tf.get(), 'second-token');
    assert.equal(tf.reads, 2, 'an unchanged file is not read again');
    now = 62_000;
    tf.get();
    assert.equal(tf.reads, 3, 'read again once it is a minute old');
    // While the kubelet swaps, a missing or empty file keeps the last token.
    rmSync(join(dir, 'token'));
    now = 70_000;
    assert.equal(tf.get(), 'second-token');
    symlinkSync(join('..data', 'token'), join(dir, 'token'));
    rotate('third-token');
    assert.equal(tf.refresh(), true, 'refresh (after a 401) reads now');
    assert.equal(tf.get(), 'third-token');
    assert.equal(tf.refresh(), false);
    const missing = new TokenFile(join(root, 'none', 'token'));
    assert.throws(() => missing.get(), (e: Error) => /token file .*none\/token cannot be read: ENOENT/.test(e.message));
    writeFileSync(join(root, 'empty-token'), '');
    assert.throws(() => new TokenFile(join(root, 'empty-token')).get(), /is empty/);
  });
});
