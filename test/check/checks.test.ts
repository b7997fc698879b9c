/**
 * Every check against a mesh that passes, then each misconfiguration on its own: the check that owns it fails
 * (or warns) with its code and a hint, and the rest of the report is unchanged. The gatherer runs for real, over
 * an in-memory client that serves Pods, Deployments and Nodes too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import type { SourcedDocument } from '../../src/analyze/snapshot.ts';
import { buildCheckSnapshot } from '../../src/check/snapshot.ts';
import { exitCode, formatReport, runChecks } from '../../src/check/run.ts';
import { parseRoots } from '../../src/check/gather.ts';
import { CHECKS } from '../../src/check/checks/index.ts';
import type { CheckReport, CheckResult } from '../../src/check/types.ts';
import { CHECK_CODES, renderFinding } from '../../src/api/messages.ts';
import { MESH_DNS, MemoryClient, ROOT_A, ROOT_B, gatewayService, inputs, liveObjects, workloadObjects } from './fixtures.ts';

type Mutate = (cluster: string, objects: KubeObject[]) => KubeObject[];

interface Setup {
  docs?: SourcedDocument[];
  mutate?: Mutate;
  client?: (cluster: string, objects: KubeObject[]) => MemoryClient;
  management?: KubeObject[] | false;
}

const now = new Date('2026-12-01T10:00:00Z');

function lease(renewed: Date): KubeObject {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'spillway-controller', namespace: 'spillway-system' }, spec: { holderIdentity: 'spillway-controller-7d9f-abcde', leaseDurationSeconds: 15, renewTime: renewed.toISOString() } };
}

function spillwayCrds(): KubeObject[] {
  return ['meshclusters', 'meshworkloads', 'failoverservices', 'meshworkloadgrants'].map((p) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${p}.spillway.dev` }, spec: { versions: [{ name: 'v1alpha1', served: true }] } }));
}

async function check(setup: Setup = {}): Promise<CheckReport> {
  const mgmt = setup.management === false ? undefined : new MemoryClient(setup.management ?? [...spillwayCrds(), lease(new Date(now.getTime() - 3000))]);
  const { snapshot } = await buildCheckSnapshot({
    docs: setup.docs ?? inputs(),
    now: () => now,
    connect: async (name) => {
      const objects = (setup.mutate ?? ((_c, o) => o))(name, [...liveObjects(name), ...workloadObjects(name)]);
      return { name, via: `context ${name}`, client: setup.client ? setup.client(name, objects) : new MemoryClient(objects) };
    },
    ...(mgmt ? { management: { client: mgmt, via: 'context mgmt', namespace: 'spillway-system' } } : {}),
  });
  const report = runChecks(snapshot);
  rendersFromParams(report);
  return report;
}

/**
 * Every result of every run carries params, and its text and hint are the table's rendering of them, also after
 * a JSON round trip (the form `-o json` and the controller's conditions carry them in).
 */
function rendersFromParams(r: CheckReport): void {
  for (const x of r.results) {
    assert.ok(x.params !== null && typeof x.params === 'object', `${x.code} ${x.message}: params`);
    const f = renderFinding(x.code, JSON.parse(JSON.stringify(x.params)) as never);
    assert.deepEqual([x.message, x.hint], [f.message, f.hint], `${x.code} renders from its params`);
  }
}

const failing = (r: CheckReport): string[] => r.results.filter((x) => x.level === 'fail').map((x) => `${x.code} ${x.cluster ?? ''}`.trim());
const warning = (r: CheckReport): string[] => r.results.filter((x) => x.level === 'warn').map((x) => `${x.code} ${x.cluster ?? ''}`.trim());
const find = (r: CheckReport, code: string, cluster?: string): CheckResult[] => r.results.filter((x) => x.code === code && (cluster === undefined || x.cluster === cluster));

/** Replace an object (by kind/namespace/name) in cluster `only` (or every cluster). */
function replace(only: string | undefined, o: KubeObject): Mutate {
  return (c, objects) => (only !== undefined && c !== only ? objects : [...objects.filter((x) => !(x.kind === o.kind && x.metadata.name === o.metadata.name && x.metadata.namespace === o.metadata.namespace)), o]);
}
const add = (only: string | undefined, o: KubeObject): Mutate => (c, objects) => (only !== undefined && c !== only ? objects : [...objects, o]);

