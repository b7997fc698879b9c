/**
 * A real `spillway controller` process (`tsx src/cli/main.ts controller`) fed hostile member kubeconfig Secrets: plugins that would
 * run, files it would read, a password in a URL, a proxy, impersonation, basic auth, skipped TLS verification. Every
 * one is refused with a coded status naming the field; no plugin runs (each would write a marker file), no request
 * reaches the servers they name, and no planted secret appears in any output: stdout, stderr, every status, Events,
 * /metrics. A valid Secret next to them still converges, and rotating its token reconnects.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeDouble } from '../double/index.ts';
import { customResourceDefinitions } from '../../src/api/crds.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { MESH_CLUSTERS } from '../../src/kube/resources.ts';
import { NS, applyAs, clientFor, create, failoverService, get, list, meshCluster, prepareMember, service, until } from './harness.ts';

// The CLI's entry point from the sources (what bin/spillway.mjs runs once compiled; never a stale dist/).
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const TLS_KEY = new URL('../double/tls/server.key', import.meta.url);
const TLS_CRT = new URL('../double/tls/server.crt', import.meta.url);
type Obj = Record<string, unknown>;

/** A distinct, greppable secret per planted credential. */
const planted = (what: string): string => `PLANTED-${what}-${Math.random().toString(36).slice(2, 10)}`;

function jwt(claims: Obj, tag: string): string {
  return `${Buffer.from('{"alg":"RS256","kid":"x"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${tag}`;
}

