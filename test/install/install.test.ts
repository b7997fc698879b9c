import { test } from 'node:test';
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { KINDS } from '../../src/api/schemas.ts';
import { GROUP, VERSION } from '../../src/api/types.ts';
import { installManifests, installOptionErrors } from '../../src/install/install.ts';
import { METRICS_PORT } from '../../src/install/common.ts';
import { installCommand } from '../../src/cli/install.ts';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Obj;
};
const arr = (v: unknown): unknown[] => {
  assert.ok(Array.isArray(v), `expected an array, got ${JSON.stringify(v)}`);
  return v;
};

function runInstall(opts: Parameters<typeof installCommand>[0]): { code: number; out: string; err: string } {
  let out = '', err = '';
  const code = installCommand(opts, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

function parseStream(text: string): Obj[] {
  return yaml.loadAll(text).filter((d) => d !== null && d !== undefined).map(obj);
}

const EXPECTED: Record<string, string> = {
  Namespace: 'v1',
  CustomResourceDefinition: 'apiextensions.k8s.io/v1',
  ServiceAccount: 'v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  Service: 'v1',
  PodDisruptionBudget: 'policy/v1',
  Deployment: 'apps/v1',
};
const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

test('install prints a YAML stream whose objects have the right apiVersion and scope, namespace first', () => {
  const { code, out, err } = runInstall({ namespace: 'mesh-ctl' });
  assert.equal(code, 0);
  // The default image is a local build's tag: stderr says so, and how to build and push one, in one line.
  assert.match(err, /^spillway: the Deployment runs image spillway:\d+\.\d+\.\d+, the tag a local docker build gives; no Spillway image is published: build and push one .*docker build -t REGISTRY\/spillway:.* docker push .* --image REGISTRY\/spillway:[^\n]*\n$/);
  assert.match(out, /^# Image: the Deployment runs image spillway:/m);
  const chosen = runInstall({ namespace: 'mesh-ctl', image: 'registry.example.com/spillway:9.9.9' });
  assert.equal(chosen.err, '', 'an explicit --image is not second-guessed');
  assert.match(chosen.out, /^# Image: the Deployment runs image registry\.example\.com\/spillway:9\.9\.9\.$/m);
  const docs = parseStream(out);
  assert.equal(docs[0]?.kind, 'Namespace');
  assert.equal(obj(docs[0]?.metadata).name, 'mesh-ctl');
  const counts: Record<string, number> = {};
  for (const d of docs) {
    const kind = String(d.kind);
    counts[kind] = (counts[kind] ?? 0) + 1;
    assert.equal(d.apiVersion, EXPECTED[kind], `${kind} apiVersion`);
    const meta = obj(d.metadata);
    if (CLUSTER_SCOPED.has(kind)) assert.equal(meta.namespace, undefined, `${kind} is cluster-scoped`);
    else assert.equal(meta.namespace, 'mesh-ctl', `${kind}/${String(meta.name)} namespace`);
    // The label the controller prunes by must never mark install objects.
    assert.equal(obj(meta.labels ?? {})['app.kubernetes.io/managed-by'], undefined);
  }
  assert.deepEqual(counts, {
    Namespace: 1, CustomResourceDefinition: 4, ServiceAccount: 1, ClusterRole: 1, ClusterRoleBinding: 1,
    Role: 1, RoleBinding: 1, Service: 1, PodDisruptionBudget: 1, Deployment: 1,
  });
  // Bindings point at this namespace's ServiceAccount.
  for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'spillway-controller', namespace: 'mesh-ctl' }]);
  }
});

test('the CRDs carry exactly the schemas of src/api/schemas.ts, with status subresources where status is written', () => {
  const crds = parseStream(runInstall({}).out).filter((d) => d.kind === 'CustomResourceDefinition');
  assert.equal(crds.length, KINDS.length);
  for (const k of KINDS) {
    const crd = crds.find((c) => obj(c.metadata).name === `${k.plural}.${GROUP}`);
    assert.ok(crd, `CRD for ${k.kind}`);
    const spec = obj(crd.spec);
    assert.equal(spec.group, GROUP);
    assert.equal(spec.scope, k.namespaced ? 'Namespaced' : 'Cluster');
    assert.equal(obj(spec.names).kind, k.kind);
    const versions = arr(spec.versions).map(obj);
    assert.equal(versions.length, 1);
    const v = versions[0]!;
    assert.equal(v.name, VERSION);
    assert.equal(v.served, true);
    assert.equal(v.storage, true);
    // After a YAML round trip, the schema is still deep-equal to the source of truth.
    assert.deepEqual(obj(v.schema).openAPIV3Schema, JSON.parse(JSON.stringify(k.schema)));
    const hasStatus = k.schema.properties?.status !== undefined;
    assert.equal(obj(v.subresources ?? {}).status !== undefined, hasStatus, `${k.kind} status subresource`);
  }
});

