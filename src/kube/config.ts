/**
 * KubeConfig loading. One KubeConfig instance per cluster, never shared: client-node keeps the current
 * context on the instance, so sharing one would mix one cluster's URL with another's credentials.
 */
import { KubeConfig } from '@kubernetes/client-node';

export interface ConfigSource {
  /** Path to a kubeconfig file; absent means in-cluster configuration (service account). */
  kubeconfig?: string;
  context?: string;
}

export function loadKubeConfig(src: ConfigSource): KubeConfig {
  const kc = new KubeConfig();
  if (src.kubeconfig) kc.loadFromFile(src.kubeconfig);
  else kc.loadFromCluster();
  if (src.context) selectContext(kc, src.context);
  return kc;
}

/** A member cluster's kubeconfig from its Secret's `kubeconfig` key (already base64-decoded). */
export function kubeConfigFromText(text: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  if (context) selectContext(kc, context);
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current context with a cluster');
  return kc;
}

function selectContext(kc: KubeConfig, name: string): void {
  if (!kc.getContextObject(name)) throw new Error(`context "${name}" is not in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  kc.setCurrentContext(name);
}
