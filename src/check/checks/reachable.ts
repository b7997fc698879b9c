/** SPC100: every member cluster the FailoverServices use answered. */
import type { Check } from '../types.ts';
import { results } from '../view.ts';

export const reachableCheck: Check = {
  name: 'reachable',
  title: 'member clusters answer',
  run(s) {
    const r = results(this.name);
    for (const name of Object.keys(s.clusters).sort()) {
      const f = s.clusters[name]!;
      if (f.unreachable !== undefined) {
        r.finding('fail', 'SPC100', { result: 'unreachable', cluster: name, via: f.via, error: f.unreachable }, { cluster: name });
      } else r.finding('pass', 'SPC100', { result: 'reached', cluster: name, via: f.via, ...(f.kubernetesVersion !== undefined ? { kubernetesVersion: f.kubernetesVersion } : {}) }, { cluster: name });
    }
    if (r.out.length === 0) r.finding('skip', 'SPC100', { result: 'noClusters' });
    return r.out;
  },
};