test('the Deployment is hardened: replicas, non-root, read-only root, limits, probes, metrics port and annotations', () => {
  const docs = parseStream(runInstall({ replicas: '3', image: 'registry.example/spillway:1.2.3' }).out);
  const dep = docs.find((d) => d.kind === 'Deployment')!;
  const spec = obj(dep.spec);
  assert.equal(spec.replicas, 3);
  const template = obj(spec.template);
  const tmeta = obj(template.metadata);
  const matchLabels = obj(obj(spec.selector).matchLabels);
  assert.ok(Object.keys(matchLabels).length > 0);
  for (const [k, v] of Object.entries(matchLabels)) assert.equal(obj(tmeta.labels)[k], v, `pod template carries selector label ${k}`);
  const pod = obj(template.spec);
  assert.equal(pod.serviceAccountName, 'spillway-controller');
  assert.equal(obj(pod.securityContext).runAsNonRoot, true);
  assert.notEqual(obj(pod.securityContext).runAsUser, 0);
  const containers = arr(pod.containers).map(obj);
  assert.equal(containers.length, 1);
  const c = containers[0]!;
  assert.equal(c.image, 'registry.example/spillway:1.2.3');
  assert.deepEqual(arr(c.args).slice(0, 1), ['controller']);
  assert.deepEqual(arr(c.args).slice(1), ['--namespace', 'spillway-system', '--metrics-addr', ':8080']);
  const sc = obj(c.securityContext);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(obj(sc.capabilities).drop, ['ALL']);
  // A read-only root needs a writable /tmp (tsx's cache) from a volume that exists.
  const mounts = arr(c.volumeMounts).map(obj);
  const tmp = mounts.find((m) => m.mountPath === '/tmp');
  assert.ok(tmp, '/tmp is mounted');
  assert.ok(arr(pod.volumes).map(obj).some((v) => v.name === tmp.name && v.emptyDir !== undefined));
  const res = obj(c.resources);
  for (const r of ['cpu', 'memory']) {
    assert.ok(obj(res.requests)[r], `request ${r}`);
    assert.ok(obj(res.limits)[r], `limit ${r}`);
  }
  // The V8 heap cap leaves at least a quarter of the memory limit for code, buffers and the young generation, so
  // a full heap fails as a JavaScript OOM (logged) rather than a kernel OOM kill.
  const mib = (q: string) => Number(/^(\d+)(Mi|Gi)$/.exec(q)?.[1]) * (q.endsWith('Gi') ? 1024 : 1);
  const heap = Number(/--max-old-space-size=(\d+)/.exec(String(arr(c.env).map(obj).find((e) => e.name === 'NODE_OPTIONS')?.value))?.[1]);
  const limit = mib(String(obj(res.limits).memory));
  assert.ok(heap > 0 && heap <= limit * 0.75, `heap cap ${heap} MiB vs memory limit ${limit} MiB`);
  const ports = arr(c.ports).map(obj);
  const portNumber = (name: unknown) => ports.find((p) => p.name === name)?.containerPort;
  assert.equal(obj(obj(c.livenessProbe).httpGet).path, '/healthz');
  assert.equal(obj(obj(c.readinessProbe).httpGet).path, '/readyz');
  // The controller serves /metrics, /healthz and /readyz on the one address given by --metrics-addr.
  const args = arr(c.args).map(String);
  assert.equal(args[args.indexOf('--metrics-addr') + 1], `:${METRICS_PORT}`);
  assert.equal(portNumber(obj(obj(c.livenessProbe).httpGet).port), METRICS_PORT);
  assert.equal(portNumber(obj(obj(c.readinessProbe).httpGet).port), METRICS_PORT);
  assert.equal(portNumber('metrics'), METRICS_PORT);
  const ann = obj(tmeta.annotations);
  assert.equal(ann['prometheus.io/scrape'], 'true');
  assert.equal(Number(ann['prometheus.io/port']), METRICS_PORT);
  assert.equal(ann['prometheus.io/path'], '/metrics');
  // The metrics Service selects these pods and targets a named port the container has.
  const svc = docs.find((d) => d.kind === 'Service')!;
  const sspec = obj(svc.spec);
  for (const [k, v] of Object.entries(obj(sspec.selector))) assert.equal(obj(tmeta.labels)[k], v);
  const sport = obj(arr(sspec.ports)[0]);
  assert.equal(portNumber(sport.targetPort), METRICS_PORT);
});

test('install output is deterministic', () => {
  const a = runInstall({ namespace: 'x', image: 'i:1', replicas: 2 }).out;
  const b = runInstall({ namespace: 'x', image: 'i:1', replicas: 2 }).out;
  assert.equal(a, b);
  assert.deepEqual(installManifests({ namespace: 'x' }), installManifests({ namespace: 'x' }));
  assert.notEqual(a, runInstall({ namespace: 'y', image: 'i:1', replicas: 2 }).out);
});

