/** Names that become hosts, object names or label values are valid DNS-1123 and fit 63-character labels. */
import type { Check } from './check.ts';
import { renderMessage } from '../messages.ts';
import type { NameSubject, ParamsOf } from '../messages.ts';
import { DEFAULTS, tiers } from '../../model/context.ts';
import { dns1123LabelError, dns1123SubdomainError } from '../dns.ts';
import { defaultGlobalHost, gatewayName, localTierHost, remoteHost, serviceHost } from '../../model/naming.ts';

export const namesCheck: Check = {
  name: 'names',
  run(ctx, r) {
    const ts = tiers(ctx);
    // One message per distinct text: two workloads with the same bad name say it once.
    const problems = new Map<string, ParamsOf<'SPW111'>>();
    const add = (p: ParamsOf<'SPW111'>) => {
      const key = renderMessage('SPW111', p);
      if (!problems.has(key)) problems.set(key, p);
    };
    const label = (subject: NameSubject, v: string, workload?: string) => {
      const e = dns1123LabelError(v);
      if (e) add({ subject, ...(workload !== undefined ? { workload } : {}), problem: e });
    };
    const host = (subject: NameSubject, v: string, workload?: string) => {
      const e = dns1123SubdomainError(v);
      if (e) add({ subject, ...(workload !== undefined ? { workload } : {}), problem: e });
    };
    for (const t of ts) {
      label('clusterName', t.clusterName, t.key);
      label('serviceName', t.serviceName, t.key);
      label('serviceNamespace', t.serviceNamespace, t.key);
      host('localTierHost', localTierHost(t.serviceName, t.serviceNamespace), t.key);
      host('localHost', serviceHost(t.serviceName, t.serviceNamespace, t.cluster.spec.clusterDomain ?? DEFAULTS.clusterDomain), t.key);
    }
    const primary = ts[0];
    if (primary) label('gatewayName', gatewayName(primary.serviceName));
    if (ctx.fs.spec.hostname !== undefined) host('hostname', ctx.fs.spec.hostname);
    else if (primary) host('globalHost', defaultGlobalHost(primary.serviceName, primary.serviceNamespace));
    if (primary && problems.size === 0) {
      for (const t of ts.slice(1)) host('remoteHost', remoteHost(primary.serviceName, primary.serviceNamespace, t.clusterName));
    }
    for (const p of problems.values()) r.report('SPW111', ctx.ref, p, p.subject === 'hostname' ? 'spec.hostname' : undefined);
  },
};
