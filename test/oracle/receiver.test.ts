/**
 * The receiving side through istiod's own translation: istiod accepts every object Spillway renders
 * (its validation is what the validating webhook runs), and each cluster's gateway listens on a port its
 * Service reaches, has a filter chain for the global host's SNI, and routes the global host to the local
 * service, on the gateway charts users install.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { runOracle } from '../support/oracle.ts';
import type { OracleResult } from '../support/oracle.ts';
import { ORACLE_TEST_TIMEOUT, answerAll, loadExample, member } from './mesh.ts';
import type { Member } from './mesh.ts';
import { checkClients, checkGateway } from './pins.ts';

const EXPECTED = { 'seed.yaml': ['cluster1', 'cluster2'], 'three-clusters.yaml': ['east', 'eu', 'west'] };

for (const [example, clusters] of Object.entries(EXPECTED)) {
  describe(`oracle: examples/${example}, receiving side`, { timeout: ORACLE_TEST_TIMEOUT }, () => {
    let answers = new Map<string, { m: Member; res: OracleResult }>();
    before(async () => {
      answers = await answerAll(loadExample(example));
    }, { timeout: ORACLE_TEST_TIMEOUT });

    for (const cluster of clusters) {
      it(`${cluster}: istiod's validation accepts every rendered object`, () => {
        const a = answers.get(cluster);
        assert.ok(a);
        assert.deepEqual(a.res.rejected, []);
      });
      it(`${cluster}: the gateway listens where its Service delivers, matches the SNI and routes the global host to the local service`, () => {
        const a = answers.get(cluster);
        assert.ok(a);
        assert.ok(a.m.rendered.some((o) => o.kind === 'Gateway'), `${cluster} renders no Gateway`);
        checkGateway(a.res.proxy(a.m.gateway), a.m);
      });
    }
  });
}

// A gateway behind a LoadBalancer on 443, on both common charts: istioctl's maps 443 to 8443, Helm's keeps 443.
const LB_443: unknown[] = [
  { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'c1' }, spec: { gateway: { address: '192.0.2.10', port: 443, servicePort: 443 } } },
  { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name: 'c2' }, spec: { gateway: { address: '192.0.2.20', port: 443, servicePort: 443 } } },
  { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkload', metadata: { name: 'reviews-c1', namespace: 'default' }, spec: { cluster: 'c1', service: { name: 'reviews' }, ports: [{ name: 'http', number: 9080, protocol: 'HTTP' }], selector: { app: 'reviews' } } },
  { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkload', metadata: { name: 'reviews-c2', namespace: 'default' }, spec: { cluster: 'c2', service: { name: 'reviews' }, ports: [{ name: 'http', number: 9080, protocol: 'HTTP' }], selector: { app: 'reviews' } } },
  { apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name: 'reviews', namespace: 'default' }, spec: { meshWorkloads: ['reviews-c1', 'reviews-c2'] } },
];

describe('oracle: the gateway charts users install', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  for (const chart of ['istioctl', 'helm'] as const) {
    it(`${chart} chart: Spillway's Gateway for port 443 is served where the chart's Service delivers 443`, { timeout: ORACLE_TEST_TIMEOUT }, async () => {
      const m = member(LB_443, 'c1', { chart });
      const res = await runOracle(m.input);
      assert.deepEqual(res.rejected, []);
      const x = res.proxy(m.gateway);
      checkGateway(x, m);
      const svcPorts = (m.gatewayService.spec as { ports: { port: number; targetPort: number }[] }).ports;
      assert.deepEqual(x.listenerPorts(), [svcPorts.find((p) => p.port === 443)?.targetPort]);
      checkClients(res.proxy(m.client), m);
    });
  }
});

/** The user's public HTTPS ingress: a Gateway on 443 with its own certificate, and its route. */
function publicIngress(): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shop-cert', namespace: 'istio-system' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'public', namespace: 'istio-system' },
      spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['shop.example.com'], tls: { mode: 'SIMPLE', credentialName: 'shop-cert' } }] },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'shop', namespace: 'default' },
      spec: { hosts: ['shop.example.com'], gateways: ['istio-system/public'], http: [{ route: [{ destination: { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } } }] }] },
    },
  ];
}

describe("oracle: the user's HTTPS Gateway on 443 beside Spillway's", { timeout: ORACLE_TEST_TIMEOUT }, () => {
  for (const [label, docs] of [['seed.yaml (NodePort of Service port 443, istioctl chart)', loadExample('seed.yaml')], ['gateway on 443', LB_443]] as const) {
    for (const order of ['older', 'newer'] as const) {
      it(`${label}, user's Gateway ${order}: both SNI chains share the listener; neither Gateway is dropped`, { timeout: ORACLE_TEST_TIMEOUT }, async () => {
        const cluster = docs === LB_443 ? 'c1' : 'cluster1';
        const m = member(docs, cluster, order === 'older' ? { userObjects: publicIngress() } : { userObjectsAfter: publicIngress() });
        const res = await runOracle(m.input);
        assert.deepEqual(res.rejected, []);
        const x = res.proxy(m.gateway);
        // The user's public ingress still works: the 443 Service port's target carries its chain.
        assert.ok(x.filterChain(8443, 'shop.example.com'), `the user's HTTPS server lost its filter chain (listeners: ${x.listenerPorts().join(', ')})`);
        checkGateway(x, m);
      });
    }
  }
});

describe('oracle: a plaintext Spillway server never takes a port the user serves HTTPS on', { timeout: ORACLE_TEST_TIMEOUT }, () => {
  const plain = (http: boolean) =>
    loadExample('seed.yaml').map((d) => {
      const k = (d as { kind?: string }).kind;
      if (k === 'FailoverService') return { ...(d as object), spec: { ...(d as { spec: object }).spec, tls: { mode: 'DISABLE' } } };
      if (k === 'MeshCluster' && http) {
        const spec = (d as { spec: { gateway: object } }).spec;
        return { ...(d as object), spec: { ...spec, gateway: { ...spec.gateway, http: { port: 31080, servicePort: 80 } } } };
      }
      return d;
    });
  it('tls DISABLE without a plain-HTTP entrance is an error: nothing is rendered onto the HTTPS port', () => {
    assert.throws(() => member(plain(false), 'cluster1'), /SPW135/);
  });
  for (const order of ['older', 'newer'] as const) {
    it(`tls DISABLE through gateway.http (Service port 80 -> 8080), the user's HTTPS 443 (-> 8443) ${order}: both are served`, { timeout: ORACLE_TEST_TIMEOUT }, async () => {
      const m = member(plain(true), 'cluster1', order === 'older' ? { userObjects: publicIngress() } : { userObjectsAfter: publicIngress() });
      const res = await runOracle(m.input);
      assert.deepEqual(res.rejected, []);
      const x = res.proxy(m.gateway);
      assert.ok(x.filterChain(8443, 'shop.example.com'), `the user's HTTPS server on 443 lost its filter chain (listeners: ${x.listenerPorts().join(', ')})`);
      assert.ok(x.listenerPorts().includes(8080), `no plain-HTTP listener on 8080 (listeners: ${x.listenerPorts().join(', ')})`);
      const r = x.route('reviews-global.default.global', undefined, 'http.8080');
      assert.ok(r, 'no plain-HTTP route for the global host');
      assert.deepEqual(r.clusters, ['outbound|9080||reviews.default.svc.cluster.local']);
    });
  }
});
