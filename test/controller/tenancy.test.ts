/**
 * The hijack from the issue, against the controller: a FailoverService in team-a naming another namespace's
 * workloads and a Kubernetes Service host is refused (coded status), writes nothing, and becomes valid only with a
 * MeshWorkloadGrant from the other namespace and a host under its own namespace.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { FAILOVER_SERVICES } from '../../src/kube/resources.ts';
import type { Fleet } from './harness.ts';
import { applyAs, converged, create, get, service, startFleet, until } from './harness.ts';

const fs = (hostname: string): KubeObject => ({ apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name: 'payments', namespace: 'team-a' }, spec: { meshWorkloads: ['default/reviews-cluster1', 'default/reviews-cluster2'], hostname } });
const accepted = async (f: Fleet) => ((await get(f.mc, FAILOVER_SERVICES, 'team-a', 'payments'))?.status as { conditions?: { type: string; status: string; reason: string }[] } | undefined)?.conditions?.find((c) => c.type === 'Accepted');

describe('tenancy in the controller', { timeout: 60_000 }, () => {
  let f: Fleet;
  before(async () => {
    f = await startFleet(2);
  });
  after(async () => f.close());

  it('refuses cross-namespace workloads without a grant and Kubernetes hosts; writes nothing for them', async () => {
    await f.startController();
    await create(f.mc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    for (const c of f.clients) await create(c, service('reviews'));
    await until(async () => ((await get(f.mc, { group: 'spillway.dev', version: 'v1alpha1', kind: 'MeshWorkload', plural: 'meshworkloads', namespaced: true }, 'default', 'reviews-cluster2')) ? [] : ['not discovered']), 'discovery');
    await create(f.mc, fs('payments.prod.svc.cluster.local'));
    await until(async () => ((await accepted(f))?.reason === 'SPW140' ? [] : [JSON.stringify(await accepted(f))]), 'SPW140 without a grant');
    const ef = 'payments.prod.svc.cluster.local';
    for (const d of f.members) assert.equal(d.peek('networking.istio.io', 'envoyfilters', 'istio-system', ef), undefined, 'no EnvoyFilter replacing a Kubernetes Service');

    await create(f.mc, { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkloadGrant', metadata: { name: 'team-a', namespace: 'default' }, spec: { from: [{ namespace: 'team-a' }] } });
    await until(async () => ((await accepted(f))?.reason === 'SPW141' ? [] : [JSON.stringify(await accepted(f))]), 'granted, but the host is a Kubernetes Service host: SPW141');
    for (const d of f.members) assert.equal(d.peek('networking.istio.io', 'envoyfilters', 'istio-system', ef), undefined);

    await applyAs(f.mc, fs('payments.team-a.global'));
    await until(async () => ((await accepted(f))?.status === 'True' ? [] : [JSON.stringify(await accepted(f))]), 'accepted with a grant and its own host');
    await converged(f, 'granted service programmed');
  });
});
