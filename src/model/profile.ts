/**
 * Output profiles by Istio version. Each MeshCluster's objects are rendered with its own profile.
 * - modern (1.22+): networking.istio.io/v1, aggregate config as envoy.extensions.clusters.aggregate.v3.ClusterConfig
 * - v1beta1 (1.8 to 1.21): the same Envoy config, networking.istio.io/v1beta1 objects
 * - legacy (1.5 to 1.7): v1alpha3 objects and the aggregate config wrapped in a udpa TypedStruct naming the
 *   v2alpha type, the only form those Envoys understood
 */

export type ProfileName = 'modern' | 'v1beta1' | 'legacy';

export interface Profile {
  name: ProfileName;
  /** apiVersion of ServiceEntry, DestinationRule, Gateway and VirtualService. */
  networkingApiVersion: string;
  /** EnvoyFilter is only served as v1alpha3, in every version. */
  envoyFilterApiVersion: string;
  aggregateTypedConfig(clusters: string[]): Record<string, unknown>;
  /** A ServiceEntry workloadSelector selects Kubernetes pods (Istio 1.8+), so the local tier can be a host of its own. */
  workloadSelectorServiceEntry: boolean;
}

const AGGREGATE_V3 = 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig';

const v3Config = (clusters: string[]) => ({ '@type': AGGREGATE_V3, clusters });

export const PROFILES: Record<ProfileName, Profile> = {
  modern: { name: 'modern', networkingApiVersion: 'networking.istio.io/v1', envoyFilterApiVersion: 'networking.istio.io/v1alpha3', aggregateTypedConfig: v3Config, workloadSelectorServiceEntry: true },
  v1beta1: { name: 'v1beta1', networkingApiVersion: 'networking.istio.io/v1beta1', envoyFilterApiVersion: 'networking.istio.io/v1alpha3', aggregateTypedConfig: v3Config, workloadSelectorServiceEntry: true },
  legacy: {
    name: 'legacy',
    networkingApiVersion: 'networking.istio.io/v1alpha3',
    envoyFilterApiVersion: 'networking.istio.io/v1alpha3',
    aggregateTypedConfig: (clusters) => ({
      '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
      type_url: 'type.googleapis.com/envoy.config.cluster.aggregate.v2alpha.ClusterConfig',
      value: { clusters },
    }),
    workloadSelectorServiceEntry: false,
  },
};

export interface IstioVersion {
  minor: number;
  patch?: number;
}

export function parseIstioVersion(v: string): IstioVersion | undefined {
  const m = /^1\.(\d+)(?:\.(\d+))?$/.exec(v);
  if (!m) return undefined;
  return m[2] === undefined ? { minor: Number(m[1]) } : { minor: Number(m[1]), patch: Number(m[2]) };
}

/** The profile for a cluster's Istio version; undefined when the version is older than 1.5. */
export function profileFor(version: string | undefined): Profile | undefined {
  if (version === undefined) return PROFILES.modern;
  const v = parseIstioVersion(version);
  if (!v || v.minor < 5) return undefined;
  if (v.minor <= 7) return PROFILES.legacy;
  if (v.minor <= 21) return PROFILES.v1beta1;
  return PROFILES.modern;
}

/** Istio 1.8.0 to 1.8.2 sidecars could crash on an aggregate-cluster EnvoyFilter (istio/istio #28620). */
export function hasAggregateCrashBug(version: string | undefined): boolean {
  const v = version === undefined ? undefined : parseIstioVersion(version);
  return v !== undefined && v.minor === 8 && (v.patch === undefined || v.patch <= 2);
}