test('--member-rbac prints only the member identity: ServiceAccount, ClusterRole, the EnvoyFilter Role in the root namespace, no token Secret', () => {
  const { code, out } = runInstall({ memberRbac: true, namespace: 'spillway-member-ns' });
  assert.equal(code, 0);
  const docs = parseStream(out);
  assert.deepEqual(docs.map((d) => d.kind), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  assert.ok(!docs.some((d) => d.kind === 'Secret'), 'no legacy (non-expiring) token Secret: register asks the TokenRequest API');
  const sa = { kind: 'ServiceAccount', name: 'spillway-member', namespace: 'spillway-member-ns' };
  const binding = docs.find((d) => d.kind === 'ClusterRoleBinding')!;
  assert.deepEqual(binding.subjects, [sa]);
  assert.equal(obj(binding.roleRef).name, obj(docs.find((d) => d.kind === 'ClusterRole')!.metadata).name);
  const role = docs.find((d) => d.kind === 'Role')!;
  assert.equal(obj(role.metadata).namespace, 'istio-system');
  assert.deepEqual(role.rules, [{ apiGroups: ['networking.istio.io'], resources: ['envoyfilters'], verbs: ['get', 'create', 'patch', 'delete'] }]);
  const rb = docs.find((d) => d.kind === 'RoleBinding')!;
  assert.equal(obj(rb.metadata).namespace, 'istio-system');
  assert.deepEqual(rb.subjects, [sa]);
  assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'spillway-member' });
  // The ClusterRole writes the four namespaced kinds; EnvoyFilters only list and watch.
  const cr = docs.find((d) => d.kind === 'ClusterRole')!;
  const ef = arr(cr.rules).map(obj).filter((r) => arr(r.resources).includes('envoyfilters'));
  assert.deepEqual(ef.map((r) => r.verbs), [['list', 'watch']]);
  assert.ok(!docs.some((d) => d.kind === 'CustomResourceDefinition' || d.kind === 'Deployment'));
  // Another root namespace.
  const other = parseStream(runInstall({ memberRbac: true, istioRootNamespace: 'mesh-root' }).out);
  assert.deepEqual(other.filter((d) => d.kind === 'Role' || d.kind === 'RoleBinding').map((d) => obj(d.metadata).namespace), ['mesh-root', 'mesh-root']);
});

test('the management install grants the controller no Istio, Service or EndpointSlice rights', () => {
  const docs = parseStream(runInstall({}).out);
  const rules = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role').flatMap((d) => arr(d.rules).map(obj));
  assert.ok(rules.length > 0);
  for (const r of rules) {
    assert.ok(!arr(r.apiGroups).includes('networking.istio.io'), JSON.stringify(r));
    assert.ok(!arr(r.resources).includes('services') && !arr(r.resources).includes('endpointslices'), JSON.stringify(r));
  }
  // Secrets and Leases only through the namespaced Role.
  const cluster = docs.filter((d) => d.kind === 'ClusterRole').flatMap((d) => arr(d.rules).map(obj));
  assert.ok(!cluster.some((r) => arr(r.resources).includes('secrets') || arr(r.resources).includes('leases')));
  const r = runInstall({ istioRootNamespace: 'istio-system' });
  assert.equal(r.code, 2);
  assert.match(r.err, /--istio-root-namespace goes with --member-rbac/);
});

test('unusable options fail with exit 2 and one line each, printing nothing to stdout', () => {
  for (const [opts, fragment] of [
    [{ namespace: 'Bad_NS' }, '--namespace'],
    [{ replicas: '0' }, '--replicas'],
    [{ replicas: 'two' }, '--replicas'],
    [{ replicas: '2.5' }, '--replicas'],
    [{ image: 'has space' }, '--image'],
  ] as const) {
    const { code, out, err } = runInstall(opts);
    assert.equal(code, 2, JSON.stringify(opts));
    assert.equal(out, '');
    assert.match(err, new RegExp(`^spillway: ${fragment}`));
  }
  assert.deepEqual(installOptionErrors({}), []);
  assert.throws(() => installManifests({ replicas: -1 }), /--replicas/);
});

test('the Deployment passes only flags that `spillway controller` accepts', async () => {
  const { runCli } = await import('../../src/cli/main.ts');
  let help = '';
  assert.equal(await runCli(['controller', '--help'], { stdout: (s) => (help += s), stderr: (s) => (help += s) }), 0);
  const deploy = installManifests().find((o) => o.kind === 'Deployment')!;
  const args = (deploy.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args;
  const flags = args.filter((a) => a.startsWith('--'));
  assert.ok(flags.length >= 2);
  for (const f of flags) assert.match(help, new RegExp(`\\s${f}\\b`), `${f} is a controller flag`);
});
