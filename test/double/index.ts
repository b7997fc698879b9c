// Public surface of the Kubernetes API test double.
export { KubeDouble, WRITE_VERBS } from './server.ts';
export type { FailureHandle, FailureSpec, HoldHandle, KubeDoubleOptions, RequestInfo, RequestMatcher, RequestRecord, Verb } from './server.ts';
export { kubeconfigObject, kubeconfigYaml } from './kubeconfig.ts';
export type { KubeconfigInput } from './kubeconfig.ts';
export type { Json, JsonObject } from './json.ts';
