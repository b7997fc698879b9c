/** Every cluster runs an Istio that can take the output, and none has the 1.8.0-1.8.2 aggregate crash. */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
import { tiers } from '../../model/context.ts';
import { hasAggregateCrashBug, profileFor } from '../../model/profile.ts';

export const istioVersionCheck: Check = {
  name: 'istio-version',
  run(ctx, r) {
    for (const t of tiers(ctx)) {
      const v = t.cluster.spec.istio?.version;
      if (profileFor(v) === undefined) r.report(MSG.IstioVersionUnsupported, ctx.ref, `cluster ${t.clusterName} runs Istio ${v}; Spillway needs Istio 1.5 or later (aggregate clusters through EnvoyFilter)`);
      else if (hasAggregateCrashBug(v)) r.report(MSG.IstioVersionCrash, ctx.ref, `cluster ${t.clusterName} runs Istio ${v}: sidecars of 1.8.0 to 1.8.2 can crash on aggregate-cluster EnvoyFilters (istio/istio#28620); upgrade to 1.8.3 or later`);
    }
  },
};
