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
        r.add('fail', 'SPC100', `cannot reach cluster ${name} (${f.via}): ${f.unreachable}`, {
          cluster: name,
          hint: 'check the kubeconfig context or the MeshCluster\'s kubeconfig Secret; every other check skips this cluster',
        });
      } else r.add('pass', 'SPC100', `reached ${name} (${f.via}), Kubernetes ${f.kubernetesVersion ?? 'version unknown'}`, { cluster: name });
    }
    if (r.out.length === 0) r.add('skip', 'SPC100', 'no member clusters: the inputs name no MeshCluster');
    return r.out;
  },
};
