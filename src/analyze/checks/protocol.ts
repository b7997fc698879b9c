/** Spill-over crosses the remote gateway as L7 routed on the Host header: only HTTP-family protocols can. */
import type { Check } from './check.ts';
import { ISTIO_PROTOCOLS, L7_PROTOCOLS, choosePort, normalizeProtocol, tiers } from '../../model/context.ts';

export const protocolCheck: Check = {
  name: 'protocol',
  run(ctx, r) {
    const reported = new Set<string>();
    for (const t of tiers(ctx)) {
      const c = choosePort(ctx.fs, t.workload);
      if ('error' in c) continue;
      const p = normalizeProtocol(c.port.protocol);
      if (L7_PROTOCOLS.has(p) || reported.has(p)) continue;
      reported.add(p);
      r.report('SPW109', ctx.ref, { workload: t.key, portName: c.port.name, portNumber: c.port.number, protocol: String(c.port.protocol), normalized: p, istioProtocol: ISTIO_PROTOCOLS.has(p) });
    }
  },
};
