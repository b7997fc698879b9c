/**
 * One member cluster as a real mesh has it, for the oracle: Spillway's rendered objects for that cluster
 * plus the Kubernetes objects that cluster would hold for the same inputs (each MeshWorkload's Service,
 * pods and EndpointSlice; a client pod; the gateway Service and pod its MeshCluster selects) and a
 * MeshConfig with DNS capture on.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { KubeObject, MeshCluster, MeshWorkload } from '../../src/api/types.ts';
import { render } from '../../src/core/render.ts';
import type { RenderResult } from '../../src/core/render.ts';
import { client, gateway, meshConfig, namespace, runOracle, workload } from '../support/oracle.ts';
import type { GatewayOptions, MeshOptions, OracleInput, OracleResult, PortSpec, ProxyRequest, Zone } from '../support/oracle.ts';

export const ZONE_A: Zone = { region: 'region1', zone: 'zone-a' };
export const ZONE_B: Zone = { region: 'region1', zone: 'zone-b' };
export const ZONE_C: Zone = { region: 'region1', zone: 'zone-c' };

/** Per-test timeout of an oracle test (a cold oracle process on a loaded machine takes seconds). */
export const ORACLE_TEST_TIMEOUT = 180_000;

export function loadExample(name: string): unknown[] {
  return yaml.loadAll(readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8')).filter((d) => d !== null && d !== undefined);
}

export function renderOk(docs: readonly unknown[]): RenderResult {
  const r = render(docs);
  const errors = r.messages.filter((m) => m.level === 'error');
  if (errors.length) throw new Error(`render failed: ${errors.map((m) => `${m.code} ${m.message}`).join('; ')}`);
  return r;
}

const isKind = <T extends KubeObject>(kind: string) => (d: unknown): d is T => typeof d === 'object' && d !== null && (d as { kind?: unknown }).kind === kind;

export interface MemberOptions {
  /** Zones of each service's pods in this cluster (default: one pod in ZONE_A). */
  zones?: Zone[];
  /** The client pod's zone (default ZONE_A) and namespace (default: the first workload's). */
  clientZone?: Zone;
  clientNamespace?: string;
  /** The gateway chart (default: istioctl's ingress chart; east-west when the cluster selects one). */
  chart?: GatewayOptions['chart'];
  mesh?: MeshOptions;
  /** User objects, placed before Spillway's (so older, which matters when istiod picks one of several). */
  userObjects?: unknown[];
  /** Annotations on each workload's Service (e.g. `networking.istio.io/exportTo`). */
  serviceAnnotations?: Record<string, string>;
  /** User objects placed after Spillway's (newer). */
  userObjectsAfter?: unknown[];
}

export interface Member {
  input: OracleInput;
  client: string;
  gateway: string;
  /** The gateway's Service (its ports decide where istiod makes the gateway listen). */
  gatewayService: KubeObject;
  rendered: KubeObject[];
}

function servicePorts(w: MeshWorkload): PortSpec[] {
  return w.spec.ports.map((p) => ({ name: p.name, port: p.number, appProtocol: p.protocol.toLowerCase() }));
}

/** The oracle input for member cluster `cluster` of `docs` (rendered with `result`, default `render(docs)`). */
export function member(docs: readonly unknown[], cluster: string, opts: MemberOptions = {}, result: RenderResult = renderOk(docs)): Member {
  const rendered = result.clusters[cluster];
  if (!rendered) throw new Error(`no cluster ${cluster} in the render result`);
  const mc = docs.filter(isKind<MeshCluster>('MeshCluster')).find((c) => c.metadata.name === cluster);
  if (!mc) throw new Error(`no MeshCluster ${cluster}`);
  const workloads = docs.filter(isKind<MeshWorkload>('MeshWorkload')).filter((w) => w.spec.cluster === cluster);
  const svcNs = (w: MeshWorkload): string => w.spec.service.namespace ?? w.metadata.namespace ?? 'default';
  const namespaces = new Set(['default', 'istio-system', ...workloads.map(svcNs), ...rendered.map((o) => o.metadata.namespace ?? 'default')]);
  const clientNs = opts.clientNamespace ?? (workloads[0] ? svcNs(workloads[0]) : 'default');
  namespaces.add(clientNs);

  const objects: unknown[] = [...[...namespaces].sort().map((n) => namespace(n))];
  for (const w of workloads) {
    const wl = workload({ name: w.spec.service.name, namespace: svcNs(w), ports: servicePorts(w), zones: opts.zones ?? [ZONE_A] });
    if (opts.serviceAnnotations) wl.service.metadata.annotations = { ...wl.service.metadata.annotations, ...opts.serviceAnnotations };
    objects.push(...wl.objects);
  }
  const c = client({ namespace: clientNs, zone: opts.clientZone ?? ZONE_A });
  const selector = mc.spec.gateway?.selector;
  const chart = opts.chart ?? (selector?.istio === 'eastwestgateway' ? 'eastwest' : 'istioctl');
  const g = gateway({ chart, zone: ZONE_A, ...(selector ? { labels: selector } : {}) });
  objects.push(...c.objects, ...g.objects, ...(opts.userObjects ?? []), ...rendered, ...(opts.userObjectsAfter ?? []));
  const proxies: ProxyRequest[] = [{ pod: c.proxy }, { pod: g.proxy, type: 'router' }];
  return { input: { objects, meshConfig: meshConfig(opts.mesh), proxies }, client: c.proxy, gateway: g.proxy, gatewayService: g.service, rendered };
}

/** Runs the oracle once per member cluster of `docs` (in parallel); each answers its client and gateway. */
export async function answerAll(docs: readonly unknown[]): Promise<Map<string, { m: Member; res: OracleResult }>> {
  const result = renderOk(docs);
  const clusters = docs.filter((d): d is MeshCluster => (d as KubeObject).kind === 'MeshCluster').map((c) => c.metadata.name);
  const out = new Map<string, { m: Member; res: OracleResult }>();
  await Promise.all(
    clusters.map(async (c) => {
      const m = member(docs, c, {}, result);
      out.set(c, { m, res: await runOracle(m.input) });
    }),
  );
  return out;
}

