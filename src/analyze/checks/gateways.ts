/** Every cluster that receives spill-over has a gateway with a usable address. */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
import { tiers } from '../../model/context.ts';
import { isIP } from '../../model/address.ts';
import { dns1123SubdomainError } from '../dns.ts';

export const gatewaysCheck: Check = {
  name: 'gateways',
  run(ctx, r) {
    const ts = tiers(ctx);
    if (ts.length < 2) return; // nothing receives spill-over
    for (const t of ts) {
      const gw = t.cluster.spec.gateway;
      if (!gw) {
        r.report(MSG.MissingGateway, ctx.ref, `cluster ${t.clusterName} receives spill-over for ${t.key} but MeshCluster ${t.clusterName} has no spec.gateway`);
        continue;
      }
      if (!isIP(gw.address) && dns1123SubdomainError(gw.address.toLowerCase()) !== undefined) {
        r.report(MSG.InvalidAddress, ctx.ref, `gateway address "${gw.address}" of MeshCluster ${t.clusterName} is neither an IP address nor a DNS name`);
      }
    }
  },
};
