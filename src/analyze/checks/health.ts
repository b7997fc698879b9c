/** Settings that silently disable failover: outlier detection that can never eject, or a panic threshold above 0. */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';

export const healthCheck: Check = {
  name: 'health',
  run(ctx, r) {
    const od = ctx.fs.spec.outlierDetection ?? {};
    if (od.maxEjectionPercent === 0) {
      r.report(MSG.ZeroEjection, ctx.ref, 'spec.outlierDetection.maxEjectionPercent is 0: no host is ever ejected, so a failing remote gateway keeps its share of traffic');
    } else if (od.consecutive5xxErrors === 0 && (od.consecutiveGatewayErrors ?? 0) === 0) {
      r.report(MSG.ZeroEjection, ctx.ref, 'spec.outlierDetection.consecutive5xxErrors is 0 and no consecutiveGatewayErrors is set: errors never eject a host');
    }
    const pt = ctx.fs.spec.panicThreshold;
    if (pt !== undefined && pt > 0) {
      r.report(MSG.PanicThreshold, ctx.ref, `spec.panicThreshold is ${pt}%: when every tier is below it, Envoy spreads load by host count and sends requests to tiers with no healthy host`);
    }
  },
};
