/**
 * Every cluster that receives spill-over has a gateway with a usable address, and the ports its Gateway server
 * names mean what istiod reads: a port of the gateway's Kubernetes Service (translated to its targetPort), with
 * plain HTTP on an entrance of its own, never the HTTPS port.
 */
import type { Check } from './check.ts';
import { DEFAULTS, tiers } from '../../model/context.ts';
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
        r.report('SPW110', ctx.ref, { cluster: t.clusterName, workload: t.key });
        continue;
      }
      if (!isIP(gw.address) && dns1123SubdomainError(gw.address.toLowerCase()) !== undefined) {
        r.report('SPW123', ctx.ref, { address: gw.address, cluster: t.clusterName });
      }
      const tlsMode = ctx.fs.spec.tls?.mode ?? DEFAULTS.tlsMode;
      if (tlsMode === 'DISABLE') {
        const https = gw.servicePort ?? gw.listenPort ?? gw.port;
        if (!gw.http) {
          r.report('SPW135', ctx.ref, { reason: 'noHttpEntrance', cluster: t.clusterName, port: https }, 'spec.tls.mode');
        } else if ((gw.http.servicePort ?? gw.http.port) === https || (gw.http.servicePort ?? gw.http.port) === 443) {
          r.report('SPW135', ctx.ref, { reason: 'sharedPort', cluster: t.clusterName, port: gw.http.servicePort ?? gw.http.port }, 'spec.tls.mode');
        }
      }
      const nodePort = (p: number) => p >= 30000 && p <= 32767;
      if (nodePort(gw.port) && gw.servicePort === undefined && gw.listenPort === undefined && !(tlsMode === 'DISABLE' && gw.http)) {
        r.report('SPW134', ctx.ref, { cluster: t.clusterName, port: gw.port, entrance: 'https' });
      }
      if (tlsMode === 'DISABLE' && gw.http && nodePort(gw.http.port) && gw.http.servicePort === undefined) {
        r.report('SPW134', ctx.ref, { cluster: t.clusterName, port: gw.http.port, entrance: 'http' });
      }
    }
  },
};
