// kubectl (an independent client) reads the printed manifests. `kubectl apply --dry-run=client` still needs an
// API server for discovery (kind -> resource mapping) and a GET per object, so a loopback stub answers those with
// the built-in resources and the CRDs `spillway install` defines, returns 404 for every object, and records any
// write (there must be none).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCommand } from '../../src/cli/install.ts';
import { clusterRegisterCommand } from '../../src/cli/cluster.ts';
import { KINDS } from '../../src/api/schemas.ts';
import { GROUP, VERSION } from '../../src/api/types.ts';

const KUBECTL = '/usr/bin/kubectl';
const skip = existsSync(KUBECTL) ? false : `${KUBECTL} is not installed`;

interface Res { name: string; kind: string; namespaced: boolean }
const r = (name: string, kind: string, namespaced: boolean): Res => ({ name, kind, namespaced });
const DISCOVERY: Record<string, Res[]> = {
  v1: [r('namespaces', 'Namespace', false), r('serviceaccounts', 'ServiceAccount', true), r('services', 'Service', true), r('secrets', 'Secret', true)],
  'apiextensions.k8s.io/v1': [r('customresourcedefinitions', 'CustomResourceDefinition', false)],
  'rbac.authorization.k8s.io/v1': [
    r('clusterroles', 'ClusterRole', false), r('clusterrolebindings', 'ClusterRoleBinding', false),
    r('roles', 'Role', true), r('rolebindings', 'RoleBinding', true),
  ],
  'apps/v1': [r('deployments', 'Deployment', true)],
  'policy/v1': [r('poddisruptionbudgets', 'PodDisruptionBudget', true)],
  [`${GROUP}/${VERSION}`]: KINDS.map((k) => r(k.plural, k.kind, k.namespaced)),
};

let server: Server;
let dir = '';
let kubeconfig = '';
const writes: string[] = [];
const gets: string[] = [];

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spillway-kubectl-'));
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET') {
      writes.push(`${req.method} ${path}`);
      return json(res, 405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 405 });
    }
    if (path === '/api') return json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/apis') {
      const groups = Object.keys(DISCOVERY).filter((gv) => gv.includes('/')).map((gv) => {
        const [name, version] = gv.split('/') as [string, string];
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
      return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const gv = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
    if (gv !== undefined && DISCOVERY[gv]) {
      const resources = DISCOVERY[gv].map((x) => ({
        name: x.name, singularName: x.kind.toLowerCase(), namespaced: x.namespaced, kind: x.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      }));
      return json(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources });
    }
    gets.push(path);
    return json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: stub',
    'clusters: [{name: stub, cluster: {server: "http://127.0.0.1:' + String(addr.port) + '"}}]',
    'users: [{name: stub, user: {}}]',
    'contexts: [{name: stub, context: {cluster: stub, user: stub}}]', '',
  ].join('\n'));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(args: string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, [...args, '--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache')],
      { timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}

function capture(fn: (io: { stdout: (s: string) => void; stderr: (s: string) => void }) => number): string {
  let out = '';
  assert.equal(fn({ stdout: (s) => { out += s; }, stderr: () => {} }), 0);
  return out;
}

const APPLY = ['apply', '--dry-run=client', '--validate=false', '-o', 'name', '-f', '-'];

test('kubectl apply --dry-run=client accepts the install manifests, sends no write', { skip }, async () => {
  writes.length = 0;
  gets.length = 0;
  const out = capture((io) => installCommand({ namespace: 'spillway-system' }, io));
  const r = await kubectl(APPLY, out);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'namespace/spillway-system',
    `customresourcedefinition.apiextensions.k8s.io/meshclusters.${GROUP}`,
    `customresourcedefinition.apiextensions.k8s.io/meshworkloads.${GROUP}`,
    `customresourcedefinition.apiextensions.k8s.io/failoverservices.${GROUP}`,
    `customresourcedefinition.apiextensions.k8s.io/meshworkloadgrants.${GROUP}`,
    'serviceaccount/spillway-controller',
    'clusterrole.rbac.authorization.k8s.io/spillway-controller',
    'clusterrolebinding.rbac.authorization.k8s.io/spillway-controller',
    'role.rbac.authorization.k8s.io/spillway-controller',
    'rolebinding.rbac.authorization.k8s.io/spillway-controller',
    'service/spillway-controller-metrics',
    'poddisruptionbudget.policy/spillway-controller',
    'deployment.apps/spillway-controller',
  ]);
  assert.deepEqual(writes, []);
  // kubectl looked every namespaced object up in the namespace the manifest names.
  assert.ok(gets.includes('/apis/apps/v1/namespaces/spillway-system/deployments/spillway-controller'), gets.join('\n'));
});

// Names such as `y`, `on` and `no` are booleans to kubectl's YAML 1.1 reader unless quoted.
test('kubectl accepts the member RBAC and a registered cluster\'s Secret and MeshCluster, even with YAML-1.1-boolean names', { skip }, async () => {
  gets.length = 0;
  writes.length = 0;
  const member = await kubectl(APPLY, capture((io) => installCommand({ memberRbac: true, namespace: 'y' }, io)));
  assert.equal(member.code, 0, member.stderr);
  assert.deepEqual(member.stdout.trim().split('\n'), [
    'namespace/y', 'serviceaccount/spillway-member', 'clusterrole.rbac.authorization.k8s.io/spillway-member',
    'clusterrolebinding.rbac.authorization.k8s.io/spillway-member', 'role.rbac.authorization.k8s.io/spillway-member',
    'rolebinding.rbac.authorization.k8s.io/spillway-member',
  ]);
  assert.ok(gets.includes('/apis/rbac.authorization.k8s.io/v1/namespaces/istio-system/roles/spillway-member'), gets.join('\n'));
  const kc = join(dir, 'member-kubeconfig');
  writeFileSync(kc, 'apiVersion: v1\nkind: Config\ncurrent-context: m\nclusters: [{name: m, cluster: {server: "https://m:6443"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: m, context: {cluster: m, user: u}}]\n');
  const reg = await kubectl(APPLY, capture((io) => clusterRegisterCommand({ name: 'on', namespace: 'no', kubeconfig: kc, gatewayAddress: '172.18.0.3', gatewayPort: '32000' }, io)));
  assert.equal(reg.code, 0, reg.stderr);
  assert.deepEqual(reg.stdout.trim().split('\n'), ['secret/on-kubeconfig', `meshcluster.${GROUP}/on`]);
  assert.ok(gets.includes('/api/v1/namespaces/no/secrets/on-kubeconfig'), gets.join('\n'));
  assert.deepEqual(writes, []);
});

test('the stub is strict enough to fail: kubectl rejects a kind the server does not serve', { skip }, async () => {
  const r = await kubectl(APPLY, 'apiVersion: apps/v1beta9\nkind: Deployment\nmetadata: {name: x, namespace: ns1}\n');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no matches for kind "Deployment" in version "apps\/v1beta9"/);
});
