/** Manifest builders for installing the controller and registering clusters (pure: no I/O). */
export * from './common.ts';
export { installManifests, installOptionErrors } from './install.ts';
export type { InstallOptions } from './install.ts';
export { controllerClusterRules, controllerNamespaceRules, memberClusterRules, memberRootNamespaceRules, memberRbacManifests, managementMemberManifests, controllerRbacManifests } from './rbac.ts';
export type { MemberRbacOptions, PolicyRule } from './rbac.ts';
export { registerClusterManifests, RegisterError } from './register.ts';
export type { RegisterOptions, RegisterResult } from './register.ts';
export { minimizeKubeconfig, parseKubeconfig, isLoopbackServer, KubeconfigError } from './kubeconfig.ts';
export type { MinimizeOptions, MinimizedKubeconfig } from './kubeconfig.ts';
