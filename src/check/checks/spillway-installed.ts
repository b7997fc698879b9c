/** SPC110: Spillway's CRDs in the management cluster. SPC111: a controller holds the leader Lease and renews it. */
import { KINDS } from '../../api/schemas.ts';
import { GROUP, VERSION } from '../../api/types.ts';
import type { Check } from '../types.ts';
import { isRecord, results } from '../view.ts';

export const spillwayInstalledCheck: Check = {
  name: 'spillway-installed',
  title: 'Spillway\'s CRDs and controller in the management cluster',
  run(s) {
    const r = results(this.name);
    const m = s.management;
    if (!m) {
      r.finding('skip', 'SPC110', { result: 'noManagement' });
      return r.out;
    }
    if (m.unreachable !== undefined) {
      r.finding('fail', 'SPC110', { result: 'unreachable', via: m.via, error: m.unreachable });
      return r.out;
    }
    if (m.crdError !== undefined) {
      r.finding('warn', 'SPC110', { result: 'crdsUnreadable', error: m.crdError });
    } else {
      const missing = KINDS.map((k) => `${k.plural}.${GROUP}`).filter((n) => !m.crds[n]?.includes(VERSION));
      if (missing.length > 0) r.finding('fail', 'SPC110', { result: 'crdsMissing', version: VERSION, missing });
      else r.finding('pass', 'SPC110', { result: 'installed', version: VERSION, crds: KINDS.map((k) => `${k.plural}.${GROUP}`) });
    }

    const dep = m.deployments.items.find((d) => d.metadata.name === 'spillway-controller');
    const st = isRecord(dep?.['status']) ? (dep['status'] as Record<string, unknown>) : {};
    const ready = Number(st['readyReplicas'] ?? 0);
    const lease = m.lease;
    const ls = isRecord(lease?.['spec']) ? (lease['spec'] as Record<string, unknown>) : {};
    const holder = typeof ls['holderIdentity'] === 'string' ? ls['holderIdentity'] : '';
    const renew = typeof ls['renewTime'] === 'string' ? Date.parse(ls['renewTime']) : NaN;
    const duration = Number(ls['leaseDurationSeconds'] ?? 15);
    const age = Number.isFinite(renew) ? Math.max(0, Math.round((s.now.getTime() - renew) / 1000)) : undefined;
    const namespace = m.namespace;
    if (m.deployments.error === undefined && dep === undefined && !lease) {
      r.finding('fail', 'SPC111', { result: 'notInstalled', namespace });
    } else if (m.deployments.error === undefined && dep !== undefined && ready === 0) {
      r.finding('fail', 'SPC111', { result: 'notReady', namespace });
    } else if (!lease) {
      if (m.leaseError) r.finding('warn', 'SPC111', { result: 'leaseUnreadable', namespace, error: m.leaseError });
      else r.finding('fail', 'SPC111', { result: 'neverHeld', namespace });
    } else if (!holder || age === undefined || age > duration) {
      r.finding('fail', 'SPC111', { result: 'notHeld', namespace, ...(holder ? { holder } : {}), ...(age !== undefined ? { renewedSecondsAgo: age } : {}), leaseSeconds: duration });
    } else {
      r.finding('pass', 'SPC111', { result: 'leads', holder, renewedSecondsAgo: age, deployment: dep ? 'ready' : m.deployments.notServed ? 'notServed' : 'none', ready });
    }
    return r.out;
  },
};
