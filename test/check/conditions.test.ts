/**
 * Checked conditions from a report (src/check/conditions.ts): a FailoverService's condition carries the findings
 * about it. A finding about a whole cluster that lists the global hosts called from there (SPC120: DNS) is cut to the
 * service's own host in that service's condition, so that no status holds every other service's hosts (a status
 * growing with the fleet); the MeshCluster's condition keeps the whole list.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderFinding } from '../../src/api/messages.ts';
import type { FindingCode, FindingParams } from '../../src/api/messages.ts';
import { checkConditions } from '../../src/check/conditions.ts';
import type { CheckReport, CheckResult } from '../../src/check/types.ts';

function result<C extends FindingCode>(level: CheckResult['level'], code: C, params: FindingParams<C>, extra: Partial<Pick<CheckResult, 'cluster' | 'clusters' | 'services'>>): CheckResult {
  const f = renderFinding(code, params);
  return { code, check: 'test', level, ...extra, params, message: f.message, ...(f.hint !== undefined ? { hint: f.hint } : {}) };
}

const host = (i: number) => `svc${i}.default.global`;
const ref = (i: number) => `FailoverService/default/svc${i}`;
const N = 50;

/** DNS off in cluster1, whose clients call services 0..N-1; a DestinationRule finding about service 1 alone. */
function report(): CheckReport {
  const hosts = Array.from({ length: N }, (_, i) => host(i));
  const results = [
    result('pass', 'SPC100', { result: 'reached', cluster: 'cluster1', via: 'controller' }, { cluster: 'cluster1' }),
    result('pass', 'SPC100', { result: 'reached', cluster: 'cluster2', via: 'controller' }, { cluster: 'cluster2' }),
    result('fail', 'SPC120', { result: 'off', cluster: 'cluster1', hosts, rootNamespace: 'istio-system', meshConfig: 'istio-system/istio' }, { cluster: 'cluster1' }),
    result('pass', 'SPC120', { result: 'meshWide', cluster: 'cluster2', hosts, rootNamespace: 'istio-system', meshConfig: 'istio-system/istio' }, { cluster: 'cluster2' }),
    result('pass', 'SPC160', { result: 'none', cluster: 'cluster1', hosts: [host(1), 'svc1.default.svc.cluster.local'] }, { cluster: 'cluster1', services: [ref(1)] }),
  ];
  return { results, summary: { pass: 4, warn: 0, fail: 1, skip: 0 } };
}

const uses = (extra: [string, { clusters: string[]; hosts: string[] }][] = []) =>
  new Map([...Array.from({ length: N }, (_, i): [string, { clusters: string[]; hosts: string[] }] => [ref(i), { clusters: ['cluster1', 'cluster2'], hosts: [host(i)] }]), ...extra]);

describe('Checked conditions', { timeout: 30_000 }, () => {
  it("a cluster-wide DNS finding names only the service's own host in its condition, the MeshCluster's names all", { timeout: 10_000 }, () => {
    const c = checkConditions(report(), ['cluster1', 'cluster2'], uses());
    assert.equal(c.services.size, N);
    for (let i = 0; i < N; i++) {
      const cond = c.services.get(ref(i));
      assert.ok(cond, `svc${i} has a condition`);
      assert.equal(cond.status, 'False');
      assert.equal(cond.reason, 'SPC120');
      const dns = cond.findings.filter((f) => f.code === 'SPC120');
      assert.equal(dns.length, 1, `svc${i}: the failing SPC120 is its only finding of that code (passes are not carried)`);
      assert.deepEqual((dns[0]!.params as { hosts: string[] }).hosts, [host(i)], `svc${i}: its own host only`);
      // The text is rendered again from the narrowed params: it names this service's host and no other.
      assert.match(cond.message, new RegExp(`apps cannot resolve ${host(i).replace(/\./g, '\\.')}`));
      assert.equal((cond.message.match(/\.default\.global/g) ?? []).length, 1, `svc${i}: one host in the message: ${cond.message}`);
    }
    // The service-scoped finding of svc1 is left as it was (its own hosts), and only svc1 gets it.
    assert.equal(c.services.get(ref(1))!.message.includes('SPC160'), false, 'a pass is not listed');
    const cl = c.clusters.get('cluster1')!;
    assert.deepEqual((cl.findings.find((f) => f.code === 'SPC120')!.params as { hosts: string[] }).hosts.length, N, "the MeshCluster's condition keeps every host");
  });

  it('a finding that names none of the service\'s hosts is not in its condition', { timeout: 10_000 }, () => {
    const c = checkConditions(report(), ['cluster1', 'cluster2'], uses([['FailoverService/default/other', { clusters: ['cluster1'], hosts: ['other.default.global'] }]]));
    const other = c.services.get('FailoverService/default/other');
    assert.ok(other, 'the service uses a checked cluster: it has a condition');
    assert.deepEqual(other.findings, [], 'the DNS failure is about hosts its clients do not call');
    assert.equal(other.status, 'True');
    // The condition's size does not grow with the fleet: each service's findings are as small with 50 services as with one.
    const one = checkConditions(report(), ['cluster1', 'cluster2'], new Map([[ref(7), { clusters: ['cluster1', 'cluster2'], hosts: [host(7)] }]]));
    assert.deepEqual(one.services.get(ref(7)), checkConditions(report(), ['cluster1', 'cluster2'], uses()).services.get(ref(7)));
  });
});
