/** Every cluster runs an Istio that can take the output, and none has the 1.8.0-1.8.2 aggregate crash. */
import type { Check } from './check.ts';
import { tiers } from '../../model/context.ts';
import { hasAggregateCrashBug, profileFor } from '../../model/profile.ts';

export const istioVersionCheck: Check = {
  name: 'istio-version',
  run(ctx, r) {
    for (const t of tiers(ctx)) {
      const v = t.cluster.spec.istio?.version;
      if (profileFor(v) === undefined) r.report('SPW116', ctx.ref, { cluster: t.clusterName, version: String(v) });
      else if (hasAggregateCrashBug(v)) r.report('SPW117', ctx.ref, { cluster: t.clusterName, version: String(v) });
    }
  },
};
