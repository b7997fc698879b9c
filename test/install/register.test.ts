import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { clusterRegisterCommand } from '../../src/cli/cluster.ts';
import type { ClusterRegisterOptions } from '../../src/cli/cluster.ts';
import { registerClusterManifests, RegisterError } from '../../src/install/register.ts';
import { isLoopbackServer, minimizeKubeconfig, KubeconfigError } from '../../src/install/kubeconfig.ts';
import { validate } from '../../src/schema/structural.ts';
import { meshClusterSchema } from '../../src/api/schemas.ts';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Obj;
};

// Distinctive credential values: none of them may ever reach stderr.
const TOKEN_A = 'tok-AAAA-never-print-me';
const TOKEN_FILE = 'tok-FILE-never-print-me';
const CA = '-----BEGIN CERTIFICATE-----\nCA-BYTES-0123\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nCLIENT-CERT-4567\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nCLIENT-KEY-89ab\n-----END PRIVATE KEY-----\n';
const SECRETS = [TOKEN_A, TOKEN_FILE, 'CA-BYTES-0123', 'CLIENT-CERT-4567', 'CLIENT-KEY-89ab'];

let dir = '';
let kubeconfigPath = '';

function kubeconfig(users: Obj[], contexts: Obj[], extraClusters: Obj[] = []): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'alpha',
    clusters: [
      { name: 'alpha', cluster: { server: 'https://10.1.0.1:6443', 'certificate-authority-data': Buffer.from(CA).toString('base64') } },
      // A relative path: resolved against the kubeconfig's folder, as kubectl does.
      { name: 'beta', cluster: { server: 'https://beta-control-plane:6443', 'certificate-authority': 'pki/ca.crt' } },
      { name: 'local', cluster: { server: 'https://127.0.0.1:41234', 'certificate-authority': 'pki/ca.crt' } },
      ...extraClusters,
    ],
    users,
    contexts,
  });
}

const USERS = [
  { name: 'alpha-admin', user: { token: TOKEN_A } },
  { name: 'beta-admin', user: { 'client-certificate': 'pki/client.crt', 'client-key': '' } }, // key filled in `before`
  { name: 'sa', user: { tokenFile: 'token' } },
  { name: 'gke', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'gke-gcloud-auth-plugin' } } },
  { name: 'oidc', user: { 'auth-provider': { name: 'oidc', config: { 'id-token': TOKEN_A } } } },
  { name: 'missing', user: { 'client-certificate': 'pki/nope.crt', 'client-key': 'pki/nope.key' } },
  { name: 'nothing', user: {} },
];
const CONTEXTS = [
  { name: 'alpha', context: { cluster: 'alpha', user: 'alpha-admin' } },
  { name: 'beta', context: { cluster: 'beta', user: 'beta-admin', namespace: 'apps' } },
  { name: 'beta-sa', context: { cluster: 'beta', user: 'sa' } },
  { name: 'gke', context: { cluster: 'alpha', user: 'gke' } },
  { name: 'oidc', context: { cluster: 'alpha', user: 'oidc' } },
  { name: 'missing', context: { cluster: 'beta', user: 'missing' } },
  { name: 'nothing', context: { cluster: 'alpha', user: 'nothing' } },
  { name: 'local', context: { cluster: 'local', user: 'alpha-admin' } },
];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spillway-register-'));
  mkdirSync(join(dir, 'kube', 'pki'), { recursive: true });
  writeFileSync(join(dir, 'kube', 'pki', 'ca.crt'), CA);
  writeFileSync(join(dir, 'kube', 'pki', 'client.crt'), CERT);
  writeFileSync(join(dir, 'client.key'), KEY);
  writeFileSync(join(dir, 'kube', 'token'), `${TOKEN_FILE}\n`);
  const users = USERS.map((u) => (u.name === 'beta-admin' ? { name: u.name, user: { ...u.user, 'client-key': join(dir, 'client.key') } } : u));
  kubeconfigPath = join(dir, 'kube', 'config');
  writeFileSync(kubeconfigPath, kubeconfig(users, CONTEXTS));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(opts: Partial<ClusterRegisterOptions>): { code: number; out: string; err: string; docs: Obj[] } {
  let out = '', err = '';
  const code = clusterRegisterCommand(
    { name: 'cluster2', gatewayAddress: '172.18.0.3', gatewayPort: '32000', ...opts },
    { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } },
  );
  for (const s of SECRETS) assert.ok(!err.includes(s), `stderr leaks a credential: ${err}`);
  return { code, out, err, docs: yaml.loadAll(out).filter((d) => d != null).map(obj) };
}

