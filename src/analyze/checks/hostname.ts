/**
 * `spec.hostname` may not take a host that Kubernetes or another namespace owns. A Kubernetes Service host
 * (`*.svc.<clusterDomain>` for any member's cluster domain) is refused outright: the EnvoyFilter would replace
 * that Service's cluster for every proxy in the mesh. Otherwise the host must be
 * `<anything>.<namespace>.<suffix>` with the FailoverService's own namespace and an allowed suffix (default
 * `global`; `--host-suffix` on the CLI and the controller), so one namespace can never claim another's hosts.
 */
import type { Check } from './check.ts';
import type { FailoverContext } from '../../model/context.ts';
import { DEFAULTS } from '../../model/context.ts';
import { DEFAULT_POLICY } from '../../model/snapshot.ts';
import { defaultGlobalHost } from '../../model/naming.ts';

/** The cluster domains of every MeshCluster (default cluster.local), lower case. */
function clusterDomains(clusters: Iterable<{ spec: { clusterDomain?: string } }>): Set<string> {
  const out = new Set<string>([DEFAULTS.clusterDomain]);
  for (const c of clusters) out.add((c.spec.clusterDomain ?? DEFAULTS.clusterDomain).toLowerCase().replace(/\.$/, ''));
  return out;
}

/** The FailoverService's global host, lower case: spec.hostname, else the derived one (undefined without a first workload). */
export function globalHostOf(ctx: FailoverContext): string | undefined {
  const host = ctx.fs.spec.hostname?.toLowerCase().replace(/\.$/, '');
  if (host !== undefined) return host;
  const first = ctx.listed[0]?.workload;
  return first ? defaultGlobalHost(first.spec.service.name, first.spec.service.namespace ?? first.metadata.namespace ?? 'default') : undefined;
}

export const hostnameCheck: Check = {
  name: 'hostname',
  run(ctx, r) {
    const host = ctx.fs.spec.hostname?.toLowerCase().replace(/\.$/, '');
    // The mesh's own ServiceEntries (from the members, or in the input): replacing one's cluster for every proxy
    // would take over traffic someone else routes. The derived host is checked too.
    const foreign = ctx.snapshot.policy?.foreignHosts;
    const effective = globalHostOf(ctx);
    const where = effective !== undefined ? foreign?.get(effective) : undefined;
    if (where !== undefined) {
      r.report('SPW143', ctx.ref, { host: effective!, derived: host === undefined, owner: where }, host !== undefined ? 'spec.hostname' : undefined);
      return;
    }
    if (host === undefined) return; // the derived host is <service>-global.<namespace>.global
    const own = (ctx.fs.metadata.namespace ?? 'default').toLowerCase();
    for (const d of clusterDomains(ctx.snapshot.clusters.values())) {
      if (host === `svc.${d}` || host.endsWith(`.svc.${d}`)) {
        r.report('SPW141', ctx.ref, { host, clusterDomain: d, namespace: own }, 'spec.hostname');
        return;
      }
    }
    const suffixes = (ctx.snapshot.policy ?? DEFAULT_POLICY).hostSuffixes;
    if (!suffixes.some((s) => host.endsWith(`.${own}.${s.toLowerCase()}`))) {
      r.report('SPW142', ctx.ref, { host, namespace: own, suffixes: [...suffixes] }, 'spec.hostname');
    }
  },
};
