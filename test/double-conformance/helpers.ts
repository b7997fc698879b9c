// Shared helpers for the double's conformance tests: real clients (client-node, kubectl) against it, and the
// same tests against a real kube-apiserver (test/support/real-cluster.ts), so each difference between the
// double and Kubernetes is a failing test.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { KubeDouble } from '../double/index.ts';
import type { KubeDoubleOptions } from '../double/index.ts';
import { startRealClusters } from '../support/real-cluster.ts';
import type { RealCluster } from '../support/real-cluster.ts';

/** What a conformance suite runs against: the double, or a real kube-apiserver of the pinned release. */
export type Target = 'double' | 'real';
export const TARGETS: readonly Target[] = ['double', 'real'];
/** Real servers start slowly on shared machines; suites that start one give their hooks this long. */
export const REAL_START_MS = 240_000;

export interface Harness {
  target: Target;
  /** The double; reading it on a real target throws (the test is double-only). */
  double: KubeDouble;
  /** The real cluster; reading it on the double throws. */
  real: RealCluster;
  kc: k8s.KubeConfig;
  dir: string;
  kubeconfigPath: string;
  close(): Promise<void>;
}

export async function startHarness(opts: KubeDoubleOptions = {}, target: Target = 'double'): Promise<Harness> {
  if (target === 'real') {
    const [real] = await startRealClusters(['conformance']);
    const dir = mkdtempSync(join(tmpdir(), 'kube-real-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, real!.kubeconfig());
    const kc = new k8s.KubeConfig();
    kc.loadFromString(real!.kubeconfig());
    return {
      target,
      get double(): KubeDouble {
        throw new Error('this test needs the double (fault hooks or request log)');
      },
      real: real!,
      kc,
      dir,
      kubeconfigPath,
      close: async () => {
        await real!.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const double = await KubeDouble.start(opts);
  const dir = mkdtempSync(join(tmpdir(), 'kube-double-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, double.kubeconfig());
  const kc = new k8s.KubeConfig();
  kc.loadFromString(double.kubeconfig());
  return {
    target,
    double,
    get real(): RealCluster {
      throw new Error('this test needs a real API server');
    },
    kc,
    dir,
    kubeconfigPath,
    close: async () => {
      await double.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Status body of a failed client-node call. */
export function statusOf(e: unknown): { code: number; reason?: string; message?: string; details?: { causes?: { reason: string; field?: string; message: string }[] } } {
  if (!(e instanceof k8s.ApiException)) throw e;
  // A real server answers paths it does not serve at all (a group with no CRD yet) with a plain-text 404.
  let body: unknown = e.body;
  if (typeof e.body === 'string') {
    try {
      body = JSON.parse(e.body);
    } catch {
      body = { message: e.body.trim() };
    }
  }
  return { code: e.code, ...(body as object) };
}

/** Runs a client-node call expected to fail and returns its Status. */
export async function failure(p: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await p;
  } catch (e) {
    return statusOf(e);
  }
  throw new Error('expected the call to fail');
}

/** Polls until `pred` holds (bounded); throws with `what` on timeout. */
export async function waitFor(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Awaits a promise, failing after `ms` instead of hanging the suite. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

export interface WatchEvent {
  type: string;
  object: k8s.KubernetesObject & { metadata?: k8s.V1ObjectMeta; code?: number; reason?: string };
}

/** A client-node Watch that records events; `done` resolves with the error (or null) when it ends. */
export async function recordWatch(kc: k8s.KubeConfig, path: string, query: Record<string, string | number | boolean>) {
  const events: WatchEvent[] = [];
  let ended: Error | null | undefined;
  let resolveDone: (e: Error | null) => void = () => {};
  const done = new Promise<Error | null>((r) => (resolveDone = r));
  const w = new k8s.Watch(kc);
  const controller = await w.watch(
    path,
    query,
    (type, object) => events.push({ type, object: object as WatchEvent['object'] }),
    (err: unknown) => {
      ended = err instanceof Error ? err : err ? new Error(String(err)) : null;
      resolveDone(ended);
    },
  );
  return {
    events,
    done,
    get ended() {
      return ended !== undefined;
    },
    stop: () => controller.abort(),
  };
}

/** kubectl to test with; KUBE_DOUBLE_KUBECTL points elsewhere (e.g. an unpacked older release). */
export const KUBECTL = process.env.KUBE_DOUBLE_KUBECTL ?? '/usr/bin/kubectl';
export const hasKubectl = existsSync(KUBECTL);
export const NO_KUBECTL = `kubectl not installed at ${KUBECTL} (CI installs it): skipping kubectl conformance`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against a harness with its own discovery cache, bounded by a timeout. */
export function kubectl(h: Harness, args: string[], input?: string, timeoutMs = 20000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      [`--kubeconfig=${h.kubeconfigPath}`, `--cache-dir=${join(h.dir, 'cache')}`, ...args],
      { timeout: timeoutMs, env: { ...process.env, HOME: h.dir, KUBECONFIG: h.kubeconfigPath } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Asserts a kubectl run succeeded and returns its stdout. */
export function ok(r: Run, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** kubectl's client minor version (flags and defaults differ across releases). */
export async function kubectlMinor(h: Harness): Promise<number> {
  const v = await kubectl(h, ['version', '--client', '-o', 'json']);
  return Number((JSON.parse(v.stdout) as { clientVersion: { minor: string } }).clientVersion.minor.replace(/\D/g, ''));
}

/**
 * A Widget manifest as JSON text (kubectl reads JSON as YAML). No `labels` key unless there are labels: an empty
 * map makes every server-side apply of the manifest a write (see ssa.test.ts).
 */
export function widgetJson(name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}): string {
  return JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, ...(Object.keys(labels).length ? { labels } : {}) }, spec });
}

/** Starts `kubectl ... -w` and collects its stdout lines until stopped (or the timeout kills it). */
export function kubectlWatch(h: Harness, args: string[], timeoutMs = 15000) {
  const child = spawn(KUBECTL, [`--kubeconfig=${h.kubeconfigPath}`, `--cache-dir=${join(h.dir, 'cache')}`, ...args], {
    env: { ...process.env, HOME: h.dir, KUBECONFIG: h.kubeconfigPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return {
    lines,
    get stderr() {
      return stderr;
    },
    exited,
    stop: async () => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: {
                  size: { type: 'integer', minimum: 1 },
                  color: { type: 'string', enum: ['red', 'blue'], default: 'red' },
                  tags: { type: 'array', items: { type: 'string' } },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  ports: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['name'],
                    items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, port: { type: 'integer' } } },
                  },
                },
              },
              status: { type: 'object', properties: { ready: { type: 'boolean' }, observedGeneration: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};

/**
 * A CRD written in wire (JSON) form, as client-node's typed model. Passing wire JSON straight to the typed
 * API loses every field whose model name differs (`default` is `_default`, `x-kubernetes-list-type` is
 * `x_kubernetes_list_type`, `enum` is `_enum`): the serializer only knows the model names.
 */
export function crdModel(wire: object): k8s.V1CustomResourceDefinition {
  return k8s.loadYaml<k8s.V1CustomResourceDefinition>(JSON.stringify(wire));
}

/**
 * Waits until a CRD's resource is served (`gone`: no longer served). The double serves a CRD the moment it is
 * created; a real server establishes it a moment later and removes it after its objects are deleted.
 */
export async function waitServed(kc: k8s.KubeConfig, group: string, version: string, plural: string, gone = false): Promise<void> {
  const co = kc.makeApiClient(k8s.CustomObjectsApi);
  const end = Date.now() + 30_000;
  for (;;) {
    let served: boolean;
    try {
      await co.listClusterCustomObject({ group, version, plural });
      served = true;
    } catch (e) {
      // 429 "storage is (re)initializing": served, but its watch cache is still filling.
      if (!(e instanceof k8s.ApiException) || (e.code !== 404 && e.code !== 429)) throw e;
      served = e.code === 429 ? gone : false;
    }
    if (served !== gone) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${plural}.${group} to be ${gone ? 'gone' : 'served'}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function createWidgetCRD(kc: k8s.KubeConfig): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  await api.createCustomResourceDefinition({ body: crdModel(WIDGET_CRD) });
  await waitServed(kc, 'example.com', 'v1', 'widgets');
}