function decodeSecret(secret: Obj): { text: string; doc: Obj } {
  const text = Buffer.from(String(obj(secret.data).kubeconfig), 'base64').toString('utf8');
  return { text, doc: obj(yaml.load(text)) };
}

test('register prints the kubeconfig Secret and a MeshCluster that references it', () => {
  const { code, out, docs, err } = run({ kubeconfig: kubeconfigPath, context: 'beta', servicePort: '443', istioVersion: '1.22', namespace: 'mesh-ctl' });
  assert.equal(code, 0, err);
  assert.equal(err, '');
  assert.match(out, /^# .*credentials/);
  assert.deepEqual(docs.map((d) => `${String(d.apiVersion)} ${String(d.kind)}`), ['v1 Secret', 'spillway.dev/v1alpha1 MeshCluster']);
  const [secret, mc] = docs as [Obj, Obj];
  assert.equal(obj(secret.metadata).name, 'cluster2-kubeconfig');
  assert.equal(obj(secret.metadata).namespace, 'mesh-ctl');
  assert.deepEqual(Object.keys(obj(secret.data)), ['kubeconfig']);
  assert.deepEqual(mc.metadata, { name: 'cluster2' });
  assert.deepEqual(mc.spec, {
    gateway: { address: '172.18.0.3', port: 32000, servicePort: 443 },
    istio: { version: '1.22' },
    kubeconfigSecret: { name: 'cluster2-kubeconfig', namespace: 'mesh-ctl' },
  });
  // The analyzer's schema accepts the printed MeshCluster as is.
  assert.deepEqual(validate(meshClusterSchema, mc, { closed: true }), []);
});

test('the Secret round-trips to a kubeconfig with one context and every credential embedded', () => {
  const { docs } = run({ kubeconfig: kubeconfigPath, context: 'beta' });
  const { text, doc } = decodeSecret(docs[0]!);
  for (const list of ['clusters', 'users', 'contexts']) assert.equal((doc[list] as unknown[]).length, 1, list);
  assert.equal(doc['current-context'], 'beta');
  assert.ok(!/certificate-authority:|client-certificate:|client-key:|tokenFile/.test(text), 'no file references remain');
  assert.ok(!text.includes(TOKEN_A), 'the other context\'s credentials are dropped');
  // An independent reader: the Kubernetes JS client, which the controller uses for member clusters.
  const kc = new KubeConfig();
  kc.loadFromString(text);
  assert.equal(kc.getCurrentContext(), 'beta');
  assert.equal(kc.getContextObject('beta')?.namespace, 'apps');
  const cluster = kc.getCurrentCluster();
  assert.equal(cluster?.server, 'https://beta-control-plane:6443');
  assert.equal(Buffer.from(cluster?.caData ?? '', 'base64').toString(), CA);
  const user = kc.getCurrentUser();
  assert.equal(Buffer.from(user?.certData ?? '', 'base64').toString(), CERT);
  assert.equal(Buffer.from(user?.keyData ?? '', 'base64').toString(), KEY);
});

test('a tokenFile is read (relative to the kubeconfig) and embedded as a token, with a warning', () => {
  const { code, docs, err } = run({ kubeconfig: kubeconfigPath, context: 'beta-sa' });
  assert.equal(code, 0, err);
  assert.match(err, /tokenFile was read once/);
  const kc = new KubeConfig();
  kc.loadFromString(decodeSecret(docs[0]!).text);
  assert.equal(kc.getCurrentUser()?.token, TOKEN_FILE);
});

test('the current context is used without --context; a loopback server only warns', () => {
  const cur = run({ kubeconfig: kubeconfigPath });
  assert.equal(cur.code, 0, cur.err);
  assert.equal(decodeSecret(cur.docs[0]!).doc['current-context'], 'alpha');
  const local = run({ kubeconfig: kubeconfigPath, context: 'local' });
  assert.equal(local.code, 0, local.err);
  assert.match(local.err, /^spillway: warning: .*127\.0\.0\.1:41234 is a loopback address/);
  assert.ok(isLoopbackServer('https://localhost:6443') && isLoopbackServer('https://[::1]:6443') && !isLoopbackServer('https://10.0.0.1'));
});

test('plugins, missing files, missing credentials and unknown contexts fail with exit 2 and no output', () => {
  const cases: [Partial<ClusterRegisterOptions>, RegExp][] = [
    [{ kubeconfig: kubeconfigPath, context: 'gke' }, /exec plugin \(command "gke-gcloud-auth-plugin"\)/],
    [{ kubeconfig: kubeconfigPath, context: 'oidc' }, /auth-provider plugin \("oidc"\)/],
    [{ kubeconfig: kubeconfigPath, context: 'missing' }, /client-certificate file pki\/nope\.crt does not exist/],
    [{ kubeconfig: kubeconfigPath, context: 'nothing' }, /has no credentials/],
    [{ kubeconfig: kubeconfigPath, context: 'gamma' }, /no context "gamma" \(contexts: alpha, beta/],
    [{ kubeconfig: join(dir, 'absent') }, /--kubeconfig .*absent: file does not exist/],
    [{}, /--kubeconfig is required/],
    [{ management: true, kubeconfig: kubeconfigPath }, /takes no --kubeconfig/],
    [{ context: 'beta', management: true }, /--context needs --kubeconfig/],
  ];
  for (const [opts, re] of cases) {
    const r = run(opts);
    assert.equal(r.code, 2, JSON.stringify(opts));
    assert.equal(r.out, '', 'nothing printed on failure');
    assert.match(r.err, re);
    assert.match(r.err, /^spillway: /);
  }
});

test('a kubeconfig with a YAML error reports the position, not the text around it', () => {
  const bad = join(dir, 'bad-config');
  writeFileSync(bad, `users:\n- name: x\n  user:\n    token: ${TOKEN_A}\n   broken: [\n`);
  const r = run({ kubeconfig: bad });
  assert.equal(r.code, 2);
  assert.match(r.err, /not valid YAML: .* at line \d+/);
});

test('name and gateway fields are validated with the analyzer\'s schema; every problem is reported', () => {
  const r = run({ name: 'Cluster_2', kubeconfig: kubeconfigPath, gatewayAddress: '', gatewayPort: '70000', listenPort: 'abc', istioVersion: '2.0' });
  assert.equal(r.code, 2);
  const lines = r.err.trim().split('\n');
  assert.ok(lines.some((l) => /cluster name "Cluster_2"/.test(l)));
  for (const path of ['spec.gateway.address', 'spec.gateway.port', 'spec.gateway.listenPort', 'spec.istio.version']) {
    assert.ok(lines.some((l) => l.startsWith(`spillway: ${path}:`)), `${path} in ${r.err}`);
  }
  assert.equal(run({ name: 'a'.repeat(64), management: true }).code, 2);
  assert.match(run({ gatewayPort: undefined, management: true }).err, /--gateway-address and --gateway-port go together/);
});

test('--management registers the controller\'s own cluster: the member roles bound to the controller\'s ServiceAccount and a MeshCluster without Secret', () => {
  const r = run({ management: true, name: 'hub' });
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.docs.map((d) => d.kind), ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'MeshCluster']);
  assert.deepEqual(r.docs.at(-1)!.spec, { gateway: { address: '172.18.0.3', port: 32000 } });
  for (const b of r.docs.filter((d) => String(d.kind).endsWith('Binding'))) {
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'spillway-controller', namespace: 'spillway-system' }]);
  }
  assert.equal(obj(r.docs.find((d) => d.kind === 'Role')!.metadata).namespace, 'istio-system');
  // A client-only cluster needs no gateway at all; another root namespace goes into the MeshCluster and the Role.
  const bare = registerClusterManifests({ name: 'client-only', management: true, rootNamespace: 'mesh-root' });
  assert.deepEqual(bare.objects.at(-1)!.spec, { istio: { rootNamespace: 'mesh-root' } });
  assert.deepEqual(bare.objects.filter((o) => o.kind.startsWith('Role')).map((o) => o.metadata.namespace), ['mesh-root', 'mesh-root']);
});

test('the pure builders take parsed input and file readers, and report every problem at once', () => {
  const files = new Map([['ca.pem', new TextEncoder().encode(CA)]]);
  const min = minimizeKubeconfig(
    {
      'current-context': 'c',
      clusters: [{ name: 'k', cluster: { server: 'https://k:6443', 'certificate-authority': 'ca.pem' } }],
      users: [{ name: 'u', user: { token: 'tok' } }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    },
    { readFile: (p) => files.get(p) },
  );
  assert.equal(min.context, 'c');
  assert.equal(Buffer.from(String(obj(obj((min.config.clusters as Obj[])[0]).cluster)['certificate-authority-data']), 'base64').toString(), CA);
  assert.throws(() => minimizeKubeconfig('[]', { readFile: () => undefined }), KubeconfigError);
  try {
    registerClusterManifests({ name: 'UPPER', namespace: 'x_y' });
    assert.fail('expected a RegisterError');
  } catch (e) {
    assert.ok(e instanceof RegisterError);
    assert.equal(e.problems.length, 3, e.problems.join('\n'));
  }
});