describe('spillway controller with hostile member Secrets (real process)', { timeout: 300_000 }, () => {
  it('refuses every non-data kubeconfig with a coded status; nothing runs, nothing secret leaks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-hostile-'));
    const mgmt = await KubeDouble.start({ name: 'management' });
    const good = await KubeDouble.start({ name: 'cluster1', tls: true });
    const good2 = await KubeDouble.start({ name: 'cluster2', tls: true });
    // Every hostile Secret names this server: it records whatever reaches it (nothing should).
    const trapped: string[] = [];
    const trap = https.createServer({ key: readFileSync(TLS_KEY), cert: readFileSync(TLS_CRT) }, (req, res) => {
      trapped.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.writeHead(401).end();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const trapUrl = `https://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    const mc = clientFor(mgmt);
    let child: ReturnType<typeof spawn> | undefined;
    try {
      for (const crd of customResourceDefinitions()) await create(mc, crd);
      await create(mc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      await prepareMember(good);
      await prepareMember(good2);

      const secrets: string[] = [];
      const plant = (what: string): string => {
        const s = planted(what);
        secrets.push(s);
        return s;
      };
      const markers: string[] = [];
      const marker = (what: string): string => {
        const m = join(dir, `ran-${what}`);
        markers.push(m);
        return m;
      };
      const base = yaml.load(good.kubeconfig()) as Obj;
      const ca = ((base.clusters as Obj[])[0]!.cluster as Obj)['certificate-authority-data'];
      const kc = (cluster: Obj, user: Obj, extra: Obj = {}): Obj => ({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: trapUrl, 'certificate-authority-data': ca, ...cluster } }],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
        ...extra,
      });
      const tokenFile = join(dir, 'pod-token');
      writeFileSync(tokenFile, plant('tokenfile'));
      const keyFile = join(dir, 'pod-key');
      writeFileSync(keyFile, plant('keyfile'));
      const execScript = (what: string): Obj => {
        const secret = plant(`exec-${what}`);
        // Writes the marker, prints a token and a failure with the secret on stderr (what leaked into status before).
        return { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', `touch ${marker(what)}; echo "token ${secret}" >&2; echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${secret}"}}'; exit 1`], interactiveMode: 'Never' };
      };
      const hostile: [string, Obj, RegExp][] = [
        ['exec', kc({}, { exec: execScript('exec') }), /^SPW201: users\["u"\]\.user\.exec /],
        ['exec-unused', { ...kc({}, { token: plant('tok-unused') }), users: [{ name: 'u', user: { token: plant('tok-unused2') } }, { name: 'other', user: { exec: execScript('unused') } }] }, /^SPW201: users\["other"\]\.user\.exec /],
        ['auth-provider', kc({}, { 'auth-provider': { name: 'gcp', config: { 'cmd-path': '/bin/sh', 'cmd-args': `-c "touch ${marker('authprovider')}"`, 'access-token': plant('ap-token'), expiry: '2000-01-01T00:00:00Z' } } }), /^SPW202: users\["u"\]\.user\.auth-provider /],
        ['token-file', kc({}, { tokenFile }), /^SPW203: users\["u"\]\.user\.tokenFile /],
        ['key-file', kc({}, { 'client-certificate': tokenFile, 'client-key': keyFile }), /^SPW203: users\["u"\]\.user\.client-certificate /],
        ['ca-file', kc({ 'certificate-authority': keyFile, 'certificate-authority-data': undefined }, { token: plant('tok-cafile') }), /^SPW203: clusters\["c"\]\.cluster\.certificate-authority /],
        ['proxy', kc({ 'proxy-url': `http://proxyuser:${plant('proxy-pw')}@127.0.0.1:1` }, { token: plant('tok-proxy') }), /^SPW204: clusters\["c"\]\.cluster\.proxy-url /],
        ['impersonation', kc({}, { token: plant('tok-as'), as: 'system:admin', 'as-groups': ['system:masters'] }), /^SPW205: users\["u"\]\.user\.as /],
        ['basic-auth', kc({}, { username: 'admin', password: plant('basic-pw') }), /^SPW206: users\["u"\]\.user\.password|^SPW206: users\["u"\]\.user\.username/],
        ['insecure', kc({ 'insecure-skip-tls-verify': true, 'certificate-authority-data': undefined }, { token: plant('tok-insecure') }), /^SPW207: clusters\["c"\]\.cluster\.insecure-skip-tls-verify /],
        ['url-password', kc({ server: `https://admin:${plant('url-pw')}@127.0.0.1:${new URL(trapUrl).port}` }, { token: plant('tok-url') }), /^SPW208: clusters\["c"\]\.cluster\.server carries user info/],
        ['url-query', kc({ server: `${trapUrl}/?access_token=${plant('url-query')}` }, { token: plant('tok-q') }), /^SPW208: clusters\["c"\]\.cluster\.server has a query/],
        ['ambiguous', { ...kc({}, { token: plant('tok-amb') }), 'current-context': undefined, contexts: [{ name: 'a', context: { cluster: 'c', user: 'u' } }, { name: 'b', context: { cluster: 'c', user: 'u' } }] }, /^SPW209: the kubeconfig has 2 contexts/],
        ['not-yaml', { raw: `users: [ {token: ${plant('broken')} ` }, /^SPW200: the kubeconfig is not valid YAML/],
      ];
      let i = 10;
      for (const [name, doc, _] of hostile) {
        const text = 'raw' in doc ? String(doc.raw) : yaml.dump(JSON.parse(JSON.stringify(doc)) as Obj);
        await create(mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-kubeconfig`, namespace: NS }, type: 'Opaque', data: { kubeconfig: Buffer.from(text).toString('base64') } });
        await create(mc, meshCluster(name, i++, `${name}-kubeconfig`));
      }
      // Two valid members, with planted tokens: they must work, and their tokens must not leak either.
      const goodToken = plant('good-token');
      const withToken = (d: KubeDouble, token: string): string => {
        const doc = yaml.load(d.kubeconfig()) as Obj;
        ((doc.users as Obj[])[0]!.user as Obj).token = token;
        return yaml.dump(doc);
      };
      const expiry = Math.floor(Date.now() / 1000) + 3600;
      const goodJwt = jwt({ exp: expiry, sub: 'system:serviceaccount:spillway-system:spillway-member' }, plant('jwt-sig'));
      for (const [name, d, token] of [['cluster1', good, goodToken], ['cluster2', good2, goodJwt]] as const) {
        await create(mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-kubeconfig`, namespace: NS }, type: 'Opaque', data: { kubeconfig: Buffer.from(withToken(d, token)).toString('base64') } });
        await create(mc, meshCluster(name, i++, `${name}-kubeconfig`));
      }
      for (const d of [good, good2]) await create(clientFor(d), service('reviews'));
      await create(mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2']));

      const kubeconfig = join(dir, 'management.kubeconfig');
      writeFileSync(kubeconfig, mgmt.kubeconfig());
      child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'controller', '--kubeconfig', kubeconfig, '--namespace', NS, '--metrics-addr', '127.0.0.1:0', '--log-level', 'debug', '--no-leader-elect', '--resync-seconds', '2'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      let port = 0;
      await until(async () => {
        const m = /"msg":"serving \/metrics[^}]*"port":(\d+)/.exec(stderr);
        if (m) port = Number(m[1]);
        return port ? [] : [`no metrics port yet: ${stderr.slice(-500)}`];
      }, 'controller listening', 20_000);

      // Every hostile cluster: a coded status naming the field, not reachable.
      const status = async (name: string) => (await get(mc, MESH_CLUSTERS, undefined, name))?.status as { reachable?: boolean; lastError?: string; credentialsExpireAt?: string } | undefined;
      await until(async () => {
        const bad: string[] = [];
        for (const [name, , code] of hostile) {
          const st = await status(name);
          if (st?.reachable !== false || !code.test(st.lastError ?? '')) bad.push(`${name}: ${JSON.stringify(st)}`);
        }
        return bad;
      }, 'every hostile MeshCluster reports its coded refusal', 30_000);
      // The valid ones converge: the service is programmed in both, and the JWT's expiry is in status.
      await until(async () => {
        const fs = (await list(mc, { group: 'spillway.dev', version: 'v1alpha1', kind: 'FailoverService', plural: 'failoverservices', namespaced: true }))[0];
        const programmed = ((fs?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Programmed');
        const ef = good.peek('networking.istio.io', 'envoyfilters', 'istio-system', 'reviews-global.default.global');
        return programmed?.status === 'True' && ef ? [] : [`not programmed: ${JSON.stringify(fs?.status)}`];
      }, 'valid members converge', 30_000);
      const wantExpiry = new Date(expiry * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      await until(async () => ((await status('cluster2'))?.credentialsExpireAt === wantExpiry ? [] : [JSON.stringify(await status('cluster2'))]), 'token expiry in status', 15_000);

      // Rotating cluster1's token (what `cluster register` does) reconnects with the new one.
      const rotated = plant('rotated-token');
      await applyAs(mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cluster1-kubeconfig', namespace: NS }, data: { kubeconfig: Buffer.from(withToken(good, rotated)).toString('base64') } });
      await until(async () => (/"msg":"cluster connection restarted"[^}]*"cluster":"cluster1"/.test(stderr) ? [] : ['no restart logged']), 'rotation reconnects');
      // An expired token is reported as such.
      const expired = jwt({ exp: Math.floor(Date.now() / 1000) - 60 }, plant('expired-sig'));
      await applyAs(mc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cluster2-kubeconfig', namespace: NS }, data: { kubeconfig: Buffer.from(withToken(good2, expired)).toString('base64') } });
      await until(async () => (/^SPW213: the member token expired at /.test((await status('cluster2'))?.lastError ?? '') ? [] : [JSON.stringify(await status('cluster2'))]), 'expired token reported', 15_000);

      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^spillway_cluster_reachable\{cluster="exec"\} 0$/m, 'metrics cover the hostile clusters (not vacuous)');
      child.kill('SIGTERM');
      await new Promise<void>((r) => child!.once('exit', () => r()));
      child = undefined;

      // Every output, gathered.
      const statuses = [
        ...(await list(mc, MESH_CLUSTERS)),
        ...(await list(mc, { group: 'spillway.dev', version: 'v1alpha1', kind: 'FailoverService', plural: 'failoverservices', namespaced: true })),
        ...(await list(mc, { group: 'spillway.dev', version: 'v1alpha1', kind: 'MeshWorkload', plural: 'meshworkloads', namespaced: true })),
      ].map((o: KubeObject) => JSON.stringify({ name: o.metadata.name, status: o.status, annotations: o.metadata.annotations }));
      const events = (await list(mc, { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true })).map((e) => JSON.stringify(e));
      const outputs: [string, string][] = [['stdout', stdout], ['stderr', stderr], ['statuses', statuses.join('\n')], ['events', events.join('\n')], ['metrics', metrics]];
      assert.match(stderr, /"msg":"stopped"/);
      assert.ok(secrets.length >= 20);
      for (const [where, text] of outputs) {
        for (const s of secrets) assert.ok(!text.includes(s), `${where} contains planted secret ${s}`);
        for (const s of ['Bearer ', 'proxyuser', 'ExecCredential']) assert.ok(!text.includes(s), `${where} contains ${s}`);
      }
      for (const m of markers) assert.equal(existsSync(m), false, `a plugin ran: ${m} exists`);
      assert.deepEqual(trapped, [], 'no request reached a server a hostile Secret names');
    } finally {
      if (child) {
        child.kill('SIGKILL');
        await new Promise<void>((r) => child!.once('exit', () => r()));
      }
      mc.close();
      await new Promise<void>((r) => trap.close(() => r()));
      await Promise.all([mgmt.close(), good.close(), good2.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
