import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/config.ts';
import { CliError } from './errors.ts';

/**
 * kubectl's loading rules (src/kube/config.ts) for the commands that talk to a cluster, failing as a one-line
 * CliError. A fresh KubeConfig per call, since it carries the current context.
 */
export function loadCliKubeConfig(path: string | undefined, context: string | undefined): KubeConfig {
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ kubeconfig: path, context });
  } catch (e) {
    throw new CliError((e as Error).message.split('\n')[0]!);
  }
  if (!kc.getCurrentCluster()) throw new CliError(`the kubeconfig has no current context with a cluster${context ? ` (context ${context})` : ''}`);
  return kc;
}
