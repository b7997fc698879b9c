/** One port is chosen, it exists on every workload, and its number and protocol agree across clusters. */
import type { Check } from './check.ts';
import { choosePort, normalizeProtocol, tiers } from '../../model/context.ts';

export const portsCheck: Check = {
  name: 'ports',
  run(ctx, r) {
    const chosen: { key: string; number: number; protocol: string }[] = [];
    for (const t of tiers(ctx)) {
      const c = choosePort(ctx.fs, t.workload);
      if ('error' in c) {
        const ports = t.workload.spec.ports.map((p) => `${p.name}/${p.number}`);
        if (c.error === 'not-chosen') r.report('SPW107', ctx.ref, { workload: t.key, ports }, 'spec.port');
        else r.report('SPW108', ctx.ref, { port: ctx.fs.spec.port ?? '', workload: t.key, ports }, 'spec.port');
        continue;
      }
      chosen.push({ key: t.key, number: c.port.number, protocol: normalizeProtocol(c.port.protocol) });
    }
    const first = chosen[0];
    if (!first) return;
    for (const c of chosen.slice(1)) {
      if (c.number !== first.number) r.report('SPW105', ctx.ref, { workload: c.key, port: c.number, firstWorkload: first.key, firstPort: first.number });
      if (c.protocol !== first.protocol) r.report('SPW106', ctx.ref, { workload: c.key, protocol: c.protocol, firstWorkload: first.key, firstProtocol: first.protocol });
    }
  },
};
