/**
 * Mesh-wide checks across FailoverServices, oldest first so that an existing service is never displaced by a
 * newer one: hosts and services claimed twice, and virtual-address allocation.
 */
import type { FailoverPlan } from '../model/plan.ts';
import type { Reporter } from './messages.ts';
import { allocateAddresses, candidateAddress, inIstioAutoAllocationRange, isIPv4 } from '../model/address.ts';

/** What checkMesh reads of a plan, derived once per plan (cached renders hand out the same plans). */
interface MeshClaims {
  hosts: string[];
  services: string[];
  derived: string;
  /** The plan with its address set, as last returned (kept while the address stays). */
  placed?: FailoverPlan;
  sig?: string;
}
const claimsOf = new WeakMap<FailoverPlan, MeshClaims>();

function claims(p: FailoverPlan): MeshClaims {
  let c = claimsOf.get(p);
  if (!c) {
    c = {
      hosts: [p.globalHost, ...new Set(p.clients.flatMap((x) => [...(x.local.localTier.dedicated ? [x.local.localTier.host] : []), ...x.remotes.map((rm) => rm.host)]))],
      services: p.targets.map((t) => `${t.serviceNamespace}/${t.serviceName} in cluster ${t.clusterName}`),
      derived: candidateAddress(p.globalHost, 0),
    };
    claimsOf.set(p, c);
  }
  return c;
}

/**
 * Everything checkMesh reads of a plan, as one string: two plans with the same signature at the same place in the
 * order meet the same outcome (hosts and service keys as sets: the order they are claimed in changes nothing).
 */
export function meshSignature(p: FailoverPlan): string {
  const c = claims(p);
  return (c.sig ??= JSON.stringify([p.globalHost, [...c.hosts].sort(), [...c.services].sort(), p.fs.spec.address ?? null]));
}

/** The plan with its address set, as checkMesh returns a survivor (the same object while plan and address stay). */
export function placed(p: FailoverPlan, address: string): FailoverPlan {
  const c = claims(p);
  if (c.placed?.address !== address) c.placed = { ...p, address };
  return c.placed;
}

/** Returns the plans that survive, with addresses assigned; reports the rest. Input must be oldest first. */
export function checkMesh(plans: readonly FailoverPlan[], r: Reporter): FailoverPlan[] {
  const hostOwner = new Map<string, string>();
  const serviceOwner = new Map<string, string>();
  const kept: FailoverPlan[] = [];
  for (const p of plans) {
    let ok = true;
    if (p.fs.spec.address !== undefined && !isIPv4(p.fs.spec.address)) {
      r.report('SPW123', p.ref, { address: p.fs.spec.address }, 'spec.address');
      ok = false;
    } else if (p.fs.spec.address !== undefined && inIstioAutoAllocationRange(p.fs.spec.address)) {
      r.report('SPW131', p.ref, { address: p.fs.spec.address }, 'spec.address');
    }
    const { hosts, services } = claims(p);
    for (const h of hosts) {
      const owner = hostOwner.get(h);
      if (owner !== undefined && owner !== p.ref) {
        r.report('SPW112', p.ref, { host: h, owner });
        ok = false;
      }
    }
    for (const key of services) {
      const owner = serviceOwner.get(key);
      if (owner !== undefined && owner !== p.ref) {
        r.report('SPW113', p.ref, { service: key, owner });
        ok = false;
      }
    }
    if (!ok) continue;
    for (const h of hosts) hostOwner.set(h, p.ref);
    for (const key of services) serviceOwner.set(key, p.ref);
    kept.push(p);
  }

  const outcomes = allocateAddresses(kept.map((p) => ({ owner: p.ref, host: p.globalHost, derived: claims(p).derived, ...(p.fs.spec.address !== undefined ? { pinned: p.fs.spec.address } : {}) })));
  const survivors: FailoverPlan[] = [];
  kept.forEach((p, i) => {
    const o = outcomes[i]!;
    if ('conflict' in o) {
      r.report('SPW114', p.ref, { address: o.conflict.address, owner: o.conflict.takenBy }, 'spec.address');
      return;
    }
    if (o.moved) r.report('SPW115', p.ref, { from: o.moved.from, host: p.globalHost, owner: o.moved.takenBy, address: o.address });
    survivors.push(placed(p, o.address));
  });
  return survivors;
}
