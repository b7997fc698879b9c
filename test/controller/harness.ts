/**
 * A management cluster and N member clusters, each a Kubernetes API double on 127.0.0.1, with Spillway's CRDs
 * in the management cluster, Istio's CRDs (the five kinds Spillway writes) in the members, and each member
 * registered as a MeshCluster whose kubeconfig lives in a Secret. Plus helpers to compare every member's live
 * Spillway objects with `renderDetailed` of the management cluster's inputs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KubeDouble } from '../double/index.ts';
import { istioCrdDocuments } from '../support/istio-crds.ts';
import { renderDetailed } from '../../src/core/render.ts';
import { customResourceDefinitions } from '../../src/api/crds.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { LABEL_MANAGED_BY } from '../../src/api/types.ts';
import { HttpKubeClient } from '../../src/kube/client.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { noJitter } from '../../src/kube/clock.ts';
import { FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS, MESH_WORKLOAD_GRANTS, OUTPUT_KINDS, ISTIO_GROUP, collectionPath, objectKey, objectPath, typeOfObject } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { ControllerOptions } from '../../src/controller/controller.ts';
import { jsonLogger } from '../../src/controller/log.ts';

export const NS = 'spillway-system';
/** See trace(). */
const TRACE = !!process.env.SPILLWAY_TEST_TRACE;
const WANTED = new Set(OUTPUT_KINDS.map((k) => `${k.plural}.${ISTIO_GROUP}`));
let istioCrds: KubeObject[] | undefined;

/** The Istio CRDs of the kinds Spillway writes, as prepareMember installs them. */
export function loadIstioCrds(): KubeObject[] {
  istioCrds ??= (istioCrdDocuments() as KubeObject[]).filter((d) => d && d.kind === 'CustomResourceDefinition' && WANTED.has(d.metadata.name));
  return istioCrds;
}

export function clientFor(d: KubeDouble, userAgent = 'spillway-test'): HttpKubeClient {
  return new HttpKubeClient(kubeConfigFromText(d.kubeconfig()), { timeoutMs: 30_000, userAgent });
}

export async function create(c: KubeClient, o: KubeObject): Promise<KubeObject> {
  const t = typeOfObject(o);
  return (await c.request({ method: 'POST', path: collectionPath(t, o.metadata.namespace), body: o })) as KubeObject;
}

/** Server-side apply as a user would (field manager `kubectl`). */
export async function applyAs(c: KubeClient, o: KubeObject, manager = 'kubectl'): Promise<KubeObject> {
  const t = typeOfObject(o);
  return (await c.request({ method: 'PATCH', path: objectPath(t, o.metadata.name, o.metadata.namespace), query: { fieldManager: manager, force: true }, contentType: 'application/apply-patch+yaml', body: o })) as KubeObject;
}

export async function remove(c: KubeClient, o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<void> {
  await c.request({ method: 'DELETE', path: objectPath(typeOfObject(o), o.metadata.name, o.metadata.namespace) });
}

export async function get(c: KubeClient, t: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return (await c.request({ method: 'GET', path: objectPath(t, name, namespace) })) as KubeObject;
  } catch {
    return undefined;
  }
}

export async function list(c: KubeClient, t: ResourceType, labelSelector?: string): Promise<KubeObject[]> {
  const r = (await c.request({ method: 'GET', path: collectionPath(t), query: { labelSelector } })) as { items: KubeObject[] };
  const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
  return r.items.map((i) => ({ ...i, apiVersion: i.apiVersion ?? apiVersion, kind: i.kind ?? t.kind }));
}

export interface Fleet {
  mgmt: KubeDouble;
  members: KubeDouble[];
  mc: HttpKubeClient;
  /** Member clients, in cluster order (cluster1, cluster2, ...). */
  clients: HttpKubeClient[];
  names: string[];
  controllers: Controller[];
  startController(opts?: Partial<ControllerOptions>): Promise<Controller>;
  close(): Promise<void>;
}

/**
 * Informer timing for tests: short server-side watch timeouts and backoffs, so reconnects happen often. The watchdog
 * and list timeouts are not short: they judge the server, and every server in these tests shares one event loop
 * with the controllers and the test itself. On a loaded two-core machine that loop lags by seconds, a 1.5 s
 * watchdog (the doubles send a bookmark each second) then declared healthy watches stalled and a 3 s list timeout
 * abandoned lists the server was still building; the reconnects and re-lists added to the load until a
 * controller's first list never finished (`start()` waited forever). The watchdog outlasts a quiet watch's
 * server-side end (watchTimeoutSeconds x 1.25) and many bookmark periods; a list may take as long as in production.
 */
