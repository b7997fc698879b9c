/**
 * Every cluster that receives spill-over has a gateway with a usable address, and the ports its Gateway server
 * names mean what istiod reads: a port of the gateway's Kubernetes Service (translated to its targetPort), with
 * plain HTTP on an entrance of its own, never the HTTPS port.
 */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
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
        r.report(MSG.MissingGateway, ctx.ref, `cluster ${t.clusterName} receives spill-over for ${t.key} but MeshCluster ${t.clusterName} has no spec.gateway`);
        continue;
      }
      if (!isIP(gw.address) && dns1123SubdomainError(gw.address.toLowerCase()) !== undefined) {
        r.report(MSG.InvalidAddress, ctx.ref, `gateway address "${gw.address}" of MeshCluster ${t.clusterName} is neither an IP address nor a DNS name`);
      }
      const tlsMode = ctx.fs.spec.tls?.mode ?? DEFAULTS.tlsMode;
      if (tlsMode === 'DISABLE') {
        const https = gw.servicePort ?? gw.listenPort ?? gw.port;
        if (!gw.http) {
          r.report(MSG.PlaintextSharesPort, ctx.ref, `tls.mode DISABLE needs a plain-HTTP entrance in cluster ${t.clusterName}: set spec.gateway.http {port, servicePort} on MeshCluster ${t.clusterName} (a plain-HTTP server on gateway port ${https} cannot share its listener with HTTPS servers there, Spillway's own or a public HTTPS ingress; istiod drops whichever Gateway is newer)`);
        } else if ((gw.http.servicePort ?? gw.http.port) === https || (gw.http.servicePort ?? gw.http.port) === 443) {
          r.report(MSG.PlaintextSharesPort, ctx.ref, `spec.gateway.http of MeshCluster ${t.clusterName} uses gateway port ${gw.http.servicePort ?? gw.http.port}, ${(gw.http.servicePort ?? gw.http.port) === 443 ? 'the HTTPS port' : 'the port of its HTTPS servers'}: a plain-HTTP server there would take that listener from the HTTPS servers (or lose it); use the Service's plain-HTTP port (80 on the common charts)`);
        }
      }
      const nodePort = (p: number) => p >= 30000 && p <= 32767;
      if (nodePort(gw.port) && gw.servicePort === undefined && gw.listenPort === undefined && !(tlsMode === 'DISABLE' && gw.http)) {
        r.report(MSG.GatewayNodePort, ctx.ref, `MeshCluster ${t.clusterName}: gateway port ${gw.port} looks like a NodePort and no servicePort is set, so the Gateway server is written on ${gw.port}; istiod finds no such port on the gateway Service and makes the gateway listen on ${gw.port}, which kube-proxy never forwards to. Set spec.gateway.servicePort to the Service port behind the NodePort (443 on the common charts)`);
      }
      if (tlsMode === 'DISABLE' && gw.http && nodePort(gw.http.port) && gw.http.servicePort === undefined) {
        r.report(MSG.GatewayNodePort, ctx.ref, `MeshCluster ${t.clusterName}: gateway.http.port ${gw.http.port} looks like a NodePort and no http.servicePort is set; set it to the Service port behind the NodePort (80 on the common charts)`);
      }
    }
  },
};
