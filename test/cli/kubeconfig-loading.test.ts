// kubectl's kubeconfig loading rules, as every command that talks to a cluster applies them (loadKubeConfig).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import yaml from 'js-yaml';
import { kubeconfigFiles, loadKubeConfig } from '../../src/kube/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'spillway-loading-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, doc: Record<string, unknown>): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, yaml.dump(doc));
  return p;
}

const cfg = (clusters: [string, string][], users: string[], contexts: [string, string, string][], current?: string) => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: clusters.map(([name, server]) => ({ name, cluster: { server } })),
  users: users.map((name) => ({ name, user: { token: `token-of-${name}` } })),
  contexts: contexts.map(([name, cluster, user]) => ({ name, context: { cluster, user } })),
  ...(current ? { 'current-context': current } : {}),
});

describe('kubeconfig loading rules (kubectl\'s)', { timeout: 30_000 }, () => {
  const a = file('a.yaml', cfg([['east', 'https://east.example:6443'], ['shared', 'https://from-a.example']], ['alice'], [['east', 'east', 'alice'], ['both', 'shared', 'alice']], 'east'));
  const b = file('b.yaml', cfg([['west', 'https://west.example:6443'], ['shared', 'https://from-b.example']], ['bob', 'alice'], [['west', 'west', 'bob'], ['both', 'west', 'bob']], 'west'));
  const home = join(dir, 'home');
  file('home/.kube/config', cfg([['homecluster', 'https://home.example']], ['me'], [['home', 'homecluster', 'me']], 'home'));

  it('$KUBECONFIG: files merge, the first definition of a name and the first current-context win', () => {
    const kc = loadKubeConfig({ env: { KUBECONFIG: [a, join(dir, 'missing.yaml'), b].join(delimiter) }, home });
    assert.equal(kc.getCurrentContext(), 'east');
    assert.equal(kc.getCurrentCluster()?.server, 'https://east.example:6443');
    assert.deepEqual(kc.getContexts().map((c) => c.name), ['east', 'both', 'west']);
    assert.equal(kc.getCluster('shared')?.server, 'https://from-a.example');
    assert.equal(kc.getUser('alice')?.token, 'token-of-alice');
    // --context picks from the merged set, including contexts only the second file has.
    const west = loadKubeConfig({ env: { KUBECONFIG: `${a}${delimiter}${b}` }, home, context: 'west' });
    assert.equal(west.getCurrentCluster()?.server, 'https://west.example:6443');
    assert.equal(west.getCurrentUser()?.token, 'token-of-bob');
    // "both" is defined by a first: its cluster is a's "shared".
    assert.equal(loadKubeConfig({ env: { KUBECONFIG: `${b}${delimiter}${a}` }, home, context: 'both' }).getCurrentCluster()?.server, 'https://west.example:6443');
  });

  it('without $KUBECONFIG, ~/.kube/config; --kubeconfig reads only that file', () => {
    assert.equal(loadKubeConfig({ env: {}, home }).getCurrentCluster()?.server, 'https://home.example');
    assert.equal(loadKubeConfig({ env: { KUBECONFIG: '' }, home }).getCurrentContext(), 'home');
    const only = loadKubeConfig({ kubeconfig: b, env: { KUBECONFIG: a }, home });
    assert.deepEqual(only.getContexts().map((c) => c.name), ['west', 'both']);
    assert.deepEqual(kubeconfigFiles({ KUBECONFIG: `${a}${delimiter}${a}` }, home), [a]);
  });

  it('says what is missing, in one line, without quoting the file', () => {
    assert.throws(() => loadKubeConfig({ env: {}, home: join(dir, 'nohome') }), /^Error: no kubeconfig: pass --kubeconfig, set \$KUBECONFIG or create ~\/\.kube\/config/);
    assert.throws(() => loadKubeConfig({ env: { KUBECONFIG: a }, home, context: 'nope' }), /context "nope" is not in the kubeconfig \(have: east, both\)/);
    assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'missing.yaml'), env: {}, home }), /--kubeconfig .*missing\.yaml: file does not exist/);
    const noCurrent = file('nocurrent.yaml', cfg([['c', 'https://c.example']], ['u'], [['ctx', 'c', 'u']]));
    assert.throws(() => loadKubeConfig({ env: { KUBECONFIG: noCurrent }, home }), /no current-context: pass --context \(have: ctx\)/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'users:\n- name: x\n  user:\n    token: s3cr3t-value\n   bad: [\n');
    assert.throws(() => loadKubeConfig({ env: { KUBECONFIG: broken }, home }), (e: Error) => /could not be read/.test(e.message) && !e.message.includes('s3cr3t'));
  });
});
