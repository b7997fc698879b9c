/**
 * SPC130: one root of trust. A client sidecar checks the remote gateway's certificate against its own root, and
 * the gateway checks the client against its own: Istio mTLS across clusters needs every pair of clusters that
 * talk (a client and each of its remote tiers) to share a root. Compared by SHA-256 fingerprint of the
 * certificates in each cluster's `istio-ca-root-cert` ConfigMap.
 */
import type { RootCertRef } from '../../api/messages.ts';
import type { Check, RootCert } from '../types.ts';
import { meshCluster, results, rootNamespace, serviceViews } from '../view.ts';

export const rootOfTrustCheck: Check = {
  name: 'root-of-trust',
  title: 'one root of trust across member clusters (istio-ca-root-cert)',
  run(s) {
    const r = results(this.name);
    // Pairs that need a shared root: each ISTIO_MUTUAL client with each remote tier it fails over to.
    const pairs = new Map<string, [string, string]>();
    const involved = new Set<string>();
    for (const v of serviceViews(s)) {
      if ((v.fs.spec.tls?.mode ?? 'ISTIO_MUTUAL') !== 'ISTIO_MUTUAL') continue;
      for (const c of v.clusters) {
        for (const other of c.failoverOrder) {
          if (other === c.cluster) continue;
          const [a, b] = [c.cluster, other].sort() as [string, string];
          pairs.set(`${a}\u0000${b}`, [a, b]);
          involved.add(a).add(b);
        }
      }
    }
    const roots = new Map<string, RootCert[]>();
    for (const name of [...involved].sort()) {
      const f = s.clusters[name];
      if (!f || f.unreachable !== undefined) continue;
      const rootNs = rootNamespace(meshCluster(s, name));
      const sources = Object.entries(f.roots).filter((e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== undefined);
      const bad = sources.find(([, t]) => t.error !== undefined);
      if (sources.length === 0) {
        r.finding('fail', 'SPC130', { result: 'noRoot', cluster: name, lookedIn: [rootNs, ...Object.keys(f.roots).filter((n) => n !== rootNs)] }, { cluster: name });
        continue;
      }
      if (bad) {
        r.finding('fail', 'SPC130', { result: 'unreadable', cluster: name, source: bad[1].source, error: bad[1].error ?? '' }, { cluster: name, object: bad[1].source });
        continue;
      }
      // Namespaces of one cluster should agree (they differ only mid-rotation).
      const sets = new Map<string, string[]>();
      for (const [, t] of sources) {
        const k = t.certs.map((c) => c.sha256).sort().join(',');
        sets.set(k, [...(sets.get(k) ?? []), t.source]);
      }
      if (sets.size > 1) r.finding('warn', 'SPC130', { result: 'rotating', cluster: name, groups: [...sets.values()] }, { cluster: name });
      const union = new Map<string, RootCert>();
      for (const [, t] of sources) for (const c of t.certs) union.set(c.sha256, c);
      roots.set(name, [...union.values()]);
    }
    const refs = (certs: RootCert[]): RootCertRef[] => certs.map((c) => ({ subject: c.subject, sha256: c.sha256 }));
    let failed = false;
    for (const [a, b] of [...pairs.values()].sort((x, y) => (x.join() < y.join() ? -1 : 1))) {
      const ra = roots.get(a);
      const rb = roots.get(b);
      if (!ra || !rb) continue;
      const shared = ra.filter((c) => rb.some((d) => d.sha256 === c.sha256));
      if (shared.length === 0) {
        failed = true;
        r.finding('fail', 'SPC130', { result: 'different', clusters: [a, b], roots: [refs(ra), refs(rb)] }, { clusters: [a, b] });
      }
    }
    if (!failed && roots.size > 0) {
      const all = [...roots.values()].flat();
      const common = [...new Map(all.map((c) => [c.sha256, c])).values()].filter((c) => [...roots.values()].every((set) => set.some((d) => d.sha256 === c.sha256)));
      const clusters = [...roots.keys()].sort();
      r.finding('pass', 'SPC130', { result: 'shared', clusters, common: refs(common) }, { clusters });
    }
    if (r.out.length === 0) r.finding('skip', 'SPC130', { result: 'noMutualSpillover' });
    return r.out;
  },
};
