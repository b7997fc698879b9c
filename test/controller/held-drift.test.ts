/**
 * While a FailoverService is held (an invalid edit: the last good configuration is served), its objects are still
 * kept as they were rendered last: an object someone edits or deletes in a member is repaired from the last good
 * render, without touching anything else; fixing the edit converges to the new render.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { renderDetailed } from '../../src/core/render.ts';
import { FAILOVER_SERVICES, objectKey, objectPath, typeOfObject } from '../../src/kube/resources.ts';
import type { Fleet } from './harness.ts';
import { TEST_TIMEOUT, applyAs, converged, create, failoverService, get, inputs, remove, service, startFleet, strip, until } from './harness.ts';

const ALL = ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3'];

interface FsStatus {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
}
const cond = (s: FsStatus, type: string) => s.conditions?.find((c) => c.type === type);

/** Differences between `want` (per cluster, objects as rendered) and what the members hold. */
async function differences(f: Fleet, want: Record<string, KubeObject[]>): Promise<string[]> {
  const out: string[] = [];
  for (const [i, name] of f.names.entries()) {
    const objs = want[name] ?? [];
    if (objs.length === 0) out.push(`${name}: nothing expected (the test needs objects)`);
    for (const w of objs) {
      const live = await get(f.clients[i]!, typeOfObject(w), w.metadata.namespace, w.metadata.name);
      if (!live) out.push(`${name}: missing ${objectKey(w)}`);
      else {
        try {
          assert.deepEqual(strip(live), w);
        } catch {
          out.push(`${name}: differs ${objectKey(w)}: ${JSON.stringify(strip(live).spec)}`);
        }
      }
    }
  }
  return out;
}

describe('a held FailoverService: drift of its objects is repaired from the last good render', () => {
  let f: Fleet;
  beforeEach(async () => {
    f = await startFleet(3);
    for (const c of f.clients) await create(c, service('reviews'));
  });
  afterEach(async () => f.close(), TEST_TIMEOUT);

  it('an edited and a deleted object come back as last rendered; nothing else is written; fixing converges', TEST_TIMEOUT, async () => {
    const ctl = await f.startController();
    await create(f.mc, failoverService('reviews', ALL));
    await converged(f, 'valid');
    await ctl.idle();
    const lastGood = renderDetailed(await inputs(f)).clusters;

    await applyAs(f.mc, { ...failoverService('reviews', ALL), spec: { meshWorkloads: ALL, port: 'no-such-port' } });
    await until(async () => {
      const o = await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews');
      const s = (o?.status ?? {}) as FsStatus;
      return s.observedGeneration === o?.metadata.generation && cond(s, 'Accepted')?.status === 'False' && cond(s, 'Programmed')?.reason === 'LastGoodServed' ? [] : [JSON.stringify(s)];
    }, 'held');
    await ctl.idle();
    assert.deepEqual(await differences(f, lastGood), [], 'held: the last good objects are in place');

    // Someone edits the global ServiceEntry in cluster2 and deletes the local DestinationRule in cluster3.
    for (const d of f.members) d.resetLog();
    const se = lastGood['cluster2']!.find((o) => o.kind === 'ServiceEntry' && o.metadata.name === 'reviews-global')!;
    await f.clients[1]!.request({ method: 'PATCH', path: objectPath(typeOfObject(se), se.metadata.name, se.metadata.namespace), contentType: 'application/merge-patch+json', body: { spec: { exportTo: ['.'] } } });
    const dr = lastGood['cluster3']!.find((o) => o.kind === 'DestinationRule' && o.metadata.name === 'reviews-local')!;
    assert.ok(dr, 'cluster3 has a local DestinationRule');
    await remove(f.clients[2]!, dr);
    await until(() => differences(f, lastGood), 'drift repaired from the last good render');
    // The controller wrote exactly the two drifted objects, nothing else (cluster1 untouched).
    const writes = f.members.map((d) => [...new Set(d.requests.filter((r) => r.userAgent.startsWith('spillway/') && r.info && ['patch', 'create', 'delete', 'update'].includes(r.info.verb) && r.info.group === 'networking.istio.io' && r.code < 300).map((r) => `${r.info!.verb} ${r.info!.resource}/${r.info!.name}`))]);
    assert.deepEqual(writes, [[], ['patch serviceentries/reviews-global'], ['patch destinationrules/reviews-local']]);
    const o = await get(f.mc, FAILOVER_SERVICES, 'default', 'reviews');
    assert.equal(cond((o?.status ?? {}) as FsStatus, 'Accepted')?.status, 'False', 'still not accepted');

    await applyAs(f.mc, failoverService('reviews', [ALL[1]!, ALL[0]!, ALL[2]!]));
    await converged(f, 'fixed');
  });
});
