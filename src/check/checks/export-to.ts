/**
 * SPC163: `exportTo` defaults. Spillway's ServiceEntries and DestinationRules live in the service's namespace;
 * a mesh `defaultServiceExportTo` / `defaultDestinationRuleExportTo` of `["."]` hides them from callers in every
 * other namespace (and `defaultVirtualServiceExportTo` hides the receiving VirtualService from a gateway in
 * another namespace), unless the rendered objects set `exportTo` themselves.
 */
import type { Check } from '../types.ts';
import { asArray, isRecord, meshConfig, results, serviceViews, spec } from '../view.ts';

const SETTINGS: { key: string; kinds: string[]; role: 'client' | 'receiver'; what: string }[] = [
  { key: 'defaultServiceExportTo', kinds: ['ServiceEntry'], role: 'client', what: 'callers in other namespaces cannot resolve the global host or its remote tiers' },
  { key: 'defaultDestinationRuleExportTo', kinds: ['DestinationRule'], role: 'client', what: 'callers in other namespaces lose outlier detection and mTLS towards remote gateways' },
  { key: 'defaultVirtualServiceExportTo', kinds: ['VirtualService'], role: 'receiver', what: 'a gateway in another namespace does not see the route for spilled-over requests' },
];

export const exportToCheck: Check = {
  name: 'export-to',
  title: 'mesh exportTo defaults do not hide Spillway\'s objects',
  run(s) {
    const r = results(this.name);
    for (const v of serviceViews(s)) {
      for (const c of v.clusters) {
        const f = s.clusters[c.cluster];
        if (!f || f.unreachable !== undefined) continue;
        const key = `${c.cluster}\u0000${c.serviceNamespace}`;
        r.about(key, v.ref, () => {
          const mesh = meshConfig(f);
          let bad = 0;
          for (const st of SETTINGS) {
            if (!c.roles.includes(st.role)) continue;
            const value = asArray(mesh?.config[st.key]).filter((x): x is string => typeof x === 'string');
            if (value.length === 0 || value.includes('*')) continue;
            const objects = c.objects.filter((o) => st.kinds.includes(o.kind));
            const unset = objects.filter((o) => !Array.isArray(spec(o)['exportTo']));
            if (unset.length === 0) continue;
            const visible = value.map((x) => (x === '.' ? c.serviceNamespace : x));
            bad++;
            r.finding('warn', 'SPC163', { result: 'hidden', source: mesh?.source ?? '', setting: st.key, value, kinds: st.kinds, namespace: c.serviceNamespace, visible, effect: st.what }, { cluster: c.cluster });
          }
          if (bad === 0) r.finding('pass', 'SPC163', { result: 'visible', namespace: c.serviceNamespace, meshDefaults: !(mesh && isRecord(mesh.config) && Object.keys(mesh.config).some((k) => k.endsWith('ExportTo'))) }, { cluster: c.cluster });
        });
      }
    }
    if (r.out.length === 0) r.finding('skip', 'SPC163', { result: 'noService' });
    return r.out;
  },
};
