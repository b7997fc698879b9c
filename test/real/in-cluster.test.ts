/**
 * In-cluster config against a real API server: the pod's environment (KUBERNETES_SERVICE_HOST/PORT) and
 * service-account volume (token, ca.crt, namespace) as the kubelet lays it out, with TokenRequest tokens bound to
 * a Secret each. The client must follow a rotated token: first while the old one is still valid (it re-reads the
 * changed file), then after the old one is revoked (deleting its Secret).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { isKubeApiError } from '../../src/kube/errors.ts';
import { kubeConfigFromText, loadKubeConfig } from '../../src/kube/config.ts';
import { REAL_START_MS } from '../double-conformance/helpers.ts';
import { until } from '../controller/harness.ts';
import { startRealClusters } from '../support/real-cluster.ts';
import type { RealCluster } from '../support/real-cluster.ts';
import { serviceAccountVolume } from '../support/service-account.ts';

interface UserInfo {
  username?: string;
  extra?: Record<string, string[]>;
}

const whoami = async (c: HttpKubeClient): Promise<UserInfo> =>
  ((await c.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } })) as { status: { userInfo: UserInfo } }).status.userInfo;

/** The token the server saw, as its credential id (`JTI=<jti>`). */
const credential = (u: UserInfo): string | undefined => u.extra?.['authentication.kubernetes.io/credential-id']?.[0];
const jti = (token: string): string => `JTI=${(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string }).jti}`;

describe('in-cluster config against a real API server', { timeout: 300_000 }, () => {
  let c: RealCluster;
  let admin: HttpKubeClient;
  const dir = mkdtempSync(join(tmpdir(), 'spillway-pod-'));
  before(async () => {
    [c] = await startRealClusters(['in-cluster']) as [RealCluster];
    admin = c.client();
  }, { timeout: REAL_START_MS });
  after(async () => {
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A TokenRequest token for default/pod-sa bound to a new Secret (deleting the Secret revokes the token). */
  const boundToken = async (secret: string): Promise<string> => {
    const s = (await admin.request({ method: 'POST', path: '/api/v1/namespaces/default/secrets', body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: secret }, type: 'Opaque' } })) as KubeObject;
    const r = (await admin.request({
      method: 'POST',
      path: '/api/v1/namespaces/default/serviceaccounts/pod-sa/token',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: secret, uid: s.metadata.uid } } },
    })) as { status: { token: string } };
    return r.status.token;
  };

  it('authenticates as the pod\'s service account and follows the kubelet\'s token rotation', async () => {
    await admin.request({ method: 'POST', path: '/api/v1/namespaces/default/serviceaccounts', body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pod-sa' } } });
    const first = await boundToken('bind-first');
    const second = await boundToken('bind-second');
    const rotate = serviceAccountVolume(join(dir, 'sa'), { token: first, 'ca.crt': c.caPem, namespace: 'default' });
    const home = join(dir, 'home');
    mkdirSync(home);
    const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(c.server).port }, home, serviceAccountDir: join(dir, 'sa') });
    assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'default');
    const client = new HttpKubeClient(kc, { timeoutMs: 10_000 });
    try {
      const u = await whoami(client);
      assert.equal(u.username, 'system:serviceaccount:default:pod-sa');
      assert.equal(credential(u), jti(first));

      // Rotated while the first token is still valid: the changed file is read again (within a second or so).
      rotate(second);
      await until(async () => (credential(await whoami(client)) === jti(second) ? [] : ['still the first token']), 'the rotated token in use', 15_000);

      // The first token revoked: it is refused, the client goes on with the second.
      await admin.request({ method: 'DELETE', path: '/api/v1/namespaces/default/secrets/bind-first' });
      const stale = new HttpKubeClient(kubeConfigFromText(c.tokenKubeconfig(first)), { timeoutMs: 10_000 });
      try {
        await until(async () => {
          try {
            await whoami(stale);
            return ['the first token still authenticates'];
          } catch (e) {
            return isKubeApiError(e) && e.status === 401 ? [] : [String(e)];
          }
        }, 'the first token refused', 45_000);
      } finally {
        stale.close();
      }
      const after = await whoami(client);
      assert.equal(after.username, 'system:serviceaccount:default:pod-sa');
      assert.equal(credential(after), jti(second));
    } finally {
      client.close();
    }
  });
});
