/**
 * SPC101: Istio's networking API is served with every kind Spillway writes, at the version the cluster's output
 * profile uses. SPC102: istiod runs, its version, and the output profile that version implies compared with the
 * one the MeshCluster selects (`spec.istio.version`).
 */
import { OUTPUT_KINDS } from '../../kube/resources.ts';
import { hasAggregateCrashBug, parseIstioVersion, profileFor } from '../../model/profile.ts';
import type { Check, ClusterFacts } from '../types.ts';
import { asArray, asString, isRecord, meshCluster, ref, results, rootNamespace, spec } from '../view.ts';
import type { KubeObject } from '../../api/types.ts';

/** Istio's version as installed: istiod's image tag, else version labels on its Deployment, pods or mesh ConfigMap. */
export function detectIstioVersion(f: ClusterFacts): { version?: string; source?: string; running?: boolean; found: boolean; error?: string } {
  const isIstiod = (o: KubeObject): boolean => o.metadata.labels?.['app'] === 'istiod' || /^istiod(-|$)/.test(o.metadata.name);
  const fromImage = (podSpec: unknown): string | undefined => {
    for (const c of asArray(isRecord(podSpec) ? podSpec['containers'] : undefined)) {
      const image = isRecord(c) ? asString(c['image']) : undefined;
      const tag = image?.includes('pilot') ? /:(\d+\.\d+(?:\.\d+)?)(?:[-@].*)?$/.exec(image)?.[1] : undefined;
      if (tag) return tag;
    }
    return undefined;
  };
  const fromLabels = (o: KubeObject): string | undefined => {
    const l = o.metadata.labels ?? {};
    const v = l['app.kubernetes.io/version'] ?? l['operator.istio.io/version'] ?? /^istiod-(\d+\.\d+\.\d+)/.exec(l['helm.sh/chart'] ?? '')?.[1];
    return v && /^\d+\.\d+(\.\d+)?/.test(v) ? /^\d+\.\d+(\.\d+)?/.exec(v)![0] : undefined;
  };
  const deps = f.rootDeployments.items.filter(isIstiod).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  for (const d of deps) {
    const tpl = spec(d)['template'];
    const v = fromImage(isRecord(tpl) ? tpl['spec'] : undefined) ?? fromLabels(d);
    const ready = Number((d['status'] as Record<string, unknown> | undefined)?.['readyReplicas'] ?? 0);
    if (v) return { version: v, source: ref(d), running: ready > 0, found: true };
  }
  const pods = f.rootPods.items.filter(isIstiod);
  for (const p of pods) {
    const v = fromImage(p['spec']) ?? fromLabels(p);
    const phase = (p['status'] as Record<string, unknown> | undefined)?.['phase'];
    if (v) return { version: v, source: ref(p), running: phase === 'Running', found: true };
  }
  for (const c of f.rootConfigMaps.items.filter((x) => x.metadata.name === 'istio' || x.metadata.name.startsWith('istio-'))) {
    const v = fromLabels(c);
    if (v) return { version: v, source: ref(c), found: true };
  }
  const found = deps.length > 0 || pods.length > 0;
  return { found, error: f.rootDeployments.error ?? f.rootPods.error };
}

export const istioInstalledCheck: Check = {
  name: 'istio-installed',
  title: 'Istio installed, its version, and the output profile it implies',
  run(s) {
    const r = results(this.name);
    for (const name of Object.keys(s.clusters).sort()) {
      const f = s.clusters[name]!;
      if (f.unreachable !== undefined) continue;
      const mc = meshCluster(s, name);
      const declared = mc?.spec.istio?.version;
      const profile = profileFor(declared);

      // SPC101: the API.
      const served = f.istioApi.versions;
      if (f.istioApi.error !== undefined || Object.keys(served).length === 0) {
        r.finding('fail', 'SPC101', { result: 'notServed', cluster: name, ...(f.istioApi.error ? { error: f.istioApi.error } : {}) }, { cluster: name });
      } else {
        const want = profile?.networkingApiVersion.split('/')[1];
        const missing: { kind: string; version: string }[] = [];
        for (const k of OUTPUT_KINDS) {
          const v = k.kind === 'EnvoyFilter' ? 'v1alpha3' : want;
          if (v && !served[v]?.includes(k.plural)) missing.push({ kind: k.kind, version: v });
        }
        const versions = Object.keys(served).sort();
        if (missing.length > 0) {
          r.finding('fail', 'SPC101', { result: 'missingKinds', cluster: name, missing, ...(profile ? { profile: profile.name } : {}), versions }, { cluster: name });
        } else r.finding('pass', 'SPC101', { result: 'served', cluster: name, versions }, { cluster: name });
      }

      // SPC102: istiod, version, profile.
      const det = detectIstioVersion(f);
      const rootNs = rootNamespace(mc);
      if (!det.version) {
        if (det.error !== undefined && !det.found) {
          r.finding('warn', 'SPC102', { result: 'versionUnreadable', cluster: name, rootNamespace: rootNs, error: det.error }, { cluster: name });
        } else if (!det.found) {
          r.finding('fail', 'SPC102', { result: 'notFound', cluster: name, rootNamespace: rootNs }, { cluster: name });
        } else r.finding('warn', 'SPC102', { result: 'noVersion', cluster: name, rootNamespace: rootNs }, { cluster: name });
        continue;
      }
      const version = det.version;
      const source = det.source ?? '';
      const actual = profileFor(version);
      if (det.running === false) {
        r.finding('fail', 'SPC102', { result: 'notReady', cluster: name, rootNamespace: rootNs, version, source }, { cluster: name });
        continue;
      }
      if (!actual) {
        r.finding('fail', 'SPC102', { result: 'tooOld', cluster: name, version, source }, { cluster: name });
      } else if (hasAggregateCrashBug(version)) {
        r.finding('fail', 'SPC102', { result: 'crashBug', cluster: name, version, source }, { cluster: name });
      } else if (profile && actual.name !== profile.name) {
        r.finding('fail', 'SPC102', { result: 'profileMismatch', cluster: name, version, source, needs: actual.name, ...(declared ? { declared } : {}), renders: profile.name }, { cluster: name });
      } else {
        const dv = declared ? parseIstioVersion(declared) : undefined;
        const av = parseIstioVersion(version.split('.').slice(0, 3).join('.'));
        if (declared && dv && av && dv.minor !== av.minor) {
          r.finding('warn', 'SPC102', { result: 'versionDiffers', cluster: name, version, source, declared, profile: actual.name }, { cluster: name });
        } else r.finding('pass', 'SPC102', { result: 'matches', cluster: name, version, source, profile: actual.name, ...(declared ? { declared } : {}) }, { cluster: name });
      }
    }
    return r.out;
  },
};
