/** `cluster register` writes only Secrets the controller accepts: the controller's data-only rules, same codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { registerClusterManifests, RegisterError } from '../../src/install/register.ts';
import { minimizeKubeconfig, KubeconfigError } from '../../src/install/kubeconfig.ts';
import { memberConfigFromText } from '../../src/kube/config.ts';

type Obj = Record<string, unknown>;
const SECRET = 'never-print-me-9f3a';
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const doc = (cluster: Obj, user: Obj): Obj => ({
  'current-context': 'c',
  clusters: [{ name: 'k', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': CA, ...cluster } }],
  users: [{ name: 'u', user }],
  contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
});

test('what register writes is accepted by the controller as data', () => {
  const r = registerClusterManifests({ name: 'east', kubeconfig: { source: doc({}, { token: SECRET }), readFile: () => undefined } });
  const secret = r.objects.find((o) => o.kind === 'Secret')!;
  const text = Buffer.from(String((secret.data as Obj).kubeconfig), 'base64').toString();
  const cfg = memberConfigFromText(text);
  assert.deepEqual({ server: cfg.server, token: cfg.token }, { server: 'https://10.0.0.1:6443', token: SECRET });
});

const refusals: [string, Obj, Obj, string][] = [
  ['basic auth', {}, { username: 'admin', password: SECRET }, 'SPW206'],
  ['skipped TLS verification', { 'insecure-skip-tls-verify': true }, { token: SECRET }, 'SPW207'],
  ['an http:// server', { server: 'http://10.0.0.1:8080' }, { token: SECRET }, 'SPW207'],
  ['a password in the server URL', { server: `https://admin:${SECRET}@10.0.0.1:6443` }, { token: 'x' }, 'SPW208'],
  ['a proxy', { 'proxy-url': `http://u:${SECRET}@proxy:3128` }, { token: 'x' }, 'SPW204'],
  ['impersonation', {}, { token: 'x', as: 'system:admin' }, 'SPW205'],
];
for (const [what, cluster, user, code] of refusals) {
  test(`register refuses ${what} with ${code}, without printing the secret`, () => {
    assert.throws(
      () => minimizeKubeconfig(doc(cluster, user), { readFile: () => undefined }),
      (e: unknown) => e instanceof KubeconfigError && e.code === code && e.message.startsWith(`${code}: `) && !e.message.includes(SECRET),
    );
    assert.throws(
      () => registerClusterManifests({ name: 'east', kubeconfig: { source: yaml.dump(doc(cluster, user)), readFile: () => undefined } }),
      (e: unknown) => e instanceof RegisterError && e.problems.some((p) => p.startsWith(`${code}: `)) && !e.message.includes(SECRET),
    );
  });
}

test('a loopback warning shows the server without its user info', () => {
  const min = minimizeKubeconfig(doc({ server: 'https://127.0.0.1:6443' }, { token: 'x' }), { readFile: () => undefined });
  assert.match(min.warnings.join('\n'), /server https:\/\/127\.0\.0\.1:6443 is a loopback address/);
});
