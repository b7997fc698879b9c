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
        r.add('fail', 'SPC101', `Istio's API (networking.istio.io) is not served${f.istioApi.error ? `: ${f.istioApi.error}` : ''}`, { cluster: name, hint: 'install Istio (its CRDs and istiod) in this cluster' });
      } else {
        const want = profile?.networkingApiVersion.split('/')[1];
        const missing: string[] = [];
        for (const k of OUTPUT_KINDS) {
          const v = k.kind === 'EnvoyFilter' ? 'v1alpha3' : want;
          if (v && !served[v]?.includes(k.plural)) missing.push(`${k.kind} ${v}`);
        }
        const versions = Object.keys(served).sort().join(', ');
        if (missing.length > 0) {
          r.add('fail', 'SPC101', `Istio's API does not serve ${missing.join(', ')}, which the ${profile?.name ?? '?'} output profile writes (served versions: ${versions})`, {
            cluster: name,
            hint: `set spec.istio.version on MeshCluster ${name} to the Istio version this cluster runs, or install Istio's CRDs of that version`,
          });
        } else r.add('pass', 'SPC101', `Istio's API serves every kind Spillway writes (networking.istio.io ${versions})`, { cluster: name });
      }

      // SPC102: istiod, version, profile.
      const det = detectIstioVersion(f);
      const rootNs = rootNamespace(mc);
      if (!det.version) {
        if (det.error !== undefined && !det.found) {
          r.add('warn', 'SPC102', `could not tell which Istio version runs: Deployments and Pods in ${rootNs} could not be read (${det.error}) and the mesh ConfigMap carries no version label`, {
            cluster: name,
            hint: `grant get/list on deployments and pods in ${rootNs}, or set spec.istio.version on MeshCluster ${name} and check it by hand: kubectl -n ${rootNs} get deploy istiod -o jsonpath='{.spec.template.spec.containers[0].image}'`,
          });
        } else if (!det.found) {
          r.add('fail', 'SPC102', `no istiod Deployment or pod in ${rootNs}`, { cluster: name, hint: `install Istio, or set spec.istio.rootNamespace on MeshCluster ${name} if its control plane lives elsewhere` });
        } else r.add('warn', 'SPC102', `istiod found in ${rootNs} but its version could not be read from its image tag or labels`, { cluster: name, hint: `set spec.istio.version on MeshCluster ${name} to the version it runs` });
        continue;
      }
      const running = det.running === false ? ' (no ready replica)' : '';
      const actual = profileFor(det.version);
      const said = declared ? `spec.istio.version ${declared}` : 'no spec.istio.version (modern assumed)';
      if (det.running === false) {
        r.add('fail', 'SPC102', `istiod ${det.version} (${det.source}) has no ready replica`, { cluster: name, hint: `kubectl -n ${rootNs} describe ${det.source?.split('/')[0]?.toLowerCase() ?? 'deploy'} ${det.source?.split('/').pop() ?? 'istiod'}` });
        continue;
      }
      if (!actual) {
        r.add('fail', 'SPC102', `Istio ${det.version} (${det.source}) is older than 1.5: no aggregate clusters through EnvoyFilter`, { cluster: name, hint: 'upgrade Istio to 1.5 or later (1.22+ for the modern profile)' });
      } else if (hasAggregateCrashBug(det.version)) {
        r.add('fail', 'SPC102', `Istio ${det.version} (${det.source}): sidecars of 1.8.0 to 1.8.2 can crash on aggregate-cluster EnvoyFilters (istio/istio#28620)`, { cluster: name, hint: 'upgrade Istio to 1.8.3 or later' });
      } else if (profile && actual.name !== profile.name) {
        r.add('fail', 'SPC102', `Istio ${det.version} runs (${det.source}), which needs the ${actual.name} output profile, but MeshCluster ${name} has ${said}, which renders the ${profile.name} profile`, {
          cluster: name,
          hint: `set spec.istio.version: "${det.version.split('.').slice(0, 2).join('.')}" on MeshCluster ${name}`,
        });
      } else {
        const dv = declared ? parseIstioVersion(declared) : undefined;
        const av = parseIstioVersion(det.version.split('.').slice(0, 3).join('.'));
        if (declared && dv && av && dv.minor !== av.minor) {
          r.add('warn', 'SPC102', `Istio ${det.version}${running} runs (${det.source}); MeshCluster ${name} says ${declared}: same ${actual.name} output profile, but keep them equal`, {
            cluster: name,
            hint: `set spec.istio.version: "${det.version.split('.').slice(0, 2).join('.')}" on MeshCluster ${name}`,
          });
        } else r.add('pass', 'SPC102', `Istio ${det.version} (${det.source}): ${actual.name} output profile, as MeshCluster ${name} selects (${said})`, { cluster: name });
      }
    }
    return r.out;
  },
};
