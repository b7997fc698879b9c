/**
 * Helpers for the suites that run against real API servers (test/support/real-cluster.ts): kubectl of the same
 * release, the audit log read as "what did this identity call", and RBAC rules expanded to comparable keys.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, RealCluster } from '../support/real-cluster.ts';
import { realKubectl } from '../support/real-cluster.ts';
import type { PolicyRule } from '../../src/install/rbac.ts';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/main.ts';
import type { HttpKubeClient } from '../../src/kube/client.ts';
import { FAILOVER_SERVICES, ISTIO_GROUP, MESH_CLUSTERS, MESH_WORKLOADS, OUTPUT_KINDS } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import { list, until } from '../controller/harness.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const home = mkdtempSync(join(tmpdir(), 'spillway-kubectl-home-'));

/** Runs the release's kubectl against a cluster (admin kubeconfig unless `kubeconfig` is given). */
export function kubectl(c: RealCluster, args: string[], input?: string, opts: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<Run> {
  const kubeconfig = opts.kubeconfig ?? c.kubeconfigPath;
  return new Promise((resolve) => {
    const child = execFile(
      realKubectl(),
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(home, c.name)}`, ...args],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: { ...process.env, HOME: home, KUBECONFIG: kubeconfig } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function ok(r: Run, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** `group/resource[/subresource]:verb`, the unit RBAC grants. */
export function ruleKeys(rules: readonly PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g}/${res}:${v}`);
  return out;
}

/**
 * What an identity was authorized for, from the audit log. A server-side apply that created its object (201)
 * was authorized as `create` as well as `patch`.
 */
export function usedKeys(events: readonly AuditEvent[], username: string): { used: Set<string>; denied: string[] } {
  const used = new Set<string>();
  const denied: string[] = [];
  for (const e of events) {
    if (e.user.username !== username || !e.objectRef?.resource || e.stage !== 'ResponseComplete') continue;
    if (e.objectRef.resource.startsWith('selfsubject')) continue; // the test's own SelfSubjectRulesReview
    const res = `${e.objectRef.apiGroup ?? ''}/${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ''}`;
    const code = e.responseStatus?.code ?? 0;
    if (code === 403) {
      denied.push(`${e.verb} ${e.requestURI}`);
      continue;
    }
    used.add(`${res}:${e.verb}`);
    if (e.verb === 'patch' && code === 201) used.add(`${res}:create`);
  }
  return { used, denied };
}

/** Write requests (create/update/patch/delete) by these users. */
export function writesBy(events: readonly AuditEvent[], users: ReadonlySet<string>): AuditEvent[] {
  return events.filter((e) => e.stage === 'ResponseComplete' && users.has(e.user.username) && WRITE_VERBS.has(e.verb));
}

export const serviceAccountUser = (namespace: string, name: string): string => `system:serviceaccount:${namespace}:${name}`;

/** Runs a spillway command in-process; a non-zero exit fails the test with what it printed on stderr. */
export async function cli(args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  assert.equal(code, 0, `spillway ${args.join(' ')}: ${err}`);
  return out;
}

/**
 * A CRD reports Established a moment before its storage serves (429 "storage is (re)initializing"): waits until
 * every kind the tests and the controller use lists, Spillway's in the management cluster and Istio's in every
 * member, instead of racing the first create.
 */
export async function waitServed(mc: HttpKubeClient, clients: HttpKubeClient[], names: readonly string[], waitMs: number): Promise<void> {
  const servedIn = (c: HttpKubeClient, t: ResourceType, where: string) => until(async () => {
    try {
      await list(c, t);
      return [];
    } catch (e) {
      return [`${t.plural} in ${where}: ${(e as Error).message}`];
    }
  }, `${t.plural} served in ${where}`, waitMs);
  for (const t of [FAILOVER_SERVICES, MESH_CLUSTERS, MESH_WORKLOADS]) await servedIn(mc, t, 'management');
  for (const [i, c] of clients.entries()) {
    for (const kind of OUTPUT_KINDS) await servedIn(c, { group: ISTIO_GROUP, version: kind.versions[0]!, kind: kind.kind, plural: kind.plural, namespaced: true }, names[i]!);
  }
}
