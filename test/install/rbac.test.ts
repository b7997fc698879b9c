// The install's RBAC against what the controller does. CALLS is the reviewed list of API calls (from the
// controller's code and its brief); the first tests check that RBAC grants exactly that list, the last one greps
// the controller's code (src/kube, src/controller, src/cli/controller.ts) so that a new call fails here until
// CALLS and src/install/rbac.ts are updated together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GROUP } from '../../src/api/types.ts';
import { controllerClusterRules, controllerNamespaceRules, memberClusterRules, memberRootNamespaceRules } from '../../src/install/rbac.ts';
import type { PolicyRule } from '../../src/install/rbac.ts';
import { ISTIO_GROUP, ISTIO_RESOURCES } from '../../src/install/common.ts';

type Where = 'management' | 'management-namespace' | 'member' | 'member-root-namespace';
interface Call { where: Where; group: string; resources: readonly string[]; verbs: readonly string[]; why: string }

// Server-side apply (PATCH) of an object that does not exist yet is authorized as `create`.
const SSA_AND_PRUNE = ['create', 'patch', 'delete', 'get'];
const INFORMER = ['list', 'watch'];

const CALLS: Call[] = [
  { where: 'management', group: GROUP, resources: ['meshclusters', 'failoverservices'], verbs: INFORMER, why: 'inputs: informers' },
  { where: 'management', group: GROUP, resources: ['meshworkloadgrants'], verbs: INFORMER, why: 'tenancy: the grants informer (read only)' },
  { where: 'management', group: GROUP, resources: ['meshworkloads'], verbs: [...INFORMER, 'create', 'patch', 'delete'], why: 'discovery applies and prunes MeshWorkloads' },
  { where: 'management', group: GROUP, resources: ['meshclusters/status', 'failoverservices/status'], verbs: ['patch'], why: 'kube/ops.ts patchStatus: merge patch on the status subresource' },
  { where: 'management-namespace', group: '', resources: ['secrets'], verbs: INFORMER, why: 'member kubeconfigs, only in the controller namespace' },
  { where: 'management-namespace', group: 'coordination.k8s.io', resources: ['leases'], verbs: ['get', 'create', 'update'], why: 'kube/lease.ts: GET, POST, PUT' },
  { where: 'member', group: ISTIO_GROUP, resources: ISTIO_RESOURCES, verbs: INFORMER, why: 'controller/connection.ts: one label-selected informer per kind, all namespaces' },
  { where: 'member', group: ISTIO_GROUP, resources: ISTIO_RESOURCES.filter((r) => r !== 'envoyfilters'), verbs: SSA_AND_PRUNE, why: 'kube/ops.ts apply/delete in the FailoverService\'s namespace' },
  { where: 'member-root-namespace', group: ISTIO_GROUP, resources: ['envoyfilters'], verbs: SSA_AND_PRUNE, why: 'translate/envoy-filter.ts: EnvoyFilters live in the root namespace only' },
  { where: 'member', group: '', resources: ['services'], verbs: INFORMER, why: 'controller/connection.ts services informer' },
  { where: 'management', group: '', resources: ['events'], verbs: ['create'], why: 'controller/serving.ts: an Event when a client\'s serving tier changes (kube/ops.ts createEvent)' },
  { where: 'member', group: 'discovery.k8s.io', resources: ['endpointslices'], verbs: INFORMER, why: 'controller/serving.ts EndpointSlice informer: live tier shares' },
  { where: 'member', group: '', resources: ['namespaces', 'nodes', 'pods'], verbs: ['list'], why: 'controller/checks.ts via check/gather.ts: injection labels, NodePort addresses, sidecars and DNS capture of pods' },
  { where: 'member', group: '', resources: ['configmaps'], verbs: ['get', 'list'], why: 'check/gather.ts: mesh config, istio-ca-root-cert, CoreDNS (by name)' },
  { where: 'member', group: 'apps', resources: ['deployments'], verbs: ['list'], why: 'check/gather.ts: istiod and istiocoredns in the root namespace' },
  { where: 'member', group: ISTIO_GROUP, resources: ['sidecars'], verbs: ['list'], why: 'check/gather.ts: Sidecars that hide the global hosts' },
];

