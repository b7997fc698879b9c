/**
 * The controller reads every member's own ServiceEntries: a FailoverService whose global host one of them already
 * serves is not accepted (SPW143) and its objects are held as they were, never pruned; once the other
 * ServiceEntry is gone it is accepted again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { FAILOVER_SERVICES, MESH_WORKLOADS } from '../../src/kube/resources.ts';
import type { Fleet } from './harness.ts';
import { converged, create, failoverService, get, remove, service, startFleet, until } from './harness.ts';

interface Cond { type: string; status: string; reason: string; message: string }
const HOST = 'reviews-global.default.global';
const ef = (f: Fleet, i: number) => f.members[i]!.peek('networking.istio.io', 'envoyfilters', 'istio-system', HOST) as KubeObject | undefined;

describe('the mesh\'s own ServiceEntry hosts in the controller', { timeout: 120_000 }, () => {
  let f: Fleet;
  before(async () => {
    f = await startFleet(2);
  });
  after(async () => f.close());

  it('a member\'s ServiceEntry for the global host: Accepted=False SPW143, the live objects held; accepted again once it goes', { timeout: 120_000 }, async () => {
    await f.startController();
    for (const c of f.clients) await create(c, service('reviews'));
    await until(async () => ((await get(f.mc, MESH_WORKLOADS, 'default', 'reviews-cluster2')) ? [] : ['not discovered']), 'discovery');
    await create(f.mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2']));
    await converged(f, 'programmed');
    const rv = [ef(f, 0)?.metadata.resourceVersion, ef(f, 1)?.metadata.resourceVersion];
    assert.ok(rv.every((v) => v !== undefined), 'EnvoyFilters written');

    // Someone else's ServiceEntry for that host in cluster2 (no Spillway label).
    const other = await create(f.clients[1]!, {
      apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry',
      metadata: { name: 'legacy-reviews', namespace: 'default' },
      spec: { hosts: [HOST], ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', location: 'MESH_INTERNAL' },
    });
    let accepted: Cond | undefined;
    const status = async () => ((await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews'))?.status as { conditions?: Cond[] } | undefined);
    await until(async () => {
      accepted = (await status())?.conditions?.find((c) => c.type === 'Accepted');
      return accepted?.status === 'False' && accepted.reason === 'SPW143' ? [] : [JSON.stringify(accepted)];
    }, 'SPW143');
    assert.match(accepted!.message, /the derived global host reviews-global\.default\.global is a host of ServiceEntry default\/legacy-reviews in cluster cluster2, which Spillway did not write/);
    // Held: nothing pruned or rewritten, in either cluster; the other ServiceEntry untouched.
    await f.controllers[0]!.idle();
    assert.deepEqual([ef(f, 0)?.metadata.resourceVersion, ef(f, 1)?.metadata.resourceVersion], rv);
    assert.equal((f.members[1]!.peek('networking.istio.io', 'serviceentries', 'default', 'legacy-reviews') as KubeObject | undefined)?.metadata.resourceVersion, other.metadata.resourceVersion);

    await remove(f.clients[1]!, other);
    await until(async () => {
      accepted = (await status())?.conditions?.find((c) => c.type === 'Accepted');
      return accepted?.status === 'True' ? [] : [JSON.stringify(accepted)];
    }, 'accepted again');
    await converged(f, 'programmed again');
  });
});