export const FAST_TIMING = { watchTimeoutSeconds: 5, stallTimeoutMs: 10_000, backoffBaseMs: 20, backoffMaxMs: 250, listTimeoutMs: 30_000, pageSize: 500 };
export const FAST_SCHEDULER = { debounceMs: 5, minIntervalMs: 10, resyncMs: 60_000, backoffBaseMs: 20, backoffMaxMs: 250 };

export function meshCluster(name: string, i: number, secret?: string): KubeObject {
  return {
    apiVersion: 'spillway.dev/v1alpha1',
    kind: 'MeshCluster',
    metadata: { name },
    spec: { gateway: { address: `192.0.2.${i}`, port: 32000, listenPort: 8443 }, ...(secret ? { kubeconfigSecret: { name: secret } } : {}) },
  };
}

export async function registerCluster(f: Pick<Fleet, 'mc'>, name: string, i: number, d: KubeDouble): Promise<void> {
  await create(f.mc, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${name}-kubeconfig`, namespace: NS },
    type: 'Opaque',
    data: { kubeconfig: Buffer.from(d.kubeconfig()).toString('base64') },
  });
  await create(f.mc, meshCluster(name, i, `${name}-kubeconfig`));
}

export async function prepareMember(d: KubeDouble): Promise<void> {
  const c = clientFor(d);
  for (const crd of loadIstioCrds()) await create(c, crd);
  await create(c, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
  c.close();
}

export async function startFleet(n = 3, opts: { register?: number } = {}): Promise<Fleet> {
  const mgmt = await KubeDouble.start({ name: 'management' });
  const members: KubeDouble[] = [];
  // Members serve HTTPS: the controller accepts only https servers with a CA in member kubeconfigs.
  for (let i = 1; i <= n; i++) members.push(await KubeDouble.start({ name: `cluster${i}`, tls: true }));
  const mc = clientFor(mgmt);
  for (const crd of customResourceDefinitions()) await create(mc, crd);
  await create(mc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await Promise.all(members.map(prepareMember));
  const names = members.map((_, i) => `cluster${i + 1}`);
  for (let i = 0; i < (opts.register ?? n); i++) await registerCluster({ mc }, names[i]!, i + 1, members[i]!);
  const clients = members.map((d) => clientFor(d));
  const controllers: Controller[] = [];
  const fleet: Fleet = {
    mgmt,
    members,
    mc,
    clients,
    names,
    controllers,
    async startController(o = {}) {
      const identity = o.identity ?? `replica-${controllers.length + 1}`;
      const c = new Controller({
        management: clientFor(mgmt, `spillway/${identity}`),
        // Request timeouts detect a hung server, not a slow one: short ones fail (and repeat) writes on a loaded machine.
        memberClient: (config) => new HttpKubeClient(config, { timeoutMs: 15_000, userAgent: `spillway/${identity}` }),
        identity,
        namespace: NS,
        jitter: noJitter,
        timing: FAST_TIMING,
        scheduler: FAST_SCHEDULER,
        leaderElection: false,
        // The continuous checks read every member each period and add a condition: off unless a test is about them
        // (test/controller/checks.test.ts), so that other tests' request and write counts stay theirs.
        checks: false,
        // Traced runs keep the controllers' own logs (info and up) next to the waits.
        ...(TRACE ? { log: jsonLogger((l) => process.stderr.write(l), 'info', { replica: identity }) } : {}),
        ...o,
      });
      controllers.push(c);
      // start() resolves once the management cluster's inputs are listed: bounded, so a list that never finishes
      // fails here, saying so, instead of running into the test's timeout.
      await step(`controller ${identity} started`, () => within(c.start(), 60_000, `controller ${identity}: management cluster not listed`));
      return c;
    },
    async close() {
      await Promise.all(controllers.map((c) => c.stop()));
      mc.close();
      for (const c of clients) c.close();
      await Promise.all([mgmt, ...members].map((d) => d.close()));
    },
  };
  return fleet;
}

/** The management cluster's inputs, as the controller reads them. */
export async function inputs(f: Pick<Fleet, 'mc'>): Promise<KubeObject[]> {
  return [...(await list(f.mc, MESH_CLUSTERS)), ...(await list(f.mc, MESH_WORKLOADS)), ...(await list(f.mc, FAILOVER_SERVICES)), ...(await list(f.mc, MESH_WORKLOAD_GRANTS))];
}

const SERVER_SET = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields'];

/** A live object minus what the server sets. */
export function strip(o: KubeObject): KubeObject {
  const metadata: Record<string, unknown> = { ...o.metadata };
  for (const k of SERVER_SET) delete metadata[k];
  const { status: _s, ...rest } = o;
  return { ...rest, metadata: metadata as unknown as KubeObject['metadata'] };
}

export interface Expectation {
  /** Only these clusters are compared (the others may be down or deliberately behind). */
  only?: readonly string[];
  /**
   * Render messages (errors or warnings) the test expects, as `CODE` or `CODE Kind/namespace/name`. Any other error
   * or warning in the expected render is a problem: the controller must not be judged against a render made from
   * inputs the test did not mean (a workload not discovered yet, a typo).
   */
  allow?: readonly string[];
  /** The expected render may hold no object at all (everything deleted). Otherwise an empty expectation fails. */
  allowEmpty?: boolean;
  timeoutMs?: number;
}

/**
 * Differences between what renderDetailed wants in each member and what is there (empty: converged). Never empty
 * vacuously: an expected render that holds no object in the compared clusters, or that has errors or warnings the
 * test did not declare, is itself reported as a problem.
 */
export async function divergence(f: Pick<Fleet, 'mc' | 'clients' | 'names'>, only?: readonly string[], e: Omit<Expectation, 'only' | 'timeoutMs'> = {}): Promise<string[]> {
  const r = renderDetailed(await inputs(f));
  const desired = r.clusters;
  const problems: string[] = [];
  const allowed = (m: { code: string; object: string }): boolean => (e.allow ?? []).some((a) => a === m.code || a === `${m.code} ${m.object}`);
  for (const m of r.messages) {
    if (m.level === 'info' || allowed(m)) continue;
    problems.push(`expected render has ${m.level} ${m.code} ${m.object}: ${m.message}`);
  }
  const compared = f.names.filter((n) => !only || only.includes(n));
  if (!e.allowEmpty && compared.every((n) => (desired[n] ?? []).length === 0)) problems.push(`expected render is empty in ${compared.join(', ')}`);
  for (const [i, name] of f.names.entries()) {
    if (only && !only.includes(name)) continue;
    const c = f.clients[i]!;
    const want = new Map((desired[name] ?? []).map((o) => [objectKey(o), o]));
    const have = new Map<string, KubeObject>();
    for (const k of OUTPUT_KINDS) {
      // The first version the member serves (a member's Istio CRDs may serve only older versions).
      let listed: KubeObject[] | undefined;
      for (const version of k.versions) {
        const t: ResourceType = { group: ISTIO_GROUP, version, kind: k.kind, plural: k.plural, namespaced: true };
        try {
          listed = await list(c, t, `${LABEL_MANAGED_BY}=spillway`);
          break;
        } catch {
          continue;
        }
      }
      if (!listed) {
        problems.push(`${name}: ${k.plural} not served`);
        continue;
      }
      for (const o of listed) have.set(objectKey(o), o);
    }
    for (const [key, w] of want) {
      if (!have.has(key)) {
        problems.push(`${name}: missing ${key}`);
        continue;
      }
      const live = await get(c, typeOfObject(w), w.metadata.namespace, w.metadata.name);
      try {
        assert.deepEqual(live && strip(live), w);
      } catch {
        problems.push(`${name}: differs ${key}: live ${JSON.stringify(live && strip(live))} want ${JSON.stringify(w)}`);
      }
    }
    for (const key of have.keys()) if (!want.has(key)) problems.push(`${name}: left over ${key}`);
  }
  return problems;
}

/**
 * With SPILLWAY_TEST_TRACE set, each wait and step says on stderr what it waited for, how long and how many checks it
 * took (the soak script sets it, so a failed run's log shows where its time went).
 */
export function trace(msg: string): void {
  if (TRACE) process.stderr.write(`[trace ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}

/**
 * Milliseconds this thread has spent waiting for a CPU (Linux: /proc/thread-self/schedstat, second field; 0 where
 * that is not available). The doubles, the controllers and the test share this thread.
 */
function starvedMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e6 || 0;
  } catch {
    return 0;
  }
}

