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
      const hosts = [...want.hosts].sort().join(', ');
      const rootNs = rootNamespace(meshCluster(s, cluster));
      if (isLegacy(s, f)) {
        const svc = f.services.items.find((x) => x.metadata.namespace === rootNs && x.metadata.name === 'istiocoredns');
        const corefile = f.dnsConfigMaps.items.map((c) => (isRecord(c['data']) ? Object.values(c['data']).join('\n') : '')).join('\n');
        const stub = /(^|\s)global\.?(:\d+)?\s*\{[^}]*\b(forward|proxy)\b/m.test(corefile) || /"global"\s*:\s*\[/.test(corefile);
        if (!svc) r.add('fail', 'SPC121', `Istio 1.5-1.7 resolves .global hosts with the istiocoredns add-on, and there is no Service ${rootNs}/istiocoredns`, { cluster, hint: 'install Istio with the istiocoredns add-on (values.istiocoredns.enabled=true)' });
        else if (f.dnsConfigMaps.error !== undefined) r.add('warn', 'SPC121', `istiocoredns present; kube-system DNS ConfigMaps could not be read (${f.dnsConfigMaps.error}), so the "global" stub domain is unverified`, { cluster, hint: 'check kubectl -n kube-system get cm coredns -o yaml for a global:53 block forwarding to istiocoredns' });
        else if (!stub) r.add('fail', 'SPC121', `istiocoredns present, but CoreDNS/kube-dns has no stub domain for "global": ${hosts} will not resolve`, { cluster, object: f.dnsConfigMaps.items[0] ? ref(f.dnsConfigMaps.items[0]) : undefined, hint: `add to the Corefile: global:53 { errors; cache 30; forward . <clusterIP of ${rootNs}/istiocoredns>:53 }` });
        else r.add('pass', 'SPC121', `istiocoredns and the "global" stub domain are in place for ${hosts}`, { cluster });
        continue;
      }
      const mesh = meshConfig(f);
      const meshWide = proxyMetadataCapture(isRecord(mesh?.config['defaultConfig']) ? mesh.config['defaultConfig'] : undefined);
      // Which pods call the global hosts: those a clientSelector names, else (no selector) at least the pods of the
      // services' own namespaces; pods that set the variable themselves override the mesh-wide value.
      const candidates = f.pods.items.filter((p) => hasSidecar(p) && (want.selectors.some((sel) => selects(sel, p.metadata.labels)) || (want.all && want.namespaces.has(p.metadata.namespace ?? ''))));
      const off = candidates.filter((p) => (podDnsCapture(p) ?? meshWide ?? false) === false);
      const where = mesh ? `mesh config ${mesh.source}` : `mesh config (no ConfigMap istio in ${rootNs})`;
      if (off.length > 0) {
        const names = off.slice(0, 5).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ');
        r.add('fail', 'SPC120', `${off.length} of ${candidates.length} client pod(s) have Istio's DNS proxy off, so ${hosts} does not resolve there: ${names}${off.length > 5 ? ', ...' : ''}`, {
          cluster,
          hint: meshWide === false
            ? `${where} sets ISTIO_META_DNS_CAPTURE to false; set it to "true" under defaultConfig.proxyMetadata and restart the pods`
            : 'set meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE: "true" (or annotate the pods proxy.istio.io/config: \'{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}\') and restart them',
        });
      } else if (meshWide === true) {
        r.add('pass', 'SPC120', `DNS capture is on mesh-wide (${where}): ${hosts} resolves in every sidecar`, { cluster });
      } else if (candidates.length > 0) {
        r.add('pass', 'SPC120', `DNS capture is off mesh-wide but on in all ${candidates.length} client pod(s) found`, { cluster });
      } else {
        const why = unreadable(f.pods, 'pods');
        r.add('fail', 'SPC120', `DNS capture is not on mesh-wide (${where}${mesh?.error ? `: ${mesh.error}` : ''})${why ? `, and ${why}` : ', and no client pod found sets it'}: apps cannot resolve ${hosts}`, {
          cluster,
          hint: 'set meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE: "true" (istioctl install --set meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true) and restart the client pods',
        });
      }
    }
    if (r.out.length === 0) r.add('skip', 'SPC120', 'no reachable client cluster');
    return r.out;
  },
};
