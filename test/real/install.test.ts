/**
 * `spillway install` and `spillway cluster register` against a real kube-apiserver (test/support/real-cluster.ts):
 * the CRDs are accepted with their schemas, printer columns and status subresource; register creates the member
 * identity with the caller's own credentials, even when those come from an exec plugin (as on EKS, GKE and AKS),
 * and embeds an expiring TokenRequest token that has exactly the member role.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeObject } from '../../src/api/types.ts';
import { runCli } from '../../src/cli/main.ts';
import { clusterRegister } from '../../src/cli/cluster.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { memberConfigFromText } from '../../src/kube/config.ts';
import { isKubeApiError } from '../../src/kube/errors.ts';
import { startRealClusters } from '../support/real-cluster.ts';
import type { RealCluster } from '../support/real-cluster.ts';
import { kubectl, ok } from './kube.ts';

const NS = 'spillway-system';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

function decodeJwtExpiry(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp?: number; iat?: number };
  return (payload.exp ?? 0) - (payload.iat ?? 0);
}

describe('install and register against a real API server', { timeout: 600_000 }, () => {
  let c: RealCluster;
  before(async () => {
    [c] = (await startRealClusters(['install'])) as [RealCluster];
  }, { timeout: 240_000 });
  after(() => c?.close());

  it('spillway install | kubectl apply -f -: CRDs accepted with schemas, printer columns and a status subresource', { timeout: 120_000 }, async () => {
    const install = await cli(['install']);
    assert.equal(install.code, 0, install.err);
    const applied = ok(await kubectl(c, ['apply', '-f', '-'], install.out), 'kubectl apply');
    assert.match(applied, /customresourcedefinition.apiextensions.k8s.io\/failoverservices.spillway.dev created/);
    assert.match(applied, /deployment.apps\/spillway-controller created/);
    ok(await kubectl(c, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/failoverservices.spillway.dev', 'crd/meshclusters.spillway.dev', 'crd/meshworkloads.spillway.dev']), 'established');
    // A second apply changes nothing: every object keeps its resourceVersion (kubectl may still say "configured"
    // when it sends a patch the server finds empty, as it does for the PodDisruptionBudget).
    const versions = async (): Promise<string> => ok(await kubectl(c, ['get', '-f', '-', '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}'], install.out), 'kubectl get -f');
    const before = await versions();
    assert.doesNotMatch(ok(await kubectl(c, ['apply', '-f', '-'], install.out), 'kubectl apply again'), /created/);
    assert.equal(await versions(), before);

    // Schema: a wrong type is refused by the server, an unknown field is pruned.
    const bad = await kubectl(c, ['create', '-f', '-'], JSON.stringify({ apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name: 'bad', namespace: 'default' }, spec: { meshWorkloads: 'not-a-list' } }));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec.meshWorkloads: Invalid value: "string": spec.meshWorkloads in body must be of type array/);
    const created = await kubectl(c, ['create', '-o', 'json', '--validate=false', '-f', '-'], JSON.stringify({ apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name: 'web', namespace: 'default' }, spec: { meshWorkloads: ['a', 'b'], surplus: 1 } }));
    const obj = JSON.parse(ok(created, 'create fos')) as KubeObject;
    assert.deepEqual(obj.spec, { meshWorkloads: ['a', 'b'] });
    assert.equal(obj.metadata.generation, 1);

    // Status subresource: /status changes status only, a main write ignores status and bumps the generation.
    const admin = c.client();
    await admin.request({ method: 'PATCH', path: '/apis/spillway.dev/v1alpha1/namespaces/default/failoverservices/web/status', contentType: 'application/merge-patch+json', body: { status: { observedGeneration: 1, conditions: [{ type: 'Accepted', status: 'True', reason: 'Valid', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }, { type: 'Programmed', status: 'False', reason: 'Pending', message: 'not yet', lastTransitionTime: '2026-01-01T00:00:00Z' }] } } });
    const main = (await admin.request({ method: 'PATCH', path: '/apis/spillway.dev/v1alpha1/namespaces/default/failoverservices/web', contentType: 'application/merge-patch+json', body: { spec: { meshWorkloads: ['b', 'a'] }, status: { observedGeneration: 99 } } })) as KubeObject;
    assert.equal(main.metadata.generation, 2);
    assert.equal((main.status as { observedGeneration?: number }).observedGeneration, 1);

    // Printer columns, through kubectl's short name.
    const table = ok(await kubectl(c, ['get', 'fos', '-n', 'default']), 'kubectl get fos');
    assert.match(table.split('\n')[0]!, /^NAME\s+ACCEPTED\s+PROGRAMMED\s+AGE$/);
    assert.match(table, /^web\s+True\s+False\s+\d+s$/m);
    assert.match((await kubectl(c, ['get', 'meshclusters'])).stderr, /No resources found/);
  });

  it('the CRDs refuse the durations and label keys validate refuses: kubectl apply fails, naming the field', { timeout: 120_000 }, async () => {
    const fos = (name: string, spec: Record<string, unknown>) => JSON.stringify({ apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name, namespace: 'default' }, spec: { meshWorkloads: ['a'], ...spec } });
    const apply = async (doc: string) => kubectl(c, ['apply', '--server-side', '--dry-run=server', '-f', '-'], doc);
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ connectTimeout: '0s' }, /spec.connectTimeout: Invalid value: "[^"]*": must be at least 1ms, the least Istio accepts/],
      [{ connectTimeout: '500us' }, /spec.connectTimeout: Invalid value: "[^"]*": must be at least 1ms/],
      [{ connectTimeout: '1500us' }, /spec.connectTimeout: Invalid value: "[^"]*": must be whole milliseconds in each part, as Istio requires/],
      [{ outlierDetection: { interval: '1.0005s' } }, /spec.outlierDetection.interval: Invalid value: "[^"]*": must be whole milliseconds in each part/],
      [{ outlierDetection: { baseEjectionTime: '99999999999h' } }, /spec.outlierDetection.baseEjectionTime/],
      [{ clientSelector: { 'has space': 'x' } }, /spec.clientSelector: Invalid value: ([^:]*: )?label keys must be \[prefix\/\]name/],
      [{ clientSelector: { [`${'a.'.repeat(127)}a/x`]: 'x' } }, /spec.clientSelector: Invalid value: ([^:]*: )?label keys must be/],
      [{ clientSelector: { app: 'not a value' } }, /spec.clientSelector.app: Invalid value: "not a value"/],
    ];
    for (const [i, [spec, why]] of refused.entries()) {
      const r = await apply(fos(`bad${i}`, spec));
      assert.notEqual(r.code, 0, `${JSON.stringify(spec)} was accepted`);
      assert.match(r.stderr, why, JSON.stringify(spec));
    }
    // What validate accepts, the server accepts.
    const good = await apply(fos('good', { connectTimeout: '1.5s', outlierDetection: { interval: '1m30s', baseEjectionTime: '2562047h' }, clientSelector: { 'app.kubernetes.io/name': 'web', [`${'a.'.repeat(126)}a/x`]: 'y' } }));
    assert.equal(good.code, 0, good.stderr);
    const mc = await apply(JSON.stringify({ apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'sel' }, spec: { gateway: { address: '192.0.2.1', port: 32000, selector: { 'Bad/Key': 'x' } } } }));
    assert.notEqual(mc.code, 0);
    assert.match(mc.stderr, /spec.gateway.selector: Invalid value: ([^:]*: )?label keys must be/);
  });

  it('cluster register creates the member identity through an exec-plugin kubeconfig and embeds an expiring token', { timeout: 120_000 }, async () => {
    // The caller's kubeconfig authenticates through an exec plugin (here a node one-liner printing the admin
    // client certificate as an ExecCredential), and comes through $KUBECONFIG with another file before it.
    const admin = yaml.load(c.kubeconfig()) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
    const cred = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { clientCertificateData: Buffer.from(admin.users[0]!.user['client-certificate-data']!, 'base64').toString(), clientKeyData: Buffer.from(admin.users[0]!.user['client-key-data']!, 'base64').toString() } });
    const dir = join(c.kubeconfigPath, '..');
    const execConfig = join(dir, 'exec.kubeconfig');
    writeFileSync(execConfig, yaml.dump({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'east',
      clusters: [{ name: 'east-cluster', cluster: admin.clusters[0]!.cluster }],
      users: [{ name: 'sso', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(cred)})`], interactiveMode: 'Never' } } }],
      contexts: [{ name: 'east', context: { cluster: 'east-cluster', user: 'sso' } }],
    }));
    const other = join(dir, 'other.kubeconfig');
    writeFileSync(other, yaml.dump({ apiVersion: 'v1', kind: 'Config', 'current-context': 'elsewhere', clusters: [{ name: 'x', cluster: { server: 'https://192.0.2.1:6443' } }], users: [{ name: 'x', user: { token: 't' } }], contexts: [{ name: 'elsewhere', context: { cluster: 'x', user: 'x' } }] }));

    const run = async (extra: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const code = await clusterRegister({ name: 'east', context: 'east', gatewayAddress: '192.0.2.10', gatewayPort: '15443', ...extra }, { stdout: (s) => (out += s), stderr: (s) => (err += s) }, { env: { KUBECONFIG: `${other}${delimiter}${execConfig}` }, home: dir });
      return { code, out, err };
    };
    // The EnvoyFilter Role goes into Istio's root namespace, which register never creates.
    const noRoot = await run({ istioRootNamespace: 'mesh-root' });
    assert.equal(noRoot.code, 2);
    assert.equal(noRoot.out, '');
    assert.match(noRoot.err, /^spillway: https:\/\/127\.0\.0\.1:\d+: namespace mesh-root does not exist: the member identity may write EnvoyFilters only in Istio's root namespace; install Istio first, or pass --istio-root-namespace\n$/);
    ok(await kubectl(c, ['create', 'namespace', 'istio-system']), 'istio-system');

    const first = await run({ tokenExpiration: '2h' });
    assert.equal(first.code, 0, first.err);
    assert.match(first.err, /created Namespace\/spillway-system, ServiceAccount\/spillway-system\/spillway-member, ClusterRole\/spillway-member, ClusterRoleBinding\/spillway-member, Role\/istio-system\/spillway-member, RoleBinding\/istio-system\/spillway-member in https:\/\/127\.0\.0\.1:\d+; the token expires at 20\d\d-/);
    const docs = yaml.loadAll(first.out) as KubeObject[];
    assert.deepEqual(docs.map((d) => d.kind), ['Secret', 'MeshCluster']);
    const text = Buffer.from((docs[0] as unknown as { data: { kubeconfig: string } }).data.kubeconfig, 'base64').toString();
    assert.doesNotMatch(text, /exec|client-key|client-certificate/);
    // The controller's data-only policy accepts it.
    const member = memberConfigFromText(text);
    const token = (yaml.load(text) as { users: { user: { token: string } }[] }).users[0]!.user.token;
    assert.equal(decodeJwtExpiry(token), 7200);

    // The token is the member identity: it lists Services, may not read Secrets.
    const client = new HttpKubeClient(member, { timeoutMs: 10_000 });
    try {
      await client.request({ method: 'GET', path: '/api/v1/services' });
      await assert.rejects(client.request({ method: 'GET', path: `/api/v1/namespaces/${NS}/secrets` }), (e: unknown) => isKubeApiError(e) && e.status === 403);
      const who = (await client.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } })) as { status: { userInfo: { username: string } } };
      assert.equal(who.status.userInfo.username, `system:serviceaccount:${NS}:spillway-member`);
    } finally {
      client.close();
    }

    // Running it again rotates the token (and applies nothing new).
    const second = await run();
    assert.equal(second.code, 0, second.err);
    const text2 = Buffer.from(((yaml.loadAll(second.out) as KubeObject[])[0] as unknown as { data: { kubeconfig: string } }).data.kubeconfig, 'base64').toString();
    assert.notEqual(text2, text);
    assert.equal(decodeJwtExpiry((yaml.load(text2) as { users: { user: { token: string } }[] }).users[0]!.user.token), 720 * 3600);

    // --embed-credentials cannot copy an exec plugin: a clear error, nothing on stdout.
    const embed = await cli(['cluster', 'register', 'east', '--embed-credentials', '--kubeconfig', execConfig]);
    assert.equal(embed.code, 2);
    assert.equal(embed.out, '');
    assert.match(embed.err, /exec/);
  });

  it('the installed controller identity may not write Istio objects, read Secrets outside its namespace or take Leases elsewhere', { timeout: 60_000 }, async () => {
    // The management install alone (no `cluster register --management`): the real server's authorizer decides.
    const token = await c.token(NS, 'spillway-controller', 600);
    const client = new HttpKubeClient(memberConfigFromText(c.tokenKubeconfig(token)), { timeoutMs: 10_000 });
    const status = async (r: Parameters<HttpKubeClient['request']>[0]): Promise<number> => {
      try {
        await client.request(r);
        return 200;
      } catch (e) {
        if (isKubeApiError(e)) return e.status;
        throw e;
      }
    };
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'probe' }, spec: {} };
    try {
      assert.deepEqual({
        listOwnSecrets: await status({ method: 'GET', path: `/api/v1/namespaces/${NS}/secrets` }),
        listSecretsDefault: await status({ method: 'GET', path: '/api/v1/namespaces/default/secrets' }),
        leaseDefault: await status({ method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/default/leases', query: { dryRun: 'All' }, body: lease }),
        leaseOwn: await status({ method: 'POST', path: `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, query: { dryRun: 'All' }, body: lease }),
        services: await status({ method: 'GET', path: '/api/v1/services' }),
        serviceEntries: await status({ method: 'POST', path: '/apis/networking.istio.io/v1/namespaces/default/serviceentries', query: { dryRun: 'All' }, body: { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'probe', namespace: 'default' }, spec: { hosts: ['probe.example'] } } }),
        envoyFilters: await status({ method: 'POST', path: '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/envoyfilters', query: { dryRun: 'All' }, body: { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'probe', namespace: 'istio-system' }, spec: {} } }),
      }, { listOwnSecrets: 200, listSecretsDefault: 403, leaseDefault: 403, leaseOwn: 200, services: 403, serviceEntries: 403, envoyFilters: 403 });
    } finally {
      client.close();
    }
  });

  it('cluster register explains a missing context and a refused request in one line each, printing nothing', { timeout: 60_000 }, async () => {
    const io = { out: '', err: '' };
    const code = await clusterRegister({ name: 'east', context: 'nope', kubeconfig: c.kubeconfigPath }, { stdout: (s) => (io.out += s), stderr: (s) => (io.err += s) });
    assert.equal(code, 2);
    assert.equal(io.out, '');
    assert.match(io.err, /^spillway: context "nope" is not in the kubeconfig \(have: install\)\n$/);

    // A caller whose credentials may not create ServiceAccounts: the 403 is reported with a hint.
    const weak = join(c.kubeconfigPath, '..', 'weak.kubeconfig');
    writeFileSync(weak, c.tokenKubeconfig(await c.token(NS, 'spillway-member')));
    const denied = { out: '', err: '' };
    const code2 = await clusterRegister({ name: 'east', kubeconfig: weak }, { stdout: (s) => (denied.out += s), stderr: (s) => (denied.err += s) });
    assert.equal(code2, 2);
    assert.equal(denied.out, '');
    assert.match(denied.err, /forbidden.*\(your credentials for this cluster may not create ServiceAccounts, ClusterRoles or tokens\)/);
    assert.doesNotMatch(denied.err, /eyJ/, 'no token in the message');
  });
});