/**
 * Time since creation that this thread could use: wall time minus the time it waited for a CPU. The waits below are
 * bounded in it: on a machine loaded many times over (the soak's busy processes, other suites, `nice`), a minute of
 * wall time can give the servers and controllers under test a few seconds, and a wall-clock bound then fails a test
 * that was making progress. A hang still fails in the same time, because a hung process does not wait for a CPU.
 */
export function runnableClock(): { elapsed(): number; wall(): number } {
  const t0 = Date.now();
  const s0 = starvedMs();
  return { elapsed: () => Date.now() - t0 - (starvedMs() - s0), wall: () => Date.now() - t0 };
}

/** `p`, or a failure saying `what` when it takes longer than `ms` of runnable time (see runnableClock). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const clock = runnableClock();
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    const tick = (): void => {
      if (settled) return;
      if (clock.elapsed() > ms) reject(new Error(`${what} within ${ms} ms (${clock.wall()} ms wall time)`));
      else timer = setTimeout(tick, Math.max(25, Math.min(1_000, ms - clock.elapsed())));
    };
    tick();
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

/** Runs `fn`, tracing how long it took. */
export async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    trace(`${what}: ${Date.now() - t0} ms`);
  }
}

/**
 * Polls `check` until it returns an empty list, or fails with the last problems once `timeoutMs` of runnable time
 * (see runnableClock) has passed.
 */
