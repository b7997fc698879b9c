/** Names that become hosts, object names or label values are valid DNS-1123 and fit 63-character labels. */
import type { Check } from './check.ts';
import { MSG } from '../messages.ts';
import { DEFAULTS, tiers } from '../../model/context.ts';
import { dns1123LabelError, dns1123SubdomainError } from '../dns.ts';
import { defaultGlobalHost, gatewayName, localTierHost, remoteHost, serviceHost } from '../../model/naming.ts';

export const namesCheck: Check = {
  name: 'names',
  run(ctx, r) {
    const ts = tiers(ctx);
    const problems = new Set<string>();
    const label = (what: string, v: string) => {
      const e = dns1123LabelError(v);
      if (e) problems.add(`${what} ${e}`);
    };
    const host = (what: string, v: string) => {
      const e = dns1123SubdomainError(v);
      if (e) problems.add(`${what} ${e}`);
    };
    for (const t of ts) {
      label(`cluster name of ${t.key}:`, t.clusterName);
      label(`service name of ${t.key}:`, t.serviceName);
      label(`service namespace of ${t.key}:`, t.serviceNamespace);
      host(`local tier host of ${t.key}:`, localTierHost(t.serviceName, t.serviceNamespace));
      host(`local host of ${t.key}:`, serviceHost(t.serviceName, t.serviceNamespace, t.cluster.spec.clusterDomain ?? DEFAULTS.clusterDomain));
    }
    const primary = ts[0];
    if (primary) label('the receiving Gateway name (a DNS-1123 label, as istiod requires)', gatewayName(primary.serviceName));
    if (ctx.fs.spec.hostname !== undefined) host('spec.hostname', ctx.fs.spec.hostname);
    else if (primary) host('the derived global host', defaultGlobalHost(primary.serviceName, primary.serviceNamespace));
    if (primary && problems.size === 0) {
      for (const t of ts.slice(1)) host('the derived remote host', remoteHost(primary.serviceName, primary.serviceNamespace, t.clusterName));
    }
    for (const p of problems) r.report(MSG.InvalidName, ctx.ref, p);
  },
};
