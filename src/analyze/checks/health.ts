/** Settings that silently disable failover: outlier detection that can never eject, or a panic threshold above 0. */
import type { Check } from './check.ts';

export const healthCheck: Check = {
  name: 'health',
  run(ctx, r) {
    const od = ctx.fs.spec.outlierDetection ?? {};
    if (od.maxEjectionPercent === 0) {
      r.report('SPW125', ctx.ref, { setting: 'maxEjectionPercent' }, 'spec.outlierDetection.maxEjectionPercent');
    } else if (od.consecutive5xxErrors === 0 && (od.consecutiveGatewayErrors ?? 0) === 0) {
      r.report('SPW125', ctx.ref, { setting: 'consecutive5xxErrors' }, 'spec.outlierDetection.consecutive5xxErrors');
    }
    const pt = ctx.fs.spec.panicThreshold;
    if (pt !== undefined && pt > 0) {
      r.report('SPW126', ctx.ref, { percent: pt }, 'spec.panicThreshold');
    }
  },
};
