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
      r.add('skip', 'SPC110', 'no management cluster given (inputs came from files): CRDs and controller not checked');
      return r.out;
    }
    if (m.unreachable !== undefined) {
      r.add('fail', 'SPC110', `cannot reach the management cluster (${m.via}): ${m.unreachable}`, { hint: 'check --kubeconfig/--management-context' });
      return r.out;
    }
    if (m.crdError !== undefined) {
      r.add('warn', 'SPC110', `could not read CustomResourceDefinitions: ${m.crdError}`, { hint: 'grant get on customresourcedefinitions, or check by hand: kubectl get crd -l app.kubernetes.io/part-of=spillway' });
    } else {
      const missing = KINDS.map((k) => `${k.plural}.${GROUP}`).filter((n) => !m.crds[n]?.includes(VERSION));
      if (missing.length > 0) r.add('fail', 'SPC110', `CRDs missing or not serving ${VERSION}: ${missing.join(', ')}`, { hint: 'spillway crds | kubectl apply -f -   (or spillway install | kubectl apply -f -)' });
      else r.add('pass', 'SPC110', `CRDs installed: ${KINDS.map((k) => `${k.plural}.${GROUP}`).join(', ')} (${VERSION})`);
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
    if (m.deployments.error === undefined && dep === undefined && !lease) {
      r.add('fail', 'SPC111', `no spillway-controller Deployment and no leader Lease in namespace ${m.namespace}: the controller is not installed`, { hint: 'spillway install | kubectl apply -f -   (or run spillway controller --kubeconfig ...)' });
    } else if (m.deployments.error === undefined && dep !== undefined && ready === 0) {
      r.add('fail', 'SPC111', `Deployment ${m.namespace}/spillway-controller has no ready replica`, { hint: `kubectl -n ${m.namespace} describe deploy spillway-controller; kubectl -n ${m.namespace} logs deploy/spillway-controller` });
    } else if (!lease) {
      r.add(m.leaseError ? 'warn' : 'fail', 'SPC111', m.leaseError ? `could not read Lease ${m.namespace}/spillway-controller: ${m.leaseError}` : `no controller has ever held Lease ${m.namespace}/spillway-controller`, {
        hint: m.leaseError ? 'grant get on leases in the controller namespace' : `kubectl -n ${m.namespace} logs deploy/spillway-controller`,
      });
    } else if (!holder || age === undefined || age > duration) {
      r.add('fail', 'SPC111', `no controller holds Lease ${m.namespace}/spillway-controller${holder ? ` (${holder} last renewed it ${age ?? '?'}s ago, lease ${duration}s)` : ''}: nothing keeps the clusters in sync`, {
        hint: `kubectl -n ${m.namespace} get pods -l app.kubernetes.io/name=spillway; kubectl -n ${m.namespace} logs deploy/spillway-controller`,
      });
    } else {
      r.add('pass', 'SPC111', `controller ${holder} leads (Lease renewed ${age}s ago)${dep ? `, Deployment ${ready} ready` : m.deployments.notServed ? '' : ', running outside a Deployment'}`);
    }
    return r.out;
  },
};
