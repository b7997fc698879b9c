/**
 * Paths of the upstream Go components the tests run against (Istio's CRD bundle, the istiod oracle; kube-apiserver,
 * etcd and kubectl), as
 * scripts/build-go-tools.mjs caches them under .cache/. Tests never build: a missing artifact is a one-line
 * error naming the command that builds it (`npm test` runs that command first, so this only trips when a
 * test file is run on its own in a fresh clone).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface GoToolPaths {
  istioVersion: string;
  istioCrds: string;
  istioOracle: string;
  kubeVersion: string;
  /** etcd + kube-apiserver (`serve`) and kubectl (`kubectl`) in one binary. */
  kubeCluster: string;
  /** A link to kubeCluster named kubectl. */
  kubectl: string;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = pathToFileURL(join(repoRoot, 'scripts', 'build-go-tools.mjs')).href;

// The build script is plain JavaScript (runnable without tsx); its path function is loaded in-process. The
// specifier is computed, so TypeScript types the module as unknown and each field is checked here.
const mod: unknown = await import(script);
const pathsFn: unknown = mod !== null && typeof mod === 'object' ? Reflect.get(mod, 'goToolPaths') : undefined;
const command: unknown = mod !== null && typeof mod === 'object' ? Reflect.get(mod, 'BUILD_COMMAND') : undefined;

export const BUILD_COMMAND = typeof command === 'string' ? command : 'node scripts/build-go-tools.mjs';

export function goToolPaths(): GoToolPaths {
  if (typeof pathsFn !== 'function') throw new Error('scripts/build-go-tools.mjs does not export goToolPaths');
  const p: unknown = pathsFn();
  const field = (k: keyof GoToolPaths): string => {
    const v: unknown = p !== null && typeof p === 'object' ? Reflect.get(p, k) : undefined;
    if (typeof v !== 'string') throw new Error(`scripts/build-go-tools.mjs: goToolPaths().${k} is not a string`);
    return v;
  };
  return { istioVersion: field('istioVersion'), istioCrds: field('istioCrds'), istioOracle: field('istioOracle'), kubeVersion: field('kubeVersion'), kubeCluster: field('kubeCluster'), kubectl: field('kubectl') };
}

/** The cached artifact's path, or an error naming the command that builds it. */
export function requireGoTool(which: 'istioCrds' | 'istioOracle' | 'kubeCluster' | 'kubectl'): string {
  const paths = goToolPaths();
  const path = paths[which];
  if (!existsSync(path)) {
    const what = which === 'istioCrds' ? `Istio CRD bundle (istio.io/istio ${paths.istioVersion})`
      : which === 'istioOracle' ? `istio-oracle binary (istio.io/istio ${paths.istioVersion})`
      : `kube-apiserver/etcd/kubectl binary (k8s.io/kubernetes ${paths.kubeVersion})`;
    const target = which === 'kubeCluster' || which === 'kubectl' ? ' kube-cluster' : '';
    throw new Error(`${what} is missing at ${relative(repoRoot, path)}: run \`${BUILD_COMMAND}${target}\``);
  }
  return path;
}
