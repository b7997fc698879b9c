/** One port is chosen, it exists on every workload, and its number and protocol agree across clusters. */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
import { choosePort, normalizeProtocol, tiers } from '../../model/context.ts';

export const portsCheck: Check = {
  name: 'ports',
  run(ctx, r) {
    const chosen: { key: string; number: number; protocol: string }[] = [];
    for (const t of tiers(ctx)) {
      const c = choosePort(ctx.fs, t.workload);
      if ('error' in c) {
        const names = t.workload.spec.ports.map((p) => `${p.name}/${p.number}`).join(', ');
        if (c.error === 'not-chosen') r.report(MSG.PortNotChosen, ctx.ref, `MeshWorkload ${t.key} has ports ${names}; set spec.port to the one to fail over`);
        else r.report(MSG.PortNotFound, ctx.ref, `spec.port ${String(ctx.fs.spec.port)} is not a port of MeshWorkload ${t.key} (${names})`);
        continue;
      }
      chosen.push({ key: t.key, number: c.port.number, protocol: normalizeProtocol(c.port.protocol) });
    }
    const first = chosen[0];
    if (!first) return;
    for (const c of chosen.slice(1)) {
      if (c.number !== first.number) r.report(MSG.PortMismatch, ctx.ref, `port ${c.number} of ${c.key} differs from port ${first.number} of ${first.key}; the global host has one port`);
      if (c.protocol !== first.protocol) r.report(MSG.ProtocolMismatch, ctx.ref, `protocol ${c.protocol} of ${c.key} differs from ${first.protocol} of ${first.key}`);
    }
  },
};
