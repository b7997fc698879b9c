/**
 * Mesh-wide checks across FailoverServices, oldest first so that an existing service is never displaced by a
 * newer one: hosts and services claimed twice, and virtual-address allocation.
 */
import type { FailoverPlan } from '../translate/plan.ts';
import { MSG } from './messages.ts';
import type { Reporter } from './messages.ts';
import { allocateAddresses, isIPv4 } from '../translate/address.ts';

/** Returns the plans that survive, with addresses assigned; reports the rest. Input must be oldest first. */
export function checkMesh(plans: readonly FailoverPlan[], r: Reporter): FailoverPlan[] {
  const hostOwner = new Map<string, string>();
  const serviceOwner = new Map<string, string>();
  const kept: FailoverPlan[] = [];
  for (const p of plans) {
    let ok = true;
    if (p.fs.spec.address !== undefined && !isIPv4(p.fs.spec.address)) {
      r.report(MSG.InvalidAddress, p.ref, `spec.address "${p.fs.spec.address}" is not an IPv4 address`);
      ok = false;
    }
    const hosts = [p.globalHost, ...new Set(p.clients.flatMap((c) => c.remotes.map((x) => x.host)))];
    for (const h of hosts) {
      const owner = hostOwner.get(h);
      if (owner !== undefined && owner !== p.ref) {
        r.report(MSG.HostConflict, p.ref, `host ${h} is already claimed by ${owner}`);
        ok = false;
      }
    }
    for (const t of p.targets) {
      const key = `${t.serviceNamespace}/${t.serviceName} in cluster ${t.clusterName}`;
      const owner = serviceOwner.get(key);
      if (owner !== undefined && owner !== p.ref) {
        r.report(MSG.ServiceConflict, p.ref, `service ${key} is already served by ${owner}`);
        ok = false;
      }
    }
    if (!ok) continue;
    for (const h of hosts) hostOwner.set(h, p.ref);
    for (const t of p.targets) serviceOwner.set(`${t.serviceNamespace}/${t.serviceName} in cluster ${t.clusterName}`, p.ref);
    kept.push(p);
  }

  const outcomes = allocateAddresses(kept.map((p) => ({ owner: p.ref, host: p.globalHost, ...(p.fs.spec.address !== undefined ? { pinned: p.fs.spec.address } : {}) })));
  const survivors: FailoverPlan[] = [];
  kept.forEach((p, i) => {
    const o = outcomes[i]!;
    if ('conflict' in o) {
      r.report(MSG.AddressConflict, p.ref, `spec.address ${o.conflict.address} is already used by ${o.conflict.takenBy}`);
      return;
    }
    if (o.moved) r.report(MSG.AddressMoved, p.ref, `address ${o.moved.from} derived from ${p.globalHost} is used by ${o.moved.takenBy}; using ${o.address} (pin it with spec.address to keep it)`);
    survivors.push({ ...p, address: o.address });
  });
  return survivors;
}
