// Kubeconfig files for doubles. Facts that shape them:
// - @kubernetes/client-node 1.4 refuses an http:// server unless the cluster entry sets
//   `insecure-skip-tls-verify: true` (its createAgent throws otherwise), and skips auth setup when the
//   context has no user; so plain-HTTP configs carry that flag and a (meaningless) token user.
// - kubectl accepts the same flag for an http:// server; for https it trusts `certificate-authority-data`.
import yaml from 'js-yaml';

export interface KubeconfigInput {
  name: string;
  server: string;
  /** PEM of the CA to trust (https); omitted for http. */
  caPem?: string | undefined;
  namespace?: string;
}

export function kubeconfigObject(k: KubeconfigInput): Record<string, unknown> {
  const cluster: Record<string, unknown> = { server: k.server };
  if (k.caPem) cluster['certificate-authority-data'] = Buffer.from(k.caPem, 'utf8').toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: k.name, cluster }],
    users: [{ name: k.name, user: { token: 'kube-double' } }],
    contexts: [{ name: k.name, context: { cluster: k.name, user: k.name, namespace: k.namespace ?? 'default' } }],
    'current-context': k.name,
    preferences: {},
  };
}

export function kubeconfigYaml(k: KubeconfigInput): string {
  return yaml.dump(kubeconfigObject(k), { lineWidth: -1 });
}
