/** Builders for input documents, so each test states only what it is about. */
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../../src/api/types.ts';
import { parseDocuments } from '../../src/cli/inputs.ts';
import type { SourcedDocument } from '../../src/analyze/snapshot.ts';

export const REPO = new URL('../../', import.meta.url);

export function example(name: string): SourcedDocument[] {
  const path = new URL(`examples/${name}`, REPO);
  return parseDocuments(readFileSync(path, 'utf8'), `examples/${name}`);
}

type Spec = Record<string, unknown>;

export function meshCluster(name: string, spec: Spec = {}): KubeObject {
  const n = name.length;
  return { apiVersion: 'spillway.dev/v1alpha1', kind: 'MeshCluster', metadata: { name }, spec: { gateway: { address: `192.0.2.${10 + n}`, port: 32000, servicePort: 443 }, ...spec } };
}

export function meshWorkload(name: string, cluster: string, opts: { service?: string; namespace?: string; ports?: { name: string; number: number; protocol: string; targetPort?: number | string }[]; selector?: Record<string, string> | null } = {}): KubeObject {
  return {
    apiVersion: 'spillway.dev/v1alpha1',
    kind: 'MeshWorkload',
    metadata: { name, namespace: opts.namespace ?? 'default' },
    spec: { cluster, service: { name: opts.service ?? 'reviews', namespace: opts.namespace ?? 'default' }, ports: opts.ports ?? [{ name: 'http', number: 9080, protocol: 'HTTP' }], ...(opts.selector === null ? {} : { selector: opts.selector ?? { app: opts.service ?? 'reviews' } }) },
  };
}

export function failoverService(name: string, workloads: string[], spec: Spec = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'spillway.dev/v1alpha1', kind: 'FailoverService', metadata: { name, namespace: 'default', ...meta }, spec: { meshWorkloads: workloads, ...spec } };
}

/** N clusters c1..cN each with a `reviews` workload, and one FailoverService over them in order. */
export function scenario(n: number, opts: { clusterSpec?: (i: number) => Spec; fsSpec?: Spec } = {}): KubeObject[] {
  const docs: KubeObject[] = [];
  const names: string[] = [];
  for (let i = 1; i <= n; i++) {
    const c = `c${i}`;
    const base = meshCluster(c);
    docs.push({ ...base, spec: { ...(base.spec as Spec), ...(opts.clusterSpec?.(i) ?? {}) } });
    docs.push(meshWorkload(`reviews-${c}`, c));
    names.push(`reviews-${c}`);
  }
  docs.push(failoverService('reviews', names, opts.fsSpec ?? {}));
  return docs;
}

export function byKind(objs: KubeObject[], kind: string): KubeObject[] {
  return objs.filter((o) => o.kind === kind);
}

export function one(objs: KubeObject[], kind: string, name: string): KubeObject {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** Reads a nested property without `any`. */
export function at(o: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = o;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

export function addPatch(ef: KubeObject): Record<string, unknown> {
  const patches = at(ef, 'spec', 'configPatches') as { patch: { operation: string; value?: Record<string, unknown> } }[];
  const add = patches.find((p) => p.patch.operation === 'ADD');
  if (!add?.patch.value) throw new Error('EnvoyFilter has no ADD patch');
  return add.patch.value;
}
