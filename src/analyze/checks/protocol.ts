/** Spill-over crosses the remote gateway as L7 routed on the Host header: only HTTP-family protocols can. */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
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
      const why = ISTIO_PROTOCOLS.has(p)
        ? `the remote gateway routes spilled-over requests on their Host header, which ${p} does not carry`
        : `${p} is not an Istio protocol`;
      r.report(MSG.UnsupportedProtocol, ctx.ref, `port ${c.port.name}/${c.port.number} of ${t.key} uses ${c.port.protocol}: ${why}; use HTTP, HTTP2, GRPC or GRPC-WEB`);
    }
  },
};