function rulesFor(where: Where): PolicyRule[] {
  if (where === 'member') return memberClusterRules();
  if (where === 'member-root-namespace') return [...memberRootNamespaceRules(), ...memberClusterRules()];
  if (where === 'management') return controllerClusterRules();
  return [...controllerNamespaceRules(), ...controllerClusterRules()];
}

/** RBAC's own matching: group, resource and verb each listed (wildcards would match everything). */
function allows(rules: PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => (r.apiGroups.includes(group) || r.apiGroups.includes('*'))
    && (r.resources.includes(resource) || r.resources.includes('*'))
    && (r.verbs.includes(verb) || r.verbs.includes('*'))
    && r.resourceNames === undefined);
}

function grantsOf(rules: PolicyRule[]): string[] {
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))).sort();
}

function callsOf(where: Where): string[] {
  return [...new Set(CALLS.filter((c) => c.where === where).flatMap((c) => c.resources.flatMap((r) => c.verbs.map((v) => `${c.group}/${r}:${v}`))))].sort();
}

test('every call the controller makes is allowed where it makes it', () => {
  for (const c of CALLS) {
    for (const r of c.resources) for (const v of c.verbs) assert.ok(allows(rulesFor(c.where), c.group, r, v), `${c.where}: ${v} ${c.group}/${r} (${c.why})`);
  }
});

test('least privilege: the roles grant exactly the calls, no wildcards, secrets and leases only in the namespace Role', () => {
  assert.deepEqual(grantsOf(controllerClusterRules()), callsOf('management'));
  assert.deepEqual(grantsOf(controllerNamespaceRules()), callsOf('management-namespace'));
  assert.deepEqual(grantsOf(memberClusterRules()), callsOf('member'));
  assert.deepEqual(grantsOf(memberRootNamespaceRules()), callsOf('member-root-namespace'));
  for (const rules of [controllerClusterRules(), controllerNamespaceRules(), memberClusterRules(), memberRootNamespaceRules()]) {
    assert.ok(!grantsOf(rules).some((g) => g.includes('*')), 'no wildcards');
  }
  for (const rules of [controllerClusterRules(), memberClusterRules()]) {
    assert.ok(!allows(rules, '', 'secrets', 'get') && !allows(rules, '', 'secrets', 'list'), 'no cluster-wide secret access');
    assert.ok(!allows(rules, 'coordination.k8s.io', 'leases', 'update'), 'no cluster-wide lease writes');
  }
  // EnvoyFilters reach every proxy: written only through the root-namespace Role, never cluster-wide.
  for (const v of ['create', 'patch', 'delete', 'update']) assert.ok(!allows(memberClusterRules(), ISTIO_GROUP, 'envoyfilters', v), `no cluster-wide ${v} on envoyfilters`);
  // The controller's own identity holds no Istio, Service or EndpointSlice rights in the management cluster
  // (registering that cluster as a member with `cluster register --management` binds the member roles to it).
  assert.ok(!controllerClusterRules().some((r) => r.apiGroups.includes(ISTIO_GROUP) || r.resources.includes('services') || r.resources.includes('endpointslices')));
  // Inputs are never written by the controller, only their status.
  for (const r of ['meshclusters', 'failoverservices']) for (const v of ['create', 'update', 'patch', 'delete']) assert.ok(!allows(controllerClusterRules(), GROUP, r, v));
});

// ---- the controller's code -------------------------------------------------------------------------------

const ROOT = join(import.meta.dirname, '..', '..');
const CODE = ['src/kube', 'src/controller', 'src/cli/controller.ts', 'src/check/gather.ts'].map((p) => join(ROOT, p));

