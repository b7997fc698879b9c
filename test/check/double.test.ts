/**
 * `spillway check` end to end through the CLI against API doubles (one management cluster, two members) over
 * HTTP: a correct mesh passes (exit 0), then misconfigurations applied to the live clusters are each found
 * (exit 1), in text and JSON. The double serves no Pods, Deployments or Nodes: the checks that read them must
 * fall back (mesh config, namespace labels, ConfigMap labels) or warn that they could not verify.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeDouble } from '../double/index.ts';
import { runCli } from '../../src/cli/main.ts';
import { customResourceDefinitions } from '../../src/api/crds.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { objectPath } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { CheckResult } from '../../src/check/types.ts';
import { ROOT_B, gatewayService, inputs, istioCrds, liveObjects } from './fixtures.ts';

function typeOf(o: KubeObject): ResourceType {
  const [group, version] = o.apiVersion.includes('/') ? (o.apiVersion.split('/') as [string, string]) : ['', o.apiVersion];
  const plural: Record<string, string> = { Namespace: 'namespaces', ConfigMap: 'configmaps', Service: 'services', Secret: 'secrets', Lease: 'leases', CustomResourceDefinition: 'customresourcedefinitions', DestinationRule: 'destinationrules', Sidecar: 'sidecars', MeshCluster: 'meshclusters', MeshWorkload: 'meshworkloads', FailoverService: 'failoverservices' };
  return { group, version, kind: o.kind, plural: plural[o.kind]!, namespaced: !['Namespace', 'CustomResourceDefinition', 'MeshCluster'].includes(o.kind) };
}

async function apply(c: KubeClient, o: KubeObject): Promise<void> {
  await c.request({ method: 'PATCH', path: objectPath(typeOf(o), o.metadata.name, o.metadata.namespace), query: { fieldManager: 'kubectl', force: true }, contentType: 'application/apply-patch+yaml', body: o });
}

async function del(c: KubeClient, o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<void> {
  await c.request({ method: 'DELETE', path: objectPath(typeOf(o as KubeObject), o.metadata.name, o.metadata.namespace) });
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe('spillway check against API doubles', { timeout: 60_000 }, () => {
  let mgmt: KubeDouble;
  const members: Record<string, KubeDouble> = {};
  const clients: Record<string, HttpKubeClient> = {};
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    mgmt = await KubeDouble.start({ name: 'mgmt' });
    for (const c of ['cluster1', 'cluster2']) members[c] = await KubeDouble.start({ name: c });
    dir = mkdtempSync(join(tmpdir(), 'spillway-check-'));
    const configs = [mgmt, members['cluster1']!, members['cluster2']!].map((d) => yaml.load(d.kubeconfig()) as Record<string, unknown[]>);
    const merged = { apiVersion: 'v1', kind: 'Config', clusters: configs.flatMap((c) => c['clusters']!), users: configs.flatMap((c) => c['users']!), contexts: configs.flatMap((c) => c['contexts']!), 'current-context': 'mgmt' };
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, yaml.dump(merged));
    const m = new HttpKubeClient(kubeConfigFromText(mgmt.kubeconfig()), { timeoutMs: 5_000 });
    clients['mgmt'] = m;
    for (const crd of customResourceDefinitions()) await apply(m, crd);
    await apply(m, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'spillway-system' } });
    await apply(m, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'spillway-controller', namespace: 'spillway-system' }, spec: { holderIdentity: 'spillway-controller-0', leaseDurationSeconds: 15, renewTime: new Date().toISOString().replace('Z', '000Z') } });
    for (const d of inputs()) await apply(m, d.value as KubeObject);
    for (const c of ['cluster1', 'cluster2']) {
      const k = new HttpKubeClient(kubeConfigFromText(members[c]!.kubeconfig()), { timeoutMs: 5_000 });
      clients[c] = k;
      for (const crd of istioCrds()) await apply(k, crd);
      for (const o of liveObjects(c)) await apply(k, o);
    }
  });

  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await Promise.all([mgmt?.close(), ...Object.values(members).map((d) => d.close())]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a correct mesh passes, with inputs read from the management cluster', async () => {
    const r = await cli(['check', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /\[ok\] {3}SPC100 cluster1: reached cluster1 \(context cluster1\), Kubernetes v1\.30\.0/);
    assert.match(r.out, /\[ok\] {3}SPC110: CRDs installed: meshclusters\.spillway\.dev, meshworkloads\.spillway\.dev, failoverservices\.spillway\.dev, meshworkloadgrants\.spillway\.dev \(v1alpha1\)/);
    assert.match(r.out, /\[ok\] {3}SPC111: controller spillway-controller-0 leads/);
    assert.match(r.out, /\[ok\] {3}SPC102 cluster2: Istio 1\.24\.2 \(ConfigMap\/istio-system\/istio\): modern output profile/);
    assert.match(r.out, /\[ok\] {3}SPC130: 2 cluster\(s\) share a root of trust/);
    assert.match(r.out, /\[ok\] {3}SPC141 cluster1: Gateway server port 443 is port 443->8443 \(NodePort 32000\)/);
    // The double serves no Nodes: the NodePort address is unverified, and says so.
    assert.match(r.out, /\[warn\] SPC142 cluster1: nodes could not be read \(.*404/);
    assert.match(r.out, /^OK: \d+ passed, 2 warnings, 0 failed, 0 skipped$/m);
  });

  it('inputs from files, members by --context, JSON output', async () => {
    const file = join(dir, 'inputs.yaml');
    writeFileSync(file, inputs().map((d) => yaml.dump(d.value)).join('---\n'));
    const r = await cli(['check', '-f', file, '--kubeconfig', kubeconfig, '--context', 'cluster1=cluster1', '-o', 'json']);
    assert.equal(r.code, 0, r.out + r.err);
    const j = JSON.parse(r.out) as { summary: Record<string, number>; clusters: Record<string, { via: string }>; results: CheckResult[] };
    assert.equal(j.summary['fail'], 0);
    assert.equal(j.summary['skip'], 1, 'no management cluster given: the install check is skipped');
    assert.deepEqual(Object.keys(j.clusters), ['cluster1', 'cluster2']);
    assert.equal(j.clusters['cluster1']!.via, 'context cluster1');
    assert.ok(j.results.every((x) => typeof x.code === 'string' && /^SPC\d{3}$/.test(x.code) && ['pass', 'warn', 'fail', 'skip'].includes(x.level)));
  });

  it('a client-only cluster (reviews gone from cluster2, its MeshWorkload too): its clients are checked, not the service\'s pods', async () => {
    const file = join(dir, 'client-only.yaml');
    writeFileSync(file, inputs().map((d) => d.value as KubeObject).filter((o) => !(o.kind === 'MeshWorkload' && o.metadata.name === 'reviews-cluster2')).map((o) => yaml.dump(o)).join('---\n'));
    const svc = liveObjects('cluster2').find((o) => o.kind === 'Service' && o.metadata.name === 'reviews')!;
    await del(clients['cluster2']!, svc);
    try {
      const r = await cli(['check', '-f', file, '--kubeconfig', kubeconfig, '-o', 'json']);
      assert.equal(r.code, 0, r.out + r.err);
      const j = JSON.parse(r.out) as { results: CheckResult[] };
      const codes = (cluster: string) => [...new Set(j.results.filter((x) => x.cluster === cluster).map((x) => x.code))].sort();
      assert.deepEqual(codes('cluster2').filter((c) => ['SPC120', 'SPC150', 'SPC151', 'SPC160', 'SPC161', 'SPC162', 'SPC163', 'SPC164'].includes(c)), ['SPC120', 'SPC160', 'SPC161', 'SPC162', 'SPC163']);
      assert.ok(codes('cluster1').includes('SPC150'), 'cluster1 still runs the service: its injection is checked');
      assert.ok(j.results.some((x) => x.code === 'SPC130' && x.level === 'pass' && x.clusters?.join() === 'cluster1,cluster2'), 'cluster2 shares a root with the tier it spills to');
    } finally {
      await apply(clients['cluster2']!, svc);
    }
  });

  it('finds misconfigurations in the live clusters and exits 1', async () => {
    const c1 = clients['cluster1']!;
    const c2 = clients['cluster2']!;
    const dr: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: 'default' }, spec: { host: 'reviews', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } };
    const sc: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'istio-system' }, spec: { egress: [{ hosts: ['./*', 'istio-system/*'] }] } };
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'istio-remote-secret-cluster1', namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' } }, stringData: { cluster1: 'token: hunter2' } };
    const broken: KubeObject[] = [];
    await apply(c1, dr);
    await apply(c1, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'accessLogFile: /dev/stdout\n' } });
    await apply(c1, gatewayService({ ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 31443 }] }));
    await apply(c2, sc);
    await apply(c2, secret);
    for (const ns of ['istio-system', 'default']) await apply(c2, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-ca-root-cert', namespace: ns }, data: { 'root-cert.pem': ROOT_B } });
    await apply(c2, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
    broken.push(dr, sc, secret);
    try {
      const r = await cli(['check', '--kubeconfig', kubeconfig, '-o', 'json']);
      assert.equal(r.code, 1, r.out + r.err);
      const j = JSON.parse(r.out) as { results: CheckResult[] };
      const fails = j.results.filter((x) => x.level === 'fail').map((x) => `${x.code} ${x.cluster ?? '-'}`).sort();
      assert.deepEqual(fails, ['SPC120 cluster1', 'SPC130 -', 'SPC140 cluster1', 'SPC151 cluster2', 'SPC160 cluster1', 'SPC162 cluster2', 'SPC164 cluster2']);
      assert.ok(j.results.filter((x) => x.level === 'fail').every((x) => (x.hint ?? '').length > 0), 'every failure has a hint');
      assert.doesNotMatch(r.out, /hunter2|dG9rZW4/, 'no Secret data in the report');
      const text = await cli(['check', '--kubeconfig', kubeconfig]);
      assert.equal(text.code, 1);
      assert.match(text.out, /\[FAIL\] SPC140 cluster1: MeshCluster cluster1 says other clusters dial port 32000, but Service\/istio-system\/istio-ingressgateway \(NodePort\) exposes 443->8443 \(NodePort 31443\) for Gateway port 443/);
      assert.match(text.out, /^FAILED: \d+ passed, \d+ warnings?, 7 failed, 0 skipped$/m);
    } finally {
      for (const o of broken) await del(o.kind === 'Secret' || o.kind === 'Sidecar' ? c2 : c1, o);
      await apply(c1, liveObjects('cluster1').find((o) => o.metadata.name === 'istio')!);
      for (const o of liveObjects('cluster1').filter((x) => x.kind === 'Service' && x.metadata.name === 'istio-ingressgateway')) await apply(c1, o);
      for (const o of liveObjects('cluster2')) await apply(c2, o);
    }
    const again = await cli(['check', '--kubeconfig', kubeconfig]);
    assert.equal(again.code, 0, again.out);
  });

  it('an unreachable member fails SPC100 and exits 1; usage errors exit 2', async () => {
    const r = await cli(['check', '--kubeconfig', kubeconfig, '--context', 'cluster2=nope']);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /\[FAIL\] SPC100 cluster2: cannot reach cluster cluster2 \(context nope\): context "nope" is not in the kubeconfig/);
    const bad = await cli(['check', '--kubeconfig', kubeconfig, '--context', 'cluster2']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--context cluster2: expected CLUSTER=CONTEXT/);
    const down = await KubeDouble.start({ name: 'gone' });
    const file = join(dir, 'gone.kubeconfig');
    const cfg = yaml.load(down.kubeconfig()) as Record<string, unknown>;
    await down.close();
    writeFileSync(file, yaml.dump(cfg));
    const inputsFile = join(dir, 'inputs-gone.yaml');
    writeFileSync(inputsFile, inputs().map((d) => yaml.dump(d.value)).join('---\n'));
    const gone = await cli(['check', '-f', inputsFile, '--kubeconfig', file, '--context', 'cluster1=gone', '--context', 'cluster2=gone']);
    assert.equal(gone.code, 1);
    assert.match(gone.out, /\[FAIL\] SPC100 cluster1: cannot reach cluster cluster1 \(context gone\): GET \/version: (connect )?ECONNREFUSED/);
  });
});
