/** Member kubeconfigs are data: every field that runs, reads files, proxies, impersonates or skips TLS is refused. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NO_SECRET_PARAMS, renderKubeconfig } from '../../src/api/messages.ts';
import type { KubeconfigParamKey } from '../../src/api/messages.ts';
import { KUBECONFIG_CODES, KubeconfigPolicyError, certificateExpiry, memberConfigFromText, memberKubeconfigProblems, redactUrl, tokenExpiry } from '../../src/kube/config.ts';

const SECRET = 'S3CRET-planted-value-4711';
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const KEY = Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n').toString('base64');

type Obj = Record<string, unknown>;
function kubeconfig(cluster: Obj = {}, user: Obj = { token: 'abc.def' }, extra: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'east', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': CA, ...cluster } }],
    users: [{ name: 'spillway', user }],
    contexts: [{ name: 'east', context: { cluster: 'east', user: 'spillway' } }],
    'current-context': 'east',
    ...extra,
  };
}

function refused(doc: Obj): KubeconfigPolicyError {
  try {
    memberConfigFromText(yaml.dump(doc));
  } catch (e) {
    assert.ok(e instanceof KubeconfigPolicyError, String(e));
    assert.doesNotMatch(JSON.stringify({ m: e.message, p: e.problems }), new RegExp(SECRET), 'no secret in the error');
    return e;
  }
  assert.fail('accepted');
}

describe('member kubeconfig policy', () => {
  it('accepts a server, an inline CA and a token or a client certificate and key', () => {
    const t = memberConfigFromText(yaml.dump(kubeconfig()));
    assert.deepEqual({ server: t.server, token: t.token, ca: t.caPem?.startsWith('-----BEGIN CERTIFICATE') }, { server: 'https://10.0.0.1:6443', token: 'abc.def', ca: true });
    const c = memberConfigFromText(yaml.dump(kubeconfig({}, { 'client-certificate-data': CA, 'client-key-data': KEY })));
    assert.ok(c.certPem && c.keyPem && c.token === undefined);
    // One context without current-context is not ambiguous.
    const doc = kubeconfig();
    delete doc['current-context'];
    assert.equal(memberConfigFromText(yaml.dump(doc)).context, 'east');
  });

  const cases: [string, Obj, string, RegExp][] = [
    ['exec plugin', kubeconfig({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', `echo ${SECRET}`] } }), KUBECONFIG_CODES.ExecPlugin, /users\["spillway"\]\.user\.exec/],
    ['auth-provider', kubeconfig({}, { 'auth-provider': { name: 'gcp', config: { 'cmd-path': '/bin/sh', 'access-token': SECRET } } }), KUBECONFIG_CODES.AuthProvider, /user\.auth-provider/],
    ['tokenFile', kubeconfig({}, { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' }), KUBECONFIG_CODES.FileReference, /user\.tokenFile/],
    ['client-key file', kubeconfig({}, { 'client-certificate': '/etc/cert', 'client-key': '/etc/key' }), KUBECONFIG_CODES.FileReference, /user\.client-certificate/],
    ['CA file', kubeconfig({ 'certificate-authority': '/etc/ca.crt' }), KUBECONFIG_CODES.FileReference, /cluster\.certificate-authority /],
    ['proxy-url', kubeconfig({ 'proxy-url': `http://u:${SECRET}@proxy:3128` }), KUBECONFIG_CODES.Proxy, /cluster\.proxy-url/],
    ['impersonation', kubeconfig({}, { token: 'x', as: 'system:admin', 'as-groups': ['system:masters'] }), KUBECONFIG_CODES.Impersonation, /user\.as /],
    ['as-uid', kubeconfig({}, { token: 'x', 'as-uid': '1' }), KUBECONFIG_CODES.Impersonation, /user\.as-uid/],
    ['as-user-extra', kubeconfig({}, { token: 'x', 'as-user-extra': { a: ['b'] } }), KUBECONFIG_CODES.Impersonation, /user\.as-user-extra/],
    ['basic auth', kubeconfig({}, { username: 'admin', password: SECRET }), KUBECONFIG_CODES.BasicAuth, /user\.username/],
    ['insecure-skip-tls-verify', kubeconfig({ 'insecure-skip-tls-verify': true }), KUBECONFIG_CODES.InsecureTransport, /insecure-skip-tls-verify/],
    ['http server', kubeconfig({ server: 'http://10.0.0.1:8080' }), KUBECONFIG_CODES.InsecureTransport, /cluster\.server is plain http/],
    ['password in the URL', kubeconfig({ server: `https://admin:${SECRET}@10.0.0.1:6443` }), KUBECONFIG_CODES.InvalidServer, /cluster\.server carries user info/],
    ['token in the query', kubeconfig({ server: `https://10.0.0.1:6443/?access_token=${SECRET}` }), KUBECONFIG_CODES.InvalidServer, /query or fragment/],
    ['unknown user field', kubeconfig({}, { token: 'x', 'some-plugin-file': '/x' }), KUBECONFIG_CODES.FileReference, /some-plugin-file/],
    ['unknown top field', kubeconfig({}, { token: 'x' }, { 'plugin-config': { cmd: SECRET } }), KUBECONFIG_CODES.UnknownField, /^SPW211: plugin-config/],
    ['no credentials', kubeconfig({}, {}), KUBECONFIG_CODES.NoCredentials, /has no token/],
    ['garbage CA', kubeconfig({ 'certificate-authority-data': Buffer.from(SECRET).toString('base64') }), KUBECONFIG_CODES.InvalidData, /certificate-authority-data is not base64 of a PEM/],
    ['token with a newline', kubeconfig({}, { token: `a\r\nX-Injected: ${SECRET}` }), KUBECONFIG_CODES.InvalidData, /user\.token is not a bearer token/],
  ];
  for (const [what, doc, code, field] of cases) {
    it(`refuses ${what} with ${code}, naming the field`, () => {
      const e = refused(doc);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, new RegExp(`^${code}: `));
      assert.match(e.message, field);
    });
  }

  it('checks unused entries too: a plugin in a user no context names is still refused', () => {
    const doc = kubeconfig();
    (doc.users as Obj[]).push({ name: 'other', user: { exec: { command: 'x' } } });
    assert.equal(refused(doc).code, KUBECONFIG_CODES.ExecPlugin);
  });

  it('refuses ambiguity: several contexts and no current-context, duplicate names, a dangling current-context', () => {
    const many = kubeconfig();
    delete many['current-context'];
    (many.contexts as Obj[]).push({ name: 'west', context: { cluster: 'east', user: 'spillway' } });
    assert.match(refused(many).message, /^SPW209: the kubeconfig has 2 contexts and no current-context/);
    const dup = kubeconfig();
    (dup.clusters as Obj[]).push({ name: 'east', cluster: { server: 'https://evil:6443' } });
    assert.match(refused(dup).message, /^SPW209: clusters\["east"\] is defined twice/);
    assert.match(refused(kubeconfig({}, { token: 'x' }, { 'current-context': 'nowhere' })).message, /^SPW209: current-context names a context that is not in contexts/);
  });

  it('lists every problem, and an unparseable text is reported by line only', () => {
    const { problems } = memberKubeconfigProblems(kubeconfig({ 'insecure-skip-tls-verify': true, 'proxy-url': 'http://p' }, { exec: { command: 'x' }, as: 'y' }));
    assert.deepEqual(problems.map((p) => p.code).sort(), ['SPW201', 'SPW204', 'SPW205', 'SPW207', 'SPW210']);
    assert.throws(() => memberConfigFromText(`users:\n  - name: a\n    user: {token: "${SECRET}"\n  bad`), (e: unknown) => e instanceof KubeconfigPolicyError && /^SPW200: the kubeconfig is not valid YAML/.test(e.message) && !e.message.includes(SECRET));
  });

  it('reads a TokenRequest token\'s expiry and redacts URLs', () => {
    const jwt = (claims: Obj) => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
    assert.equal(tokenExpiry(jwt({ exp: 2_000_000_000 }))?.toISOString(), '2033-05-18T03:33:20.000Z');
    assert.equal(tokenExpiry(jwt({ sub: 'x' })), undefined);
    assert.equal(tokenExpiry('opaque-token'), undefined);
    const c = memberConfigFromText(yaml.dump(kubeconfig({}, { token: jwt({ exp: 2_000_000_000 }) })));
    assert.equal(c.expiresAt?.getTime(), 2_000_000_000_000);
    assert.equal(redactUrl(`https://u:${SECRET}@h:6443/k8s/c1?token=${SECRET}#x`), 'https://h:6443/k8s/c1');
  });

  it('no SPW2xx params can hold a value of the kubeconfig: a secret planted in every value position reaches no problem', () => {
    // Every value a kubeconfig can carry (tokens, passwords, plugin commands and their output, keys, URLs with user
    // info, proxy credentials, unknown fields' values) set to the same secret, in one document and in one per field.
    const b64 = Buffer.from(SECRET).toString('base64');
    const cluster: Obj = { server: `https://u:${SECRET}@10.0.0.1:6443/?t=${SECRET}#${SECRET}`, 'certificate-authority-data': b64, 'certificate-authority': SECRET, 'tls-server-name': `${SECRET} x`, 'proxy-url': `http://u:${SECRET}@p`, 'insecure-skip-tls-verify': SECRET, 'some-path': SECRET, extensions: [{ name: 'x', extension: SECRET }] };
    const user: Obj = { token: `${SECRET} with space`, tokenFile: SECRET, username: SECRET, password: SECRET, 'client-certificate-data': b64, 'client-key-data': b64, 'client-certificate': SECRET, 'client-key': SECRET, as: SECRET, 'as-groups': [SECRET], 'as-uid': SECRET, 'as-user-extra': { k: [SECRET] }, exec: { command: SECRET, args: [SECRET], env: [{ name: 'X', value: SECRET }] }, 'auth-provider': { name: SECRET, config: { 'access-token': SECRET, 'cmd-path': SECRET } }, 'unknown-field': SECRET };
    const docs: Obj[] = [kubeconfig(cluster, user, { 'plugin-config': { output: SECRET }, preferences: { x: SECRET } })];
    for (const [k, v] of Object.entries(cluster)) docs.push(kubeconfig({ [k]: v }));
    for (const [k, v] of Object.entries(user)) docs.push(kubeconfig({}, { [k]: v }));
    docs.push({ clusters: SECRET, users: [{ user: { token: SECRET } }], contexts: [{ name: 'c', context: { cluster: SECRET, user: SECRET, namespace: SECRET } }], 'current-context': SECRET });
    const allowed = new Set<string>(['reason', 'field', 'section', 'scheme', 'contexts', 'line', 'maxBytes', 'expected', 'inMemberOnly', 'embedAs', 'cluster', 'expiresAt', 'window'] satisfies KubeconfigParamKey[]);
    let seen = 0;
    for (const doc of docs) {
      const { problems } = memberKubeconfigProblems(doc);
      for (const p of problems) {
        seen++;
        assert.doesNotMatch(JSON.stringify(p), new RegExp(SECRET), `${p.code} ${p.message}`);
        for (const k of Object.keys(p.params)) assert.ok(allowed.has(k), `${p.code}: param ${k} is not one the table allows`);
        // The text is the table's rendering of the params, so it cannot say more than they do.
        assert.equal(p.message, renderKubeconfig(p.code, p.params as never));
      }
    }
    assert.ok(seen > 40, `problems checked: ${seen}`);
    assert.equal(NO_SECRET_PARAMS, true);
    // The secret as a name (names are shown, cut to 63 characters, as field paths): still never a value.
    const named = memberKubeconfigProblems(kubeconfig({}, { exec: { command: SECRET } }));
    assert.doesNotMatch(JSON.stringify(named.problems), new RegExp(SECRET));
  });

  it('reads a client certificate\'s notAfter as the expiry', () => {
    const pem = readFileSync(join(import.meta.dirname, '..', 'double', 'tls', 'server.crt'));
    const c = memberConfigFromText(yaml.dump(kubeconfig({}, { 'client-certificate-data': pem.toString('base64'), 'client-key-data': KEY })));
    assert.equal(c.expiresAt?.toISOString(), '2126-11-03T15:44:52.000Z');
    assert.equal(certificateExpiry('not a certificate'), undefined);
  });
});
