/**
 * SPC120: the sidecars of the clients that call a global host resolve it: Istio's DNS proxy
 * (`ISTIO_META_DNS_CAPTURE`) is on mesh-wide (`defaultConfig.proxyMetadata` in the mesh config) or on every client
 * pod (`proxy.istio.io/config` annotation, or the variable on its istio-proxy container). Off by default.
 * SPC121: on Istio 1.5 to 1.7 (legacy profile), the istiocoredns add-on and the `global` stub domain in CoreDNS.
 */
import yaml from 'js-yaml';
import type { KubeObject } from '../../api/types.ts';
import { profileFor } from '../../model/profile.ts';
import type { Check, CheckSnapshot, ClusterFacts } from '../types.ts';
import { asArray, containers, hasSidecar, isRecord, meshConfig, meshCluster, ref, results, rootNamespace, selects, serviceViews, unreadable } from '../view.ts';
import { detectIstioVersion } from './istio-installed.ts';

const isTrue = (v: unknown): boolean => v === true || (typeof v === 'string' && v.toLowerCase() === 'true');

function proxyMetadataCapture(config: unknown): boolean | undefined {
  if (!isRecord(config)) return undefined;
  const md = config['proxyMetadata'];
  if (!isRecord(md) || md['ISTIO_META_DNS_CAPTURE'] === undefined) return undefined;
  return isTrue(md['ISTIO_META_DNS_CAPTURE']);
}

/** A pod's own setting: the annotation, else the istio-proxy container's environment. undefined = inherits the mesh's. */
export function podDnsCapture(pod: KubeObject): boolean | undefined {
  const ann = pod.metadata.annotations?.['proxy.istio.io/config'];
  if (ann) {
    try {
      const v = proxyMetadataCapture(yaml.load(ann));
      if (v !== undefined) return v;
    } catch {
      // an unparsable annotation is Istio's problem to report; fall through to the environment
    }
  }
  for (const c of containers(pod)) {
    if (c['name'] !== 'istio-proxy') continue;
    for (const e of asArray(c['env'])) if (isRecord(e) && e['name'] === 'ISTIO_META_DNS_CAPTURE') return isTrue(e['value']);
  }
  return undefined;
}

function isLegacy(s: CheckSnapshot, f: ClusterFacts): boolean {
  const mc = meshCluster(s, f.name);
  const detected = detectIstioVersion(f).version;
  return profileFor(detected ?? mc?.spec.istio?.version)?.name === 'legacy';
}

export const dnsCaptureCheck: Check = {
  name: 'dns-capture',
  title: 'clients resolve the global hosts (DNS proxying; istiocoredns on 1.5-1.7)',
  run(s) {
    const r = results(this.name);
    const clients = new Map<string, { hosts: Set<string>; selectors: Record<string, string>[]; namespaces: Set<string>; all: boolean }>();
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        if (!c.roles.includes('client')) continue;
        let e = clients.get(c.cluster);
        if (!e) clients.set(c.cluster, (e = { hosts: new Set(), selectors: [], namespaces: new Set(), all: false }));
        e.hosts.add(v.globalHost);
        e.namespaces.add(c.serviceNamespace);
        if (v.clientSelector) e.selectors.push(v.clientSelector);
        else e.all = true;
      }
    }
    for (const [cluster, want] of [...clients].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const f = s.clusters[cluster];
      if (!f || f.unreachable !== undefined) continue;
      const hosts = [...want.hosts].sort();
      const rootNs = rootNamespace(meshCluster(s, cluster));
      if (isLegacy(s, f)) {
        const svc = f.services.items.find((x) => x.metadata.namespace === rootNs && x.metadata.name === 'istiocoredns');
        const corefile = f.dnsConfigMaps.items.map((c) => (isRecord(c['data']) ? Object.values(c['data']).join('\n') : '')).join('\n');
        const stub = /(^|\s)global\.?(:\d+)?\s*\{[^}]*\b(forward|proxy)\b/m.test(corefile) || /"global"\s*:\s*\[/.test(corefile);
        if (!svc) r.finding('fail', 'SPC121', { result: 'noIstiocoredns', cluster, rootNamespace: rootNs }, { cluster });
        else if (f.dnsConfigMaps.error !== undefined) r.finding('warn', 'SPC121', { result: 'dnsUnreadable', cluster, error: f.dnsConfigMaps.error }, { cluster });
        else if (!stub) r.finding('fail', 'SPC121', { result: 'noStubDomain', cluster, hosts, rootNamespace: rootNs }, { cluster, ...(f.dnsConfigMaps.items[0] ? { object: ref(f.dnsConfigMaps.items[0]) } : {}) });
        else r.finding('pass', 'SPC121', { result: 'ok', cluster, hosts }, { cluster });
        continue;
      }
      const mesh = meshConfig(f);
      const meshWide = proxyMetadataCapture(isRecord(mesh?.config['defaultConfig']) ? mesh.config['defaultConfig'] : undefined);
      // Which pods call the global hosts: those a clientSelector names, else (no selector) at least the pods of the
      // services' own namespaces; pods that set the variable themselves override the mesh-wide value.
      const candidates = f.pods.items.filter((p) => hasSidecar(p) && (want.selectors.some((sel) => selects(sel, p.metadata.labels)) || (want.all && want.namespaces.has(p.metadata.namespace ?? ''))));
      const off = candidates.filter((p) => (podDnsCapture(p) ?? meshWide ?? false) === false);
      const where = { ...(mesh ? { meshConfig: mesh.source } : {}), rootNamespace: rootNs };
      if (off.length > 0) {
        const pods = off.slice(0, 5).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
        r.finding('fail', 'SPC120', { result: 'podsOff', cluster, hosts, off: off.length, candidates: candidates.length, pods, ...where, meshWideOff: meshWide === false }, { cluster });
      } else if (meshWide === true) {
        r.finding('pass', 'SPC120', { result: 'meshWide', cluster, hosts, ...where }, { cluster });
      } else if (candidates.length > 0) {
        r.finding('pass', 'SPC120', { result: 'allPods', cluster, pods: candidates.length }, { cluster });
      } else {
        const why = unreadable(f.pods, 'pods');
        r.finding('fail', 'SPC120', { result: 'off', cluster, hosts, ...where, ...(mesh?.error ? { meshConfigError: mesh.error } : {}), ...(why ? { podsUnread: why } : {}) }, { cluster });
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC120', { result: 'noClient' });
    return r.out;
  },
};
