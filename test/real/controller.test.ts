/**
 * The controller end to end against three real Kubernetes API servers (kube-apiserver + etcd of the pinned
 * release, TLS, RBAC): `spillway install` applied with kubectl in the management cluster (which is also member
 * cluster1), cluster2 and cluster3 registered with `spillway cluster register` (which creates the member
 * identity and a TokenRequest token), and the controller running in-process as the ServiceAccount the install
 * creates, with a TokenRequest token and nothing but the generated roles. The audit logs then say what each
 * identity called: a request RBAC refused fails the suite, and so does a granted rule nothing used.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeObject } from '../../src/api/types.ts';
import { LABEL_MANAGED_BY } from '../../src/api/types.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { EVENTS, FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, ISTIO_GROUP, SECRETS } from '../../src/kube/resources.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { CONTROLLER_NAME, MEMBER_NAME } from '../../src/install/common.ts';
import { controllerClusterRules, controllerNamespaceRules, memberClusterRules, memberRootNamespaceRules } from '../../src/install/rbac.ts';
import { isKubeApiError } from '../../src/kube/errors.ts';
import type { RealCluster } from '../support/real-cluster.ts';
import { NS, applyAs, converged, create, divergence, failoverService, get, list, remove, service, until } from '../controller/harness.ts';
import { kubectl, ok, ruleKeys, serviceAccountUser, usedKeys, writesBy } from './kube.ts';
import { startInstalledFleet } from './fleet.ts';
import type { RealFleet } from './fleet.ts';

const CONTROLLER_USER = serviceAccountUser(NS, CONTROLLER_NAME);
const MEMBER_USER = serviceAccountUser(NS, MEMBER_NAME);
const IDENTITIES = new Set([CONTROLLER_USER, MEMBER_USER]);
const WAIT = 45_000;
const SERVICE_ENTRIES = { group: ISTIO_GROUP, version: 'v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true };

interface FsStatus {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string }[];
  clusters?: { name: string; failoverOrder: string[]; syncState: string }[];
}
const cond = (s: FsStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('controller against real API servers, as the installed identity', { timeout: 900_000 }, () => {
  let clusters: RealCluster[];
  let mgmt: RealCluster;
  let mc: HttpKubeClient;
  let clients: HttpKubeClient[];
  const names = ['cluster1', 'cluster2', 'cluster3'];
  let ctl: Controller | undefined;
  let fleet: { mc: HttpKubeClient; clients: HttpKubeClient[]; names: string[] };
  /** When cluster3 was stopped and when it was ready again. */
  const outage = { from: 0, until: 0 };

  let installed: RealFleet | undefined;
  const startController = async (): Promise<Controller> => {
    if (!installed) throw new Error('no fleet');
    return installed.startController({
      leaderElection: { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
      // The members' tokens last 2h (register --token-expiration 2h): inside a 3h window, so the warning shows.
      credentialWarningMs: 3 * 3600_000,
    });
  };

  const fsStatus = async (name: string): Promise<FsStatus & { generation?: number }> => {
    const o = await get(mc, FAILOVER_SERVICES, 'default', name);
    return { ...((o?.status ?? {}) as FsStatus), generation: o?.metadata.generation };
  };
  const statusUntil = async (name: string, okf: (s: FsStatus) => boolean, what: string): Promise<FsStatus> => {
    let last: FsStatus = {};
    await until(async () => {
      const s = await fsStatus(name);
      last = s;
      return s.observedGeneration === s.generation && okf(s) ? [] : [JSON.stringify(s)];
    }, what, WAIT);
    return last;
  };

  before(async () => {
    // `spillway install | kubectl apply -f -` in the management cluster (also member cluster1), Istio's CRDs for
    // the kinds Spillway writes in every cluster (Sidecars too: the continuous checks list them, a Sidecar can hide
    // the global hosts), and every cluster registered with `spillway cluster register`: test/real/fleet.ts.
    installed = await startInstalledFleet(WAIT, { extraIstioCrds: ['sidecars'] });
    ({ clusters, mgmt, mc, clients } = installed);
    fleet = { mc, clients, names };
    ctl = await startController();
  });

  after(async () => {
    await ctl?.stop();
    await installed?.close();
  });

  it('discovers services in every cluster as <service>-<cluster> MeshWorkloads', { timeout: 120_000 }, async () => {
    for (const c of clients) await create(c, service('reviews'));
    await until(async () => {
      const got = (await list(mc, MESH_WORKLOADS)).map((o) => o.metadata.name).sort().join(',');
      return got === 'reviews-cluster1,reviews-cluster2,reviews-cluster3' ? [] : [got];
    }, 'discovered workloads', WAIT);
  });

  it('creates a FailoverService: each cluster converges to exactly the render; status and observedGeneration follow', { timeout: 120_000 }, async () => {
    await create(mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2']));
    await converged(fleet, 'create', { timeoutMs: WAIT });
    const s = await statusUntil('reviews', (x) => cond(x, 'Programmed')?.status === 'True', 'programmed');
    assert.equal(cond(s, 'Accepted')?.status, 'True');
    assert.deepEqual(s.clusters?.map((c) => [c.name, c.failoverOrder.join('>'), c.syncState]), [
      ['cluster1', 'cluster1>cluster2', 'Synced'],
      ['cluster2', 'cluster2>cluster1', 'Synced'],
    ]);
    assert.deepEqual(await divergence(fleet, ['cluster3'], { allowEmpty: true }), []);
    // kubectl prints the printer columns the CRD declares.
    const table = ok(await kubectl(mgmt, ['get', 'fos', 'reviews', '-n', 'default']), 'kubectl get fos');
    assert.match(table, /ACCEPTED\s+PROGRAMMED/);
    assert.match(table, /reviews\s+True\s+True/);
  });

  it('member credentials: the TokenRequest token\'s expiry in status, SPW214 within the warning window, one Warning Event, no token anywhere', { timeout: 120_000 }, async () => {
    for (const name of ['cluster2', 'cluster3']) {
      const secret = await get(mc, SECRETS, NS, `${name}-kubeconfig`);
      const kubeconfig = Buffer.from(String((secret?.data as Record<string, string>).kubeconfig), 'base64').toString('utf8');
      const token = (yaml.load(kubeconfig) as { users: { user: { token: string } }[] }).users[0]!.user.token;
      const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
      const want = new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      assert.ok(exp * 1000 - Date.now() > 3600_000 && exp * 1000 - Date.now() <= 2 * 3600_000, 'a 2h token');
      let st: { credentialsExpireAt?: string; credentialsWarning?: string } | undefined;
      await until(async () => {
        st = (await get(mc, MESH_CLUSTERS, undefined, name))?.status as typeof st;
        return st?.credentialsExpireAt === want && st.credentialsWarning !== undefined ? [] : [JSON.stringify(st)];
      }, `${name} credential status`, WAIT);
      assert.equal(st!.credentialsWarning, `SPW214: the member credentials expire at ${want}, within 3h; run \`spillway cluster register ${name}\` again and apply its output to rotate them`);
      let events: KubeObject[] = [];
      await until(async () => {
        events = (await list(mc, EVENTS)).filter((e) => (e as unknown as { involvedObject?: { name?: string } }).involvedObject?.name === name);
        return events.length > 0 ? [] : ['no Event yet'];
      }, `${name} Warning Event`, WAIT);
      assert.deepEqual(events.map((e) => { const x = e as unknown as { type: string; reason: string; message: string; involvedObject: { kind: string } }; return [x.type, x.reason, x.involvedObject.kind, x.message]; }), [['Warning', 'KubeconfigExpiringCredentials', 'MeshCluster', st!.credentialsWarning]]);
      assert.ok(!JSON.stringify([st, events]).includes(token), 'no token in status or Events');
    }
    const metrics = await ctl!.metrics.registry.expose();
    assert.match(metrics, /spillway_cluster_credentials_expiry_timestamp_seconds\{cluster="cluster2"\} \d{10}/);
  });

  it('reorders, adds a cluster and removes one; unowned look-alikes stay untouched', { timeout: 180_000 }, async () => {
    // Someone else's objects in the same namespace and for the same host: never ours to change or prune.
    const lookalike = await create(clients[1]!, {
      apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry',
      metadata: { name: 'reviews-by-hand', namespace: 'default', labels: { app: 'reviews' } },
      spec: { hosts: ['reviews.global'], ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', location: 'MESH_INTERNAL' },
    });
    for (const ws of [['reviews-cluster2', 'reviews-cluster1'], ['reviews-cluster2', 'reviews-cluster1', 'reviews-cluster3'], ['reviews-cluster3', 'reviews-cluster2']]) {
      await applyAs(mc, failoverService('reviews', ws));
      await converged(fleet, `meshWorkloads ${ws.join(',')}`, { timeoutMs: WAIT });
      const s = await statusUntil('reviews', (x) => cond(x, 'Programmed')?.status === 'True' && x.clusters?.length === ws.length, 'status after update');
      const order = ws.map((w) => w.replace('reviews-', ''));
      assert.deepEqual(s.clusters?.find((c) => c.name === order[0])?.failoverOrder, order);
    }
    const after = await get(clients[1]!, SERVICE_ENTRIES, 'default', 'reviews-by-hand');
    assert.equal(after?.metadata.resourceVersion, lookalike.metadata.resourceVersion);
    assert.equal(after?.metadata.labels?.[LABEL_MANAGED_BY], undefined);
  });

  it('idle resyncs and a restarted controller write nothing', { timeout: 120_000 }, async () => {
    await ctl!.idle();
    const marks = clusters.map((c) => c.audit().length);
    const markedAt = new Date().toISOString();
    for (let i = 0; i < 3; i++) {
      const n = ctl!.reconcileCount;
      ctl!.trigger();
      await until(async () => (ctl!.reconcileCount > n ? [] : ['waiting']), 'a reconcile', WAIT);
      await ctl!.idle();
    }
    await ctl!.stop();
    ctl = await startController();
    await until(async () => {
      const r = ctl!.lastReport;
      return r && !r.skipped && r.outcomes.length === 3 && r.outcomes.every((o) => o.state === 'Synced') ? [] : [JSON.stringify(r?.outcomes.map((o) => o.state))];
    }, 'restarted controller in sync', WAIT);
    // The restarted controller also republishes live tier shares (status.serving) once it has listed every member's
    // EndpointSlices: wait for that, then for one more reconcile and the publish after it, so that a write it would
    // make is in the audit log before it is read (idle() covers reconciles, background writes and publishes).
    const serving = ctl!.serving!;
    await until(async () => (serving.attached().length === names.length ? [] : [serving.attached().join(',')]), 'EndpointSlices watched in every member', WAIT);
    await serving.waitSynced();
    for (const n of names) assert.ok(serving.endpoints(n, 'default', 'reviews'), `${n}: EndpointSlices listed`);
    const publishes = serving.publishes;
    const runs = ctl!.reconcileCount;
    ctl!.trigger();
    await until(async () => (ctl!.reconcileCount > runs ? [] : ['waiting']), 'a reconcile after the restart', WAIT);
    await ctl!.idle();
    assert.ok(serving.publishes > publishes, 'tier shares were computed again after every member was listed');
    // Lease renewals are the only writes an idle leader makes.
    const writes = clusters.flatMap((c, i) => writesBy(c.audit().slice(marks[i]), IDENTITIES)).filter((e) => e.objectRef?.resource !== 'leases');
    assert.deepEqual(writes.map((e) => `${e.verb} ${e.requestURI} by ${e.user.username} (${e.userAgent ?? ''}) at ${e.requestReceivedTimestamp ?? '?'} -> ${e.responseStatus?.code ?? '?'}`), [], `writes after the mark (taken at ${markedAt})`);
    assert.ok(clusters.some((c, i) => c.audit().length > marks[i]!), 'the audit log records requests');
  });

  it('a member that goes down is reported and left alone; the others keep converging; it catches up when back', { timeout: 240_000 }, async () => {
    const down = clusters[2]!;
    assert.ok((await list(clients[2]!, SERVICE_ENTRIES, `${LABEL_MANAGED_BY}=spillway`)).length > 0, 'cluster3 holds Spillway objects');
    outage.from = Date.now();
    await down.stop();
    await until(async () => {
      const st = (await get(mc, MESH_CLUSTERS, undefined, 'cluster3'))?.status as { reachable?: boolean } | undefined;
      return st?.reachable === false ? [] : [JSON.stringify(st)];
    }, 'cluster3 unreachable', WAIT);
    await applyAs(mc, failoverService('reviews', ['reviews-cluster1', 'reviews-cluster2', 'reviews-cluster3']));
    await converged(fleet, 'the reachable clusters converge', { only: ['cluster1', 'cluster2'], timeoutMs: WAIT });
    const s = await statusUntil('reviews', (x) => x.clusters?.find((c) => c.name === 'cluster3')?.syncState !== 'Synced', 'cluster3 reported');
    assert.notEqual(s.clusters?.find((c) => c.name === 'cluster3')?.syncState, 'Synced');
    const st = (await get(mc, MESH_CLUSTERS, undefined, 'cluster3'))?.status as { lastError?: string } | undefined;
    assert.match(st?.lastError ?? '', /ECONNREFUSED|connect|closed|reset/i);
    await down.restart();
    // Requests that reach a restarting server before it is ready can be refused while its RBAC caches fill.
    outage.until = Date.now();
    await converged(fleet, 'cluster3 caught up', { timeoutMs: 90_000 });
    await statusUntil('reviews', (x) => cond(x, 'Programmed')?.status === 'True' && x.clusters?.every((c) => c.syncState === 'Synced') === true, 'all synced');
  });

  it('deletes: objects are pruned everywhere; the discovered MeshWorkload of a deleted Service goes', { timeout: 120_000 }, async () => {
    await remove(mc, failoverService('reviews', []));
    await converged(fleet, 'after delete', { timeoutMs: WAIT, allowEmpty: true });
    for (const c of clients) assert.equal((await list(c, SERVICE_ENTRIES, `${LABEL_MANAGED_BY}=spillway`)).length, 0);
    await remove(clients[1]!, service('reviews'));
    await until(async () => ((await get(mc, MESH_WORKLOADS, 'default', 'reviews-cluster2')) ? ['still there'] : []), 'discovered workload removed', WAIT);
    await ctl!.idle();
  });

  it('RBAC: every request the identities made was allowed, and every rule they hold was used', { timeout: 60_000 }, async () => {
    const problems: string[] = [];
    const check = (who: string, granted: Set<string>, events: ReturnType<RealCluster['audit']>, user: string): void => {
      const { used, denied } = usedKeys(events, user);
      for (const d of denied) problems.push(`${who}: RBAC refused ${d}`);
      for (const k of used) if (!granted.has(k)) problems.push(`${who}: used ${k}, which the generated roles do not grant`);
      for (const k of granted) if (!used.has(k)) problems.push(`${who}: the generated roles grant ${k}, which the controller never used`);
    };
    // The management cluster is member cluster1 (`cluster register cluster1 --management`): the member roles are
    // bound to the controller's own ServiceAccount there.
    check('controller (management cluster)', ruleKeys([...controllerClusterRules(), ...controllerNamespaceRules(), ...memberClusterRules(), ...memberRootNamespaceRules()]), mgmt.audit(), CONTROLLER_USER);
    const starting = (e: { requestReceivedTimestamp?: string }): boolean => {
      const t = Date.parse(e.requestReceivedTimestamp ?? '');
      return t >= outage.from && t <= outage.until;
    };
    check('member identity (cluster2, cluster3)', ruleKeys([...memberClusterRules(), ...memberRootNamespaceRules()]), [...clusters[1]!.audit(), ...clusters[2]!.audit().filter((e) => !starting(e))], MEMBER_USER);
    // Every EnvoyFilter write happened in the root namespace (a write anywhere else would have been refused above).
    const efWrites = clusters.flatMap((c) => writesBy(c.audit(), IDENTITIES)).filter((e) => e.objectRef?.resource === 'envoyfilters');
    assert.ok(efWrites.length > 0, 'the controller wrote EnvoyFilters');
    assert.deepEqual([...new Set(efWrites.map((e) => e.objectRef?.namespace))], ['istio-system']);
    assert.deepEqual(problems, []);
  });

  it('RBAC: the identities hold exactly the generated roles (SelfSubjectRulesReview)', { timeout: 60_000 }, async () => {
    const review = async (c: RealCluster, token: string, baseline = new Set<string>(), namespace = NS): Promise<Set<string>> => {
      const client = new HttpKubeClient(kubeConfigFromText(c.tokenKubeconfig(token)), { timeoutMs: 10_000 });
      try {
        const r = (await client.request({ method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } } })) as { status: { resourceRules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[] } };
        const keys = ruleKeys(r.status.resourceRules.map((x) => ({ apiGroups: x.apiGroups ?? [], resources: x.resources ?? [], verbs: x.verbs })));
        return new Set([...keys].filter((k) => !baseline.has(k)));
      } finally {
        client.close();
      }
    };
    // What every authenticated identity may do (system:basic-user, system:discovery, ...): a ServiceAccount without bindings.
    const base = async (c: RealCluster): Promise<Set<string>> => {
      await c.client().request({ method: 'PATCH', path: `/api/v1/namespaces/${NS}/serviceaccounts/nobody`, query: { fieldManager: 'test' }, contentType: 'application/apply-patch+yaml', body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: NS } } });
      return review(c, await c.token(NS, 'nobody', 600));
    };
    const sorted = (k: Set<string>): string[] => [...k].sort();
    const baseMgmt = await base(mgmt);
    assert.ok(baseMgmt.size > 0, 'an identity without bindings still has the default discovery rules');
    const ctlToken = await mgmt.token(NS, CONTROLLER_NAME);
    // In its own namespace: its Secrets and Lease, the cluster-wide rules, and (the management cluster being a
    // member) the member ClusterRole, but no EnvoyFilter writes; in the root namespace no Secrets or Leases.
    assert.deepEqual(sorted(await review(mgmt, ctlToken, baseMgmt)), sorted(ruleKeys([...controllerClusterRules(), ...controllerNamespaceRules(), ...memberClusterRules()])));
    assert.deepEqual(sorted(await review(mgmt, ctlToken, baseMgmt, 'istio-system')), sorted(ruleKeys([...controllerClusterRules(), ...memberClusterRules(), ...memberRootNamespaceRules()])));
    assert.deepEqual(sorted(await review(mgmt, ctlToken, baseMgmt, 'default')), sorted(ruleKeys([...controllerClusterRules(), ...memberClusterRules()])));
    const member = clusters[1]!;
    const baseMember = await base(member);
    const memberToken = await member.token(NS, MEMBER_NAME);
    assert.deepEqual(sorted(await review(member, memberToken, baseMember)), sorted(ruleKeys(memberClusterRules())));
    assert.deepEqual(sorted(await review(member, memberToken, baseMember, 'istio-system')), sorted(ruleKeys([...memberClusterRules(), ...memberRootNamespaceRules()])));
  });

  it('kubectl auth can-i agrees, and the servers refuse writes outside the scope: EnvoyFilters outside the root namespace, Secrets', { timeout: 60_000 }, async () => {
    const c = clusters[1]!;
    const file = join(c.kubeconfigPath, '..', 'member-token.kubeconfig');
    writeFileSync(file, c.tokenKubeconfig(await c.token(NS, MEMBER_NAME)), { mode: 0o600 });
    const canI = async (args: string[]): Promise<string> => (await kubectl(c, ['auth', 'can-i', ...args], undefined, { kubeconfig: file })).stdout.trim();
    assert.equal(await canI(['patch', 'envoyfilters.networking.istio.io', '-n', 'istio-system']), 'yes');
    assert.equal(await canI(['patch', 'envoyfilters.networking.istio.io', '-n', 'default']), 'no');
    assert.equal(await canI(['patch', 'serviceentries.networking.istio.io', '-n', 'default']), 'yes');
    const secrets = await kubectl(c, ['auth', 'can-i', 'get', 'secrets', '-n', NS], undefined, { kubeconfig: file });
    assert.equal(secrets.stdout.trim(), 'no');
    assert.equal(secrets.code, 1);

    // Real writes (dry run: authorized as create, nothing stored), as each identity that holds the member roles.
    const envoyFilter = (namespace: string) => ({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'scope-probe', namespace }, spec: {} });
    const create = async (cl: RealCluster, token: string, namespace: string): Promise<number> => {
      const client = new HttpKubeClient(kubeConfigFromText(cl.tokenKubeconfig(token)), { timeoutMs: 10_000 });
      try {
        await client.request({ method: 'POST', path: `/apis/networking.istio.io/v1alpha3/namespaces/${namespace}/envoyfilters`, query: { dryRun: 'All' }, body: envoyFilter(namespace) });
        return 201;
      } catch (e) {
        if (isKubeApiError(e)) return e.status;
        throw e;
      } finally {
        client.close();
      }
    };
    const memberToken = await c.token(NS, MEMBER_NAME);
    const ctlToken = await mgmt.token(NS, CONTROLLER_NAME);
    assert.deepEqual(
      [await create(c, memberToken, 'istio-system'), await create(c, memberToken, 'default'), await create(c, memberToken, NS), await create(mgmt, ctlToken, 'istio-system'), await create(mgmt, ctlToken, 'default')],
      [201, 403, 403, 201, 403],
    );
  });
});
