/**
 * A runnable walk-through of `spillway check` and `spillway status` on in-process API doubles (no real
 * cluster needed): a management cluster and two members set up like a working mesh, then broken, then a
 * workload scaled down while the live tier shares are published. Prints each command and what it printed.
 *
 *   npx tsx scripts/check-demo.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeDouble } from '../test/double/index.ts';
import { gatewayService, inputs, istioCrds, liveObjects, ROOT_B } from '../test/check/fixtures.ts';
import { runCli } from '../src/cli/main.ts';
import { customResourceDefinitions } from '../src/api/crds.ts';
import type { KubeObject } from '../src/api/types.ts';
import { renderDetailed } from '../src/core/render.ts';
import { HttpKubeClient } from '../src/kube/client.ts';
import { kubeConfigFromText } from '../src/kube/config.ts';
import { noJitter, realClock } from '../src/kube/clock.ts';
import { typeOfObject, objectPath } from '../src/kube/resources.ts';
import { silentLogger } from '../src/controller/log.ts';
import { ServingPublisher } from '../src/controller/serving.ts';

const dir = '.tmp/check-demo';
mkdirSync(dir, { recursive: true });

const plural: Record<string, string> = { ConfigMap: 'configmaps', Sidecar: 'sidecars' };
async function apply(c: HttpKubeClient, o: KubeObject): Promise<void> {
  let t;
  try {
    t = typeOfObject(o);
  } catch {
    const [group, version] = o.apiVersion.includes('/') ? (o.apiVersion.split('/') as [string, string]) : ['', o.apiVersion];
    t = { group, version, kind: o.kind, plural: plural[o.kind]!, namespaced: true };
  }
  await c.request({ method: 'PATCH', path: objectPath(t, o.metadata.name, o.metadata.namespace), query: { fieldManager: 'kubectl', force: true }, contentType: 'application/apply-patch+yaml', body: o });
}

async function show(args: string[]): Promise<void> {
  let out = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (out += s) });
  process.stdout.write(`$ spillway ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}\n${out}(exit status ${code})\n\n`);
}

const sliceCrd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'endpointslices.discovery.k8s.io' },
  spec: { group: 'discovery.k8s.io', scope: 'Namespaced', names: { kind: 'EndpointSlice', plural: 'endpointslices', singular: 'endpointslice', listKind: 'EndpointSliceList' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
};
const slice = (ns: string, svc: string, ready: boolean[]): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${svc}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: ready.map((r, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: r }, targetRef: { kind: 'Pod', namespace: ns, name: `${svc}-${i}` } })),
});

const mgmt = await KubeDouble.start({ name: 'mgmt' });
const members = { cluster1: await KubeDouble.start({ name: 'cluster1' }), cluster2: await KubeDouble.start({ name: 'cluster2' }) };
const configs = [mgmt, members.cluster1, members.cluster2].map((d) => yaml.load(d.kubeconfig()) as Record<string, unknown[]>);
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, yaml.dump({ apiVersion: 'v1', kind: 'Config', clusters: configs.flatMap((c) => c['clusters']!), users: configs.flatMap((c) => c['users']!), contexts: configs.flatMap((c) => c['contexts']!), 'current-context': 'mgmt' }));
const m = new HttpKubeClient(kubeConfigFromText(mgmt.kubeconfig()));
for (const crd of customResourceDefinitions()) await apply(m, crd);
await apply(m, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'spillway-system' } });
await apply(m, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'spillway-controller', namespace: 'spillway-system' }, spec: { holderIdentity: 'spillway-controller-6c9f7-x2x9q', leaseDurationSeconds: 15, renewTime: new Date().toISOString().replace('Z', '000Z') } });
for (const d of inputs()) await apply(m, d.value as KubeObject);
const k: Record<string, HttpKubeClient> = {};
for (const [name, d] of Object.entries(members)) {
  k[name] = new HttpKubeClient(kubeConfigFromText(d.kubeconfig()));
  for (const crd of [...istioCrds(), sliceCrd]) await apply(k[name]!, crd);
  for (const o of liveObjects(name)) await apply(k[name]!, o);
  await new Promise((r) => setTimeout(r, 50));
  await apply(k[name]!, slice('default', 'reviews', [true, true, true]));
  await apply(k[name]!, slice('istio-system', 'istio-ingressgateway', [true]));
}

process.stdout.write('# 1. A mesh set up right (inputs read from the management cluster, members by context name)\n\n');
await show(['check', '--kubeconfig', kubeconfig]);

process.stdout.write('# 2. The same mesh with five things broken\n\n');
await apply(k['cluster1']!, { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: 'default' }, spec: { host: 'reviews', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } });
await apply(k['cluster1']!, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'accessLogFile: /dev/stdout\n' } });
await apply(k['cluster1']!, gatewayService({ ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 31443 }] }));
await apply(k['cluster2']!, { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'istio-system' }, spec: { egress: [{ hosts: ['./*', 'istio-system/*'] }] } });
for (const ns of ['istio-system', 'default']) await apply(k['cluster2']!, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-ca-root-cert', namespace: ns }, data: { 'root-cert.pem': ROOT_B } });
await show(['check', '--kubeconfig', kubeconfig]);

process.stdout.write('# 3. Live tier shares: reviews scaled down in cluster1 (2 of 3 pods not ready)\n\n');
let cached = (await m.request({ method: 'GET', path: '/apis/spillway.dev/v1alpha1/namespaces/default/failoverservices/reviews' })) as KubeObject;
const publisher = new ServingPublisher({ management: m, clock: realClock, jitter: noJitter, isLeader: () => true, failoverService: () => cached, services: () => [gatewayService()], log: silentLogger, debounceMs: 20 });
for (const [name, c] of Object.entries(k)) publisher.attach(name, c);
publisher.setRender(renderDetailed(inputs()));
await publisher.waitSynced();
await publisher.idle();
await new Promise((r) => setTimeout(r, 200));
await show(['status', '--kubeconfig', kubeconfig]);
cached = (await m.request({ method: 'GET', path: '/apis/spillway.dev/v1alpha1/namespaces/default/failoverservices/reviews' })) as KubeObject;
const t0 = Date.now();
await apply(k['cluster1']!, slice('default', 'reviews', [true, false, false]));
for (;;) {
  const fs = (await m.request({ method: 'GET', path: '/apis/spillway.dev/v1alpha1/namespaces/default/failoverservices/reviews' })) as { status?: { serving?: { tiers: { percent: number }[] }[] } };
  const ev = ((await m.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: unknown[] }).items;
  if (fs.status?.serving?.[0]?.tiers[0]?.percent !== 100 && ev.length > 0) break;
  await new Promise((r) => setTimeout(r, 10));
}
process.stdout.write(`(share moved and Event recorded ${Date.now() - t0} ms after the EndpointSlice changed)\n\n`);
await show(['status', '--kubeconfig', kubeconfig]);
const events = ((await m.request({ method: 'GET', path: '/api/v1/namespaces/default/events' })) as { items: Record<string, unknown>[] }).items;
process.stdout.write(`$ kubectl get events -n default\n${events.map((e) => `${String(e['type']).padEnd(9)}${String(e['reason']).padEnd(11)}failoverservice/reviews   ${String(e['message'])}`).join('\n')}\n`);

await publisher.stop();
m.close();
for (const c of Object.values(k)) c.close();
await Promise.all([mgmt.close(), ...Object.values(members).map((d) => d.close())]);
