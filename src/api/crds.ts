/** CustomResourceDefinitions for Spillway's kinds, generated from the same schemas the analyzer validates with. */
import { GROUP, VERSION } from './types.ts';
import type { KubeObject } from './types.ts';
import { KINDS } from './schemas.ts';

export function customResourceDefinitions(): KubeObject[] {
  return KINDS.map((k) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'spillway' } },
    spec: {
      group: GROUP,
      scope: k.namespaced ? 'Namespaced' : 'Cluster',
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.kind.toLowerCase(), shortNames: k.shortNames, categories: ['spillway'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: k.kind === 'MeshWorkload' || k.kind === 'MeshWorkloadGrant' ? {} : { status: {} },
          schema: { openAPIV3Schema: k.schema },
          additionalPrinterColumns: printerColumns(k.kind),
        },
      ],
    },
  }));
}

function printerColumns(kind: string): { name: string; type: string; jsonPath: string }[] {
  const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
  switch (kind) {
    case 'MeshCluster':
      return [{ name: 'Gateway', type: 'string', jsonPath: '.spec.gateway.address' }, { name: 'Reachable', type: 'boolean', jsonPath: '.status.reachable' }, age];
    case 'MeshWorkloadGrant':
      return [{ name: 'From', type: 'string', jsonPath: '.spec.from[*].namespace' }, age];
    case 'MeshWorkload':
      return [{ name: 'Cluster', type: 'string', jsonPath: '.spec.cluster' }, { name: 'Service', type: 'string', jsonPath: '.spec.service.name' }, age];
    default:
      return [{ name: 'Accepted', type: 'string', jsonPath: '.status.conditions[?(@.type=="Accepted")].status' }, { name: 'Programmed', type: 'string', jsonPath: '.status.conditions[?(@.type=="Programmed")].status' }, age];
  }
}