export async function until(check: () => Promise<string[]>, what: string, timeoutMs = 60_000): Promise<void> {
  const clock = runnableClock();
  let last: string[] = [];
  let checks = 0;
  let slowest = 0;
  for (;;) {
    const c0 = Date.now();
    last = await check();
    checks++;
    slowest = Math.max(slowest, Date.now() - c0);
    const took = `${clock.wall()} ms (${Math.round(clock.elapsed())} ms runnable), ${checks} checks (slowest ${slowest} ms)`;
    if (last.length === 0) {
      trace(`${what}: reached in ${took}`);
      return;
    }
    if (clock.elapsed() > timeoutMs) {
      trace(`${what}: NOT reached in ${took}: ${last[0]}`);
      assert.fail(`${what}: not reached in ${timeoutMs} ms of runnable time (${clock.wall()} ms wall time):\n${last.slice(0, 10).join('\n')}`);
    }
    // Never more than about half the event loop: the servers and controllers being watched share it.
    await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(25, Date.now() - c0))));
  }
}

/** Waits until every compared member holds exactly the (non-empty, error-free) render of the management cluster's inputs. */
export async function converged(f: Pick<Fleet, 'mc' | 'clients' | 'names'>, what = 'convergence', e: Expectation = {}): Promise<void> {
  await until(() => divergence(f, e.only, e), what, e.timeoutMs);
}

/**
 * A test's timeout from the bounds of its waits (until, converged, within: runnable time, see runnableClock). The waits
 * fail first, naming what they waited for; this wall-clock backstop ends a test hung outside a wait, and leaves the
 * waits room on a machine that gives this thread a quarter of its wall time.
 */
export function fits(...boundsMs: number[]): { timeout: number } {
  return { timeout: 4 * boundsMs.reduce((a, b) => a + b, 0) + 60_000 };
}

/**
 * Per-test timeout for controller tests: generous for a heavily loaded two-core machine (waits poll, so a healthy
 * run is fast either way), finite so a hang fails.
 */
export const TEST_TIMEOUT = { timeout: 300_000 };

export function service(name: string, namespace = 'default', port = 9080, portName = 'http'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ name: portName, port, protocol: 'TCP' }] } };
}

export function failoverService(name: string, workloads: string[], namespace = 'default'): KubeObject {
  return { apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name, namespace }, spec: { meshWorkloads: workloads } };
}

export function meshWorkload(name: string, cluster: string, svc: string, namespace = 'default', port = 9080): KubeObject {
  return { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshWorkload', metadata: { name, namespace }, spec: { cluster, service: { name: svc, namespace }, ports: [{ name: 'http', number: port, protocol: 'HTTP' }], selector: { app: svc } } };
}
