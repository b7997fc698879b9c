/**
 * Three real Kubernetes API servers set up the way an operator sets up Spillway: `spillway install` applied with
 * kubectl in the management cluster (which is also member cluster1), Istio's CRDs for the kinds Spillway writes in
 * every cluster, cluster2 and cluster3 registered with `spillway cluster register` (member identity + TokenRequest
 * token), and a controller that runs in-process as the ServiceAccount the install creates.
 */
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import type { KubeObject } from '../../src/api/types.ts';
import { clusterRegister } from '../../src/cli/cluster.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { noJitter } from '../../src/kube/clock.ts';
import { OUTPUT_KINDS, ISTIO_GROUP } from '../../src/kube/resources.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { ControllerOptions } from '../../src/controller/controller.ts';
import { CONTROLLER_NAME } from '../../src/install/common.ts';
import { istioCrdDocuments } from '../support/istio-crds.ts';
import { startRealClusters } from '../support/real-cluster.ts';
import type { RealCluster } from '../support/real-cluster.ts';
import { FAST_SCHEDULER, FAST_TIMING, NS } from '../controller/harness.ts';
import { cli, kubectl, ok, waitServed } from './kube.ts';

export const NAMES = ['cluster1', 'cluster2', 'cluster3'] as const;

export interface RealFleet {
  clusters: RealCluster[];
  mgmt: RealCluster;
  /** Admin client of the management cluster (= member cluster1). */
  mc: HttpKubeClient;
  /** Admin clients of the members, in cluster order. */
  clients: HttpKubeClient[];
  names: string[];
  /** What `spillway cluster register` printed per cluster (Secret + MeshCluster): apply it again to re-register. */
  registration: Map<string, string>;
  startController(o?: Partial<ControllerOptions>): Promise<Controller>;
  close(): Promise<void>;
}

export interface FleetOptions {
  /** Istio CRDs installed beside the kinds Spillway writes, by plural (e.g. `sidecars`, which the checks list). */
  extraIstioCrds?: string[];
}

/** Starts, installs and registers three clusters (waits until every kind the tests use is served). */
export async function startInstalledFleet(waitMs = 45_000, opts: FleetOptions = {}): Promise<RealFleet> {
  const clusters = await startRealClusters(['management', 'cluster2', 'cluster3']);
  const controllers: Controller[] = [];
  try {
    const mgmt = clusters[0]!;
    ok(await kubectl(mgmt, ['apply', '-f', '-'], await cli(['install'])), 'kubectl apply (install)');
    ok(await kubectl(mgmt, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/failoverservices.spillway.dev', 'crd/meshclusters.spillway.dev', 'crd/meshworkloads.spillway.dev']), 'CRDs established');
    const wanted = new Set([...OUTPUT_KINDS.map((k) => k.plural), ...(opts.extraIstioCrds ?? [])].map((p) => `${p}.${ISTIO_GROUP}`));
    const crds = (istioCrdDocuments() as KubeObject[]).filter((d) => d?.kind === 'CustomResourceDefinition' && wanted.has(d.metadata.name));
    assert.equal(crds.length, wanted.size, `Istio's CRD bundle lacks one of ${[...wanted].join(', ')}`);
    const crdYaml = crds.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n');
    await Promise.all(clusters.map(async (c) => {
      ok(await kubectl(c, ['apply', '--server-side', '--field-manager=istio-install', '-f', '-'], crdYaml), `Istio CRDs in ${c.name}`);
      ok(await kubectl(c, ['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((d) => `crd/${d.metadata.name}`)]), `Istio CRDs established in ${c.name}`);
      ok(await kubectl(c, ['create', 'namespace', 'istio-system']), 'istio-system');
    }));
    const registration = new Map<string, string>();
    registration.set('cluster1', await cli(['cluster', 'register', 'cluster1', '--management', '--gateway-address', '192.0.2.1', '--gateway-port', '32000', '--service-port', '443']));
    for (const [i, c] of clusters.slice(1).entries()) {
      let out = '';
      let err = '';
      const code = await clusterRegister({ name: NAMES[i + 1]!, kubeconfig: c.kubeconfigPath, gatewayAddress: `192.0.2.${i + 2}`, gatewayPort: '32000', servicePort: '443', namespace: NS, tokenExpiration: '2h' }, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
      assert.equal(code, 0, err);
      registration.set(NAMES[i + 1]!, out);
    }
    for (const [name, out] of registration) ok(await kubectl(mgmt, ['apply', '-f', '-'], out), `register ${name}`);
    const mc = mgmt.client();
    const clients = [mc, ...clusters.slice(1).map((c) => c.client())];
    await waitServed(mc, clients, NAMES, waitMs);
    return {
      clusters,
      mgmt,
      mc,
      clients,
      names: [...NAMES],
      registration,
      async startController(o = {}) {
        const token = await mgmt.token(NS, CONTROLLER_NAME, 3600);
        const management = new HttpKubeClient(kubeConfigFromText(mgmt.tokenKubeconfig(token)), { timeoutMs: 10_000, userAgent: 'spillway/replica-1' });
        const c = new Controller({
          management,
          memberClient: (config) => new HttpKubeClient(config, { timeoutMs: 10_000, userAgent: 'spillway/replica-1' }),
          identity: 'replica-1',
          namespace: NS,
          jitter: noJitter,
          timing: FAST_TIMING,
          scheduler: FAST_SCHEDULER,
          leaderElection: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 500 },
          ...o,
        });
        controllers.push(c);
        await c.start();
        return c;
      },
      async close() {
        await Promise.all(controllers.map((c) => c.stop()));
        await Promise.all(clusters.map((c) => c.close()));
      },
    };
  } catch (e) {
    await Promise.all(controllers.map((c) => c.stop()));
    await Promise.all(clusters.map((c) => c.close()));
    throw e;
  }
}