function expectOnly(r: CheckReport, code: string, cluster: string | undefined, level: 'fail' | 'warn' = 'fail'): CheckResult {
  const hits = find(r, code, cluster).filter((x) => x.level === level);
  assert.equal(hits.length, 1, `expected one ${level} ${code}${cluster ? ` in ${cluster}` : ''}, got:\n${formatReport(r)}`);
  const others = level === 'fail' ? failing(r).filter((x) => x !== `${code} ${cluster ?? ''}`.trim()) : failing(r);
  assert.deepEqual(others, [], `nothing else fails:\n${formatReport(r)}`);
  assert.ok(hits[0]!.hint && hits[0]!.hint.length > 10, 'a hint says what to change');
  return hits[0]!;
}

describe('spillway check: a correctly set-up mesh', { timeout: 30_000 }, () => {
  it('passes every check, with one result per cluster and check', async () => {
    const r = await check();
    assert.deepEqual(failing(r), [], formatReport(r));
    // 443 on the gateway Service and the NodePort 32000 on a node address: nothing to warn about either.
    assert.deepEqual(warning(r), [], formatReport(r));
    assert.equal(exitCode(r), 0);
    for (const c of CHECKS) assert.ok(r.results.some((x) => x.check === c.name), `check ${c.name} reported something`);
    for (const code of ['SPC100', 'SPC101', 'SPC102', 'SPC120', 'SPC140', 'SPC141', 'SPC142', 'SPC150', 'SPC160', 'SPC161', 'SPC162', 'SPC163', 'SPC164']) {
      assert.deepEqual(find(r, code).map((x) => x.cluster).sort(), ['cluster1', 'cluster2'], `${code} per cluster`);
    }
    assert.match(find(r, 'SPC102', 'cluster1')[0]!.message, /Istio 1\.24\.2 \(Deployment\/istio-system\/istiod\): modern output profile/);
    assert.match(find(r, 'SPC130')[0]!.message, /2 cluster\(s\) share a root of trust: O=spillway-test,CN=Root CA a/);
    assert.match(find(r, 'SPC111')[0]!.message, /leads \(Lease renewed 3s ago\)/);
    // Every finding renders from its params (check() asserts it for every run) and every code resolves in the table.
    assert.deepEqual(find(r, 'SPC102', 'cluster1')[0]!.params, { result: 'matches', cluster: 'cluster1', version: '1.24.2', source: 'Deployment/istio-system/istiod', profile: 'modern', declared: '1.24' });
    assert.deepEqual(find(r, 'SPC100', 'cluster1')[0]!.params, { result: 'reached', cluster: 'cluster1', via: find(r, 'SPC100', 'cluster1')[0]!.message.match(/\((.*)\)/)![1], kubernetesVersion: 'v1.30.0' });
    for (const x of r.results) assert.ok(Object.hasOwn(CHECK_CODES, x.code), `${x.code} is in the table`);
  });

  it('formats a report with a summary line and hints under findings', async () => {
    const r = await check({ mutate: replace('cluster2', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient' } } }) });
    const text = formatReport(r);
    assert.match(text, /^injection: sidecar injection/m);
    assert.match(text, /\[FAIL\] SPC151 cluster2: namespace default is in ambient mode/);
    assert.match(text, /^ {9}hint: run reviews and its callers with sidecars/m);
    assert.match(text, /FAILED: \d+ passed, 0 warnings, 1 failed, 0 skipped\n$/);
    assert.equal(exitCode(r), 1);
  });
});

describe('spillway check: each misconfiguration is found', { timeout: 60_000 }, () => {
  it('SPC100: an unreachable cluster fails and its other checks are skipped, not passed', async () => {
    const r = await check({ client: (c, o) => new MemoryClient(o, { down: c === 'cluster2' }) });
    expectOnly(r, 'SPC100', 'cluster2');
    assert.equal(r.results.filter((x) => x.cluster === 'cluster2' && x.level === 'pass').length, 0);
  });

  it('SPC101: a cluster without Istio\'s API', async () => {
    const r = await check({ client: (c, o) => new MemoryClient(o, { istio: c !== 'cluster1' }) });
    const hit = find(r, 'SPC101', 'cluster1')[0]!;
    assert.equal(hit.level, 'fail');
    assert.match(hit.message, /not served/);
  });

  it('SPC102: the MeshCluster selects the legacy profile but Istio 1.24 runs', async () => {
    const r = await check({ docs: inputs({ istioVersion: { cluster2: '1.7' } }) });
    const hit = find(r, 'SPC102', 'cluster2').find((x) => x.level === 'fail')!;
    assert.match(hit.message, /Istio 1\.24\.2 runs .*modern output profile, but MeshCluster cluster2 has spec\.istio\.version 1\.7, which renders the legacy profile/);
    assert.match(hit.hint!, /spec\.istio\.version: "1\.24"/);
  });

  it('SPC102: a different minor with the same profile is a warning', async () => {
    const r = await check({ docs: inputs({ istioVersion: { cluster1: '1.23' } }) });
    expectOnly(r, 'SPC102', 'cluster1', 'warn');
  });

  it('SPC102: istiod with no ready replica', async () => {
    const r = await check({ mutate: (c, o) => o.map((x) => (c === 'cluster1' && x.kind === 'Deployment' ? { ...x, status: { replicas: 1, readyReplicas: 0 } } : x)) });
    expectOnly(r, 'SPC102', 'cluster1');
  });

  it('SPC110/SPC111: no CRDs and no controller in the management cluster', async () => {
    const r = await check({ management: [] });
    assert.deepEqual(failing(r), ['SPC110', 'SPC111'], formatReport(r));
  });

  it('SPC111: a Lease nobody renews', async () => {
    const r = await check({ management: [...spillwayCrds(), lease(new Date(now.getTime() - 600_000))] });
    const hit = expectOnly(r, 'SPC111', undefined);
    assert.match(hit.message, /last renewed it 600s ago/);
  });

  it('SPC110: without a management cluster the install check is skipped', async () => {
    const r = await check({ management: false });
    assert.equal(find(r, 'SPC110')[0]!.level, 'skip');
    assert.equal(exitCode(r), 0);
  });

  it('SPC120: DNS capture off mesh-wide', async () => {
    const r = await check({ mutate: (c, o) => o.map((x) => (c === 'cluster2' && x.kind === 'ConfigMap' && x.metadata.name === 'istio' ? { ...x, data: { mesh: 'accessLogFile: /dev/stdout\n' } } : x)) });
    const hit = expectOnly(r, 'SPC120', 'cluster2');
    assert.match(hit.message, /2 of 2 client pod\(s\) have Istio's DNS proxy off, so reviews-global\.default\.global does not resolve there/);
  });

  it('SPC120: DNS capture off mesh-wide but on in every client pod passes; a pod that turns it off fails', async () => {
    const offMesh: Mutate = (_c, o) => o.map((x) => (x.kind === 'ConfigMap' && x.metadata.name === 'istio' ? { ...x, data: { mesh: '{}' } } : x));
    const annotate = (value: string): Mutate => (c, o) => offMesh(c, o).map((x) => (x.kind === 'Pod' ? { ...x, metadata: { ...x.metadata, annotations: { 'proxy.istio.io/config': `proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "${value}"\n` } } } : x));
    const on = await check({ mutate: annotate('true') });
    assert.deepEqual(failing(on), [], formatReport(on));
    assert.match(find(on, 'SPC120', 'cluster1')[0]!.message, /on in all 2 client pod\(s\)/);
    const off = await check({ mutate: (c, o) => (c === 'cluster1' ? annotate('false')(c, o) : o) });
    expectOnly(off, 'SPC120', 'cluster1');
  });

  it('SPC121: Istio 1.7 without istiocoredns; with it and the stub domain it passes', async () => {
    const legacy: Mutate = (c, o) => (c !== 'cluster1' ? o : o.map((x) => (x.kind === 'Deployment' ? { ...x, spec: { template: { spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.7.8' }] } } } } : x)));
    const docs = inputs({ istioVersion: { cluster1: '1.7' } });
    const r = await check({ docs, mutate: legacy });
    expectOnly(r, 'SPC121', 'cluster1');
    const withDns: Mutate = (c, o) => [
      ...legacy(c, o),
      ...(c === 'cluster1'
        ? [
            { apiVersion: 'v1', kind: 'Service', metadata: { name: 'istiocoredns', namespace: 'istio-system' }, spec: { selector: { app: 'istiocoredns' }, ports: [{ port: 53, protocol: 'UDP' }] } },
            { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: '.:53 {\n  forward . /etc/resolv.conf\n}\nglobal:53 {\n  errors\n  cache 30\n  forward . 10.96.0.53:53\n}\n' } },
          ]
        : []),
    ];
    const ok = await check({ docs, mutate: withDns });
    assert.deepEqual(failing(ok), [], formatReport(ok));
    assert.equal(find(ok, 'SPC121', 'cluster1')[0]!.level, 'pass');
  });

  it('SPC130: two self-signed roots', async () => {
    const r = await check({ mutate: (c, o) => (c !== 'cluster2' ? o : o.map((x) => (x.metadata.name === 'istio-ca-root-cert' ? { ...x, data: { 'root-cert.pem': ROOT_B } } : x))) });
    const hit = expectOnly(r, 'SPC130', undefined);
    assert.match(hit.message, /clusters cluster1 and cluster2 have different roots of trust \(cluster1: O=spillway-test,CN=Root CA a [0-9A-F:]+; cluster2: O=spillway-test,CN=Root CA b/);
  });

  it('SPC130: a bundle with both roots (mid-rotation) still shares one', async () => {
    const r = await check({ mutate: (c, o) => (c !== 'cluster2' ? o : o.map((x) => (x.metadata.name === 'istio-ca-root-cert' ? { ...x, data: { 'root-cert.pem': `${ROOT_B}${ROOT_A}` } } : x))) });
    assert.deepEqual(failing(r), [], formatReport(r));
  });

  it('parseRoots fingerprints each PEM certificate and reports text that is none', () => {
    const t = parseRoots('ConfigMap/x/istio-ca-root-cert', `${ROOT_A}\n${ROOT_B}`);
    assert.equal(t.certs.length, 2);
    assert.match(t.certs[0]!.sha256, /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
    assert.equal(parseRoots('x', 'hello').error, 'root-cert.pem holds no PEM certificate');
    assert.equal(parseRoots('x', undefined).error, 'no root-cert.pem key');
  });

  it('SPC140: the MeshCluster names a port the gateway Service does not expose', async () => {
    const r = await check({ docs: inputs({ gateway: { cluster2: { port: 31999 } } }) });
    const hit = expectOnly(r, 'SPC140', 'cluster2');
    assert.match(hit.message, /says other clusters dial port 31999, but Service\/istio-system\/istio-ingressgateway \(NodePort\) exposes 443->8443 \(NodePort 32000\)/);
  });

  it('SPC141: a NodePort written as the Gateway server port', async () => {
    const r = await check({ docs: inputs({ gateway: { cluster1: { listenPort: 32000 } } }) });
    const hit = find(r, 'SPC141', 'cluster1')[0]!;
    assert.equal(hit.level, 'fail');
    assert.match(hit.message, /Gateway server port 32000 is neither a port nor a target port .* it is the NodePort of Service port 443/);
    assert.match(hit.hint!, /listenPort .*\(443\)/);
  });

  it('SPC141: the target port (8443) as the Gateway server port works and is a warning', async () => {
    const r = await check({ docs: inputs({ gateway: { cluster1: { listenPort: 8443 } } }) });
    expectOnly(r, 'SPC141', 'cluster1', 'warn');
  });

  it('SPC140: no Service selects the gateway pods', async () => {
    const r = await check({ mutate: (c, o) => (c === 'cluster1' ? o.filter((x) => x.metadata.name !== 'istio-ingressgateway') : o) });
    expectOnly(r, 'SPC140', 'cluster1');
  });

  it('SPC142: a LoadBalancer exposed at another address; a node address that is not the MeshCluster\'s', async () => {
    const lb = gatewayService({ type: 'LoadBalancer', ports: [{ name: 'https', port: 32000, targetPort: 8443, protocol: 'TCP', nodePort: 30443 }] });
    lb['status'] = { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } };
    const r = await check({ docs: inputs({ gateway: { cluster1: { listenPort: 32000 } } }), mutate: replace('cluster1', lb) });
    const hit = expectOnly(r, 'SPC142', 'cluster1');
    assert.match(hit.hint!, /spec\.gateway\.address: 203\.0\.113\.7/);
    const moved = await check({ docs: inputs({ gateway: { cluster2: { address: '198.51.100.9' } } }) });
    expectOnly(moved, 'SPC142', 'cluster2', 'warn');
  });

  it('SPC150: pods without a sidecar, and a namespace with injection disabled', async () => {
    const r = await check({ mutate: (c, o) => (c !== 'cluster1' ? o : [...o.filter((x) => x.kind !== 'Pod'), ...workloadObjects(c, { sidecar: false }).filter((x) => x.kind === 'Pod')]) });
    const hit = expectOnly(r, 'SPC150', 'cluster1');
    assert.match(hit.message, /2 of 2 pod\(s\) of Service\/default\/reviews have no istio-proxy sidecar: reviews-1, reviews-2 \(the namespace injects: restart them\)/);
    const off = await check({ mutate: (c, o) => (c !== 'cluster2' ? o : replace(c, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio-injection': 'disabled' } } })(c, o.filter((x) => x.kind !== 'Pod'))) });
    expectOnly(off, 'SPC150', 'cluster2');
  });

  it('SPC151: an ambient namespace', async () => {
    const r = await check({ mutate: replace('cluster1', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient' } } }) });
    expectOnly(r, 'SPC151', 'cluster1');
  });

  it('SPC160: a Bookinfo-style DestinationRule for the local service', async () => {
    const dr: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: 'default' }, spec: { host: 'reviews', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] } };
    const r = await check({ mutate: add('cluster1', dr) });
    const hit = expectOnly(r, 'SPC160', 'cluster1');
    assert.match(hit.message, /DestinationRule\/default\/reviews sets a trafficPolicy for reviews\.default\.svc\.cluster\.local \(the local tier\)/);
    const subsetsOnly = await check({ mutate: add('cluster1', { ...dr, spec: { host: 'reviews.default.svc.cluster.local', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } }) });
    expectOnly(subsetsOnly, 'SPC160', 'cluster1', 'warn');
  });

  it('SPC161: a VirtualService routing the global host elsewhere', async () => {
    const vs: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews-global', namespace: 'default' }, spec: { hosts: ['reviews-global.default.global'], http: [{ route: [{ destination: { host: 'reviews.default.svc.cluster.local' } }] }] } };
    const r = await check({ mutate: add('cluster2', vs) });
    const hit = expectOnly(r, 'SPC161', 'cluster2');
    assert.match(hit.message, /routes reviews-global\.default\.global to reviews\.default\.svc\.cluster\.local: client sidecars follow it instead of the aggregate/);
  });

  it('SPC162: a mesh-wide Sidecar that imports only its own namespace and istio-system', async () => {
    const sc: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'istio-system' }, spec: { egress: [{ hosts: ['./*', 'istio-system/*'] }] } };
    const r = await check({ mutate: add('cluster1', sc) });
    const hit = expectOnly(r, 'SPC162', 'cluster1');
    assert.match(hit.message, /hides reviews-global\.default\.global, reviews-remote-cluster2\.default\.global from every namespace without a Sidecar of its own/);
    const ok = await check({ mutate: add('cluster1', { ...sc, spec: { egress: [{ hosts: ['./*', 'istio-system/*', 'default/*'] }] } }) });
    assert.deepEqual(failing(ok), [], formatReport(ok));
  });

  it('SPC163: defaultServiceExportTo ["."] hides nothing: every rendered ServiceEntry sets exportTo explicitly', async () => {
    const meshDot = (x: KubeObject): KubeObject => (x.metadata.name === 'istio' && x.kind === 'ConfigMap' ? { ...x, data: { mesh: `${MESH_DNS}defaultServiceExportTo: ["."]\n` } } : x);
    // Spillway's render sets exportTo: ["*"] on every ServiceEntry, DestinationRule and VirtualService, so the
    // mesh default that used to hide them (a warning here) no longer applies to its objects.
    const ok = await check({ mutate: (c, o) => (c !== 'cluster1' ? o : o.map(meshDot)) });
    assert.deepEqual(find(ok, 'SPC163', 'cluster1').map((x) => x.level), ['pass']);
  });

  it('SPC164: remote secrets without clusterLocal; clusterLocal for the host passes', async () => {
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'istio-remote-secret-cluster2', namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' } }, data: { cluster2: Buffer.from('apiVersion: v1\nusers: [{user: {token: s3cr3t}}]').toString('base64') } };
    const r = await check({ mutate: add('cluster1', secret) });
    const hit = expectOnly(r, 'SPC164', 'cluster1');
    assert.match(hit.message, /Istio discovers endpoints from 1 remote cluster\(s\) \(Secret\/istio-system\/istio-remote-secret-cluster2\) and reviews\.default\.svc\.cluster\.local is not clusterLocal/);
    assert.doesNotMatch(JSON.stringify(r), /s3cr3t|dXNlcnM/, 'no secret data in the report');
    const local = await check({
      mutate: (c, o) => (c !== 'cluster1' ? o : add(c, secret)(c, o).map((x) => (x.metadata.name === 'istio' && x.kind === 'ConfigMap' ? { ...x, data: { mesh: `${MESH_DNS}serviceSettings:\n- settings: {clusterLocal: true}\n  hosts: ["*.default.svc.cluster.local"]\n` } } : x))),
    });
    assert.deepEqual(failing(local), [], formatReport(local));
  });

  it('a forbidden list is a warning that says what could not be verified, never a pass', async () => {
    const r = await check({ client: (c, o) => new MemoryClient(o, { forbidden: c === 'cluster1' ? /destinationrules/ : /^$/ }) });
    const hit = find(r, 'SPC160', 'cluster1')[0]!;
    assert.equal(hit.level, 'warn');
    assert.match(hit.message, /DestinationRules could not be read: GET \/apis\/networking\.istio\.io\/v1\/destinationrules: 403 forbidden/);
  });

  it('a check that throws is reported as SPC199 and the others still run', () => {
    const broken = { name: 'broken', title: 'x', run: () => { throw new Error('boom'); } };
    const r = runChecks({ render: { clusters: {}, messages: [], services: [], snapshot: { clusters: new Map(), workloads: new Map(), services: [], rejected: new Set(), fingerprints: new Map() }, blocks: new Map() }, meshClusters: [], clusters: {}, now }, [broken, CHECKS[0]!]);
    assert.deepEqual(r.results.map((x) => [x.code, x.level]), [['SPC199', 'fail'], ['SPC100', 'skip']]);
  });
});

describe('spillway check: a client-only cluster (its workload gone, still listed and registered: SPW161)', { timeout: 30_000 }, () => {
  // reviews is gone from cluster2: its MeshWorkload (discovery drops it) and its Service and pods. cluster2's clients
  // keep the global host and reach cluster1 through its gateway.
  const docs = inputs().filter((d) => !((d.value as KubeObject).kind === 'MeshWorkload' && (d.value as KubeObject).metadata.name === 'reviews-cluster2'));
  const gone: Mutate = (c, objects) => (c !== 'cluster2' ? objects : objects.filter((o) => !(o.metadata.namespace === 'default' && (o.metadata.name === 'reviews' || o.metadata.name.startsWith('reviews-')))));
  const then = (...ms: Mutate[]): Mutate => (c, o) => ms.reduce((acc, m) => m(c, acc), o);

  it('checks what its clients need (DNS capture, root of trust, Sidecar visibility, user rules), not the service\'s pods', async () => {
    const r = await check({ docs, mutate: gone });
    assert.deepEqual(failing(r), [], formatReport(r));
    assert.deepEqual(find(r, 'SPC150').map((x) => x.cluster), ['cluster1'], 'no injection check where the service does not run');
    assert.deepEqual(find(r, 'SPC164').map((x) => x.cluster), ['cluster1'], 'no local tier in cluster2 whose endpoints Istio could merge');
    for (const code of ['SPC120', 'SPC160', 'SPC161', 'SPC162', 'SPC163']) assert.deepEqual(find(r, code).map((x) => `${x.cluster} ${x.level}`).sort(), ['cluster1 pass', 'cluster2 pass'], code);
    assert.match(find(r, 'SPC162', 'cluster2')[0]!.message, /^no Sidecar hides reviews-global\.default\.global, reviews-remote-cluster1\.default\.global$/);
    assert.deepEqual(find(r, 'SPC160', 'cluster2')[0]!.params, { result: 'none', cluster: 'cluster2', hosts: ['reviews-global.default.global', 'reviews-remote-cluster1.default.global'] });
    assert.match(find(r, 'SPC130')[0]!.message, /^2 cluster\(s\) share a root of trust/);
  });

  it('finds what breaks its clients: DNS capture off, another root, a Sidecar hiding the global host', async () => {
    const dns = await check({ docs, mutate: then(gone, replace('cluster2', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system', labels: { 'istio.io/rev': 'default' } }, data: { mesh: 'defaultConfig: {}\n' } })) });
    expectOnly(dns, 'SPC120', 'cluster2');
    const root = await check({ docs, mutate: then(gone, (c, o) => (c !== 'cluster2' ? o : o.map((x) => (x.metadata.name === 'istio-ca-root-cert' ? { ...x, data: { 'root-cert.pem': ROOT_B } } : x)))) });
    assert.match(expectOnly(root, 'SPC130', undefined).message, /clusters cluster1 and cluster2 have different roots of trust/);
    const sc: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'istio-system' }, spec: { egress: [{ hosts: ['./*', 'istio-system/*'] }] } };
    const hidden = await check({ docs, mutate: then(gone, add('cluster2', sc)) });
    assert.match(expectOnly(hidden, 'SPC162', 'cluster2').message, /hides reviews-global\.default\.global, reviews-remote-cluster1\.default\.global from every namespace/);
  });
});
