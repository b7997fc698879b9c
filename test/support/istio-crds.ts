/**
 * Istio's CRD bundle (manifests/charts/base/files/crd-all.gen.yaml of the istio.io/istio module pinned in
 * tools/go.mod, fetched by scripts/build-go-tools.mjs) as a strict schema check for tests.
 *
 * Every served version of every kind is indexed by (group/version, kind). validateIstioObject() treats
 * every object schema without x-kubernetes-preserve-unknown-fields as closed, so a misspelled field
 * (which a real API server would silently prune) is an issue.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { validate } from '../../src/schema/structural.ts';
import { requireGoTool } from './go-tools.ts';
import type { JSONSchemaProps, SchemaIssue } from '../../src/schema/structural.ts';

/** Path of the cached bundle; throws a one-line error naming the build command when it is missing. */
export function istioCrdBundlePath(): string {
  return requireGoTool('istioCrds');
}

/** Every document of the bundle (parsed once per process). */
let bundle: unknown[] | undefined;
export function istioCrdDocuments(): unknown[] {
  bundle ??= yaml.loadAll(readFileSync(istioCrdBundlePath(), 'utf8'));
  return bundle;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
}
interface Crd {
  kind?: string;
  spec?: { group?: string; names?: { kind?: string }; versions?: CrdVersion[] };
}

let index: Map<string, JSONSchemaProps> | undefined;

function key(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}

function load(): Map<string, JSONSchemaProps> {
  if (index) return index;
  const docs = istioCrdDocuments() as (Crd | null | undefined)[];
  const m = new Map<string, JSONSchemaProps>();
  for (const d of docs) {
    if (!d || d.kind !== 'CustomResourceDefinition' || !d.spec?.group || !d.spec.names?.kind) continue;
    for (const v of d.spec.versions ?? []) {
      const schema = v.schema?.openAPIV3Schema;
      if (v.served === false || !schema) continue;
      m.set(key(`${d.spec.group}/${v.name}`, d.spec.names.kind), schema);
    }
  }
  index = m;
  return m;
}

/** The openAPIV3Schema that the bundle serves for apiVersion ("group/version") and kind, if any. */
export function istioSchemaFor(apiVersion: string, kind: string): JSONSchemaProps | undefined {
  return load().get(key(apiVersion, kind));
}

/** Every served (apiVersion, kind) pair of the bundle, sorted. */
export function istioServedKinds(): { apiVersion: string; kind: string }[] {
  return [...load().keys()].sort().map((k) => {
    const [apiVersion = '', kind = ''] = k.split('|');
    return { apiVersion, kind };
  });
}

/** Validate an Istio object (closed schemas, CEL rules evaluated) against the schema of its apiVersion/kind. */
export function validateIstioObject(obj: unknown): SchemaIssue[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return [{ path: '', keyword: 'type', message: 'expected an object' }];
  }
  const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return [{ path: typeof apiVersion !== 'string' ? 'apiVersion' : 'kind', keyword: 'required', message: 'apiVersion and kind must be strings' }];
  }
  const schema = istioSchemaFor(apiVersion, kind);
  if (!schema) {
    return [{ path: 'apiVersion', keyword: 'apiVersion', message: `${kind} ${apiVersion} is not served by the Istio CRD bundle` }];
  }
  return validate(schema, obj, { closed: true });
}