function files(p: string, out: string[] = []): string[] {
  if (!existsSync(p)) return out;
  if (!statSync(p).isDirectory()) {
    if (p.endsWith('.ts')) out.push(p);
    return out;
  }
  for (const n of readdirSync(p).sort()) files(join(p, n), out);
  return out;
}

const METHOD_VERBS: Record<string, string[]> = { GET: ['get', 'list'], POST: ['create'], PUT: ['update'], PATCH: ['patch'], DELETE: ['delete'] };
const allCalls = (group: string, resource: string): string[] => CALLS.filter((c) => c.group === group && c.resources.includes(resource)).flatMap((c) => c.verbs);

test('the controller\'s code makes no API call that CALLS (and so RBAC) lacks', { skip: existsSync(join(ROOT, 'src/kube/resources.ts')) ? false : 'the controller is not written yet' }, async () => {
  // Resource constants as the controller's code names them, read from its own table.
  const mod = (await import('../../src/kube/resources.ts')) as Record<string, unknown>;
  const constants = new Map<string, { group: string; plural: string }[]>();
  for (const [name, value] of Object.entries(mod)) {
    const one = (v: unknown) => (v !== null && typeof v === 'object' && typeof (v as { plural?: unknown }).plural === 'string' ? v as { group?: string; plural: string } : undefined);
    if (one(value)) constants.set(name, [{ group: one(value)!.group ?? ISTIO_GROUP, plural: one(value)!.plural }]);
    else if (Array.isArray(value) && value.every(one)) constants.set(name, value.map((v) => ({ group: one(v)!.group ?? ISTIO_GROUP, plural: one(v)!.plural })));
  }
  assert.ok(constants.has('LEASES') && constants.has('OUTPUT_KINDS'), 'found the resource table');

  const sources = CODE.flatMap((p) => files(p)).filter((f) => !f.endsWith('resources.ts'));
  assert.ok(sources.length > 0);
  let checkedMethods = 0;
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    const rel = file.slice(ROOT.length + 1);
    const methods = [...new Set([...text.matchAll(/method:\s*'([A-Z]+)'/g)].map((m) => m[1]!))];
    if (/\.watch\(/.test(text)) methods.push('WATCH');
    const resources = [...constants.entries()].filter(([name]) => new RegExp(`\\b${name}\\b`).test(text)).flatMap(([, rs]) => rs);
    for (const { group, plural } of resources) {
      assert.ok(allCalls(group, plural).length > 0, `${rel} uses ${group}/${plural}, which CALLS does not list`);
    }
    for (const m of methods) {
      const verbs = m === 'WATCH' ? ['watch'] : METHOD_VERBS[m];
      assert.ok(verbs, `${rel}: unknown method ${m}`);
      checkedMethods++;
      if (resources.length > 0) {
        // A file bound to named resources: the method must be allowed on each of them.
        for (const { group, plural } of resources) {
          assert.ok(verbs.some((v) => allCalls(group, plural).includes(v)), `${rel}: ${m} on ${group}/${plural} is not in CALLS`);
        }
      } else {
        // Generic helpers (client, informer, ops): the verb must be allowed for something.
        assert.ok(CALLS.some((c) => c.verbs.some((v) => verbs.includes(v))), `${rel}: ${m} is not in CALLS at all`);
      }
    }
    if (/'status'\)/.test(text) && methods.includes('PATCH')) {
      assert.ok(CALLS.some((c) => c.resources.some((r) => r.endsWith('/status')) && c.verbs.includes('patch')), `${rel} patches a status subresource`);
    }
    if (methods.includes('PUT') && resources.length === 0) assert.fail(`${rel}: a PUT on an unnamed resource; RBAC grants update on leases only`);
  }
  assert.ok(checkedMethods > 0, 'the grep found API calls');
});
