/**
 * Real Kubernetes control planes for tests: each cluster is one `kube-cluster serve` process (an embedded etcd
 * and the upstream kube-apiserver, built by scripts/build-go-tools.mjs) on 127.0.0.1, with its own CA, serving
 * certificate, admin client certificate (group system:masters), service-account signing key, RBAC
 * authorization and an audit log of every request. No controller-manager runs: nothing garbage-collects,
 * namespaces never finish terminating, no token Secrets are filled in (use TokenRequest: `token()`).
 *
 * A started cluster stops with `close()`; if the test process dies instead, the server sees its stdin close
 * (and its parent-death signal) and exits, so nothing is left behind. Readiness is the server's /readyz.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { HttpKubeClient } from '../../src/kube/client.ts';
import { kubeConfigFromText } from '../../src/kube/config.ts';
import { goToolPaths, requireGoTool } from './go-tools.ts';

export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  responseStatus?: { code?: number };
  stage: string;
  requestReceivedTimestamp?: string;
}

export interface RealCluster {
  readonly name: string;
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** PEM of the cluster's CA. */
  readonly caPem: string;
  /** A kubeconfig (YAML) for the admin user (client certificate, group system:masters), everything inline. */
  kubeconfig(): string;
  /** The same kubeconfig as a file (for kubectl and the CLI). */
  readonly kubeconfigPath: string;
  /** A kubeconfig (YAML) that authenticates with a bearer token. */
  tokenKubeconfig(token: string, user?: string): string;
  /** A client authenticated as admin. */
  client(userAgent?: string): HttpKubeClient;
  /** A TokenRequest for an existing ServiceAccount. */
  token(namespace: string, serviceAccount: string, expirationSeconds?: number): Promise<string>;
  /** Every request the server has answered so far (audit level Metadata, stage ResponseComplete). */
  audit(): AuditEvent[];
  /** Last lines the server wrote to stderr (for failure messages). */
  logTail(lines?: number): string;
  /** Stops the server (connections are then refused); etcd's data stays for `restart()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data and certificates. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Give up when a server is not ready by then. @default 180000 (2 shared cores, several servers at once) */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
}

/** The kube-cluster binary, or a one-line error naming the command that builds it. */
export function kubeClusterBinary(): string {
  return requireGoTool('kubeCluster');
}

/** kubectl of the same release (a link to the same binary). */
export function realKubectl(): string {
  requireGoTool('kubeCluster');
  return goToolPaths().kubectl;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl: ${r.error.message} (openssl is needed to make the test clusters' certificates)`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
}

const EC = ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out'];

/** CA, serving certificate (127.0.0.1, localhost, kubernetes.default.svc), admin client certificate, SA key pair. */
function makeCertificates(dir: string): void {
  openssl([...EC, 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=spillway-test-ca', '-days', '3', '-out', 'ca.crt', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const sign = (name: string, subject: string, ext: string): void => {
    openssl([...EC, `${name}.key`], dir);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '3', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  };
  sign('serving', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  sign('admin', '/O=system:masters/CN=spillway-admin', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  openssl([...EC, 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`;

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfigYaml(name: string, server: string, caPem: string, user: Record<string, string>, userName: string): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: userName, user }],
    contexts: [{ name, context: { cluster: name, user: userName } }],
    'current-context': name,
  }, { lineWidth: -1 });
}

const running = new Set<ChildProcess>();
let exitHook = false;

function killAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const p of running) p.kill('SIGKILL');
  });
}

/** Starts one cluster per name, in parallel. Throws (and stops what did start) if any fails. */
export async function startRealClusters(names: readonly string[], opts: StartOptions = {}): Promise<RealCluster[]> {
  const binary = kubeClusterBinary();
  const settled = await Promise.allSettled(names.map((n) => startOne(binary, n, opts)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }
  return settled.map((s) => (s as PromiseFulfilledResult<RealCluster>).value);
}

async function startOne(binary: string, name: string, opts: StartOptions): Promise<RealCluster> {
  const dir = mkdtempSync(join(tmpdir(), `spillway-kube-${name}-`));
  makeCertificates(dir);
  writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
  mkdirSync(join(dir, 'etcd'));
  const args = [
    'serve', '--data-dir', join(dir, 'etcd'), '--watch-stdin', `--ready-timeout=${Math.ceil((opts.readyTimeoutMs ?? 180_000) / 1000)}s`, '--',
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--cert-dir=${join(dir, 'certs')}`,
    `--tls-cert-file=${join(dir, 'serving.crt')}`,
    `--tls-private-key-file=${join(dir, 'serving.key')}`,
    `--client-ca-file=${join(dir, 'ca.crt')}`,
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--authorization-mode=Node,RBAC',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--endpoint-reconciler-type=none',
    '--profiling=false',
    `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
    `--audit-log-path=${join(dir, 'audit.log')}`,
    '--audit-log-mode=blocking',
    '--v=0',
    ...(opts.apiserverArgs ?? []),
  ];
  let proc = await launch(binary, name, dir, args).catch((e: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const server = proc.server;
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const admin = kubeconfigYaml(name, server, caPem, {
    'client-certificate-data': b64(readFileSync(join(dir, 'admin.crt'), 'utf8')),
    'client-key-data': b64(readFileSync(join(dir, 'admin.key'), 'utf8')),
  }, `${name}-admin`);
  const kubeconfigPath = join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfigPath, admin, { mode: 0o600 });
  const clients: HttpKubeClient[] = [];
  let closed = false;

  const cluster: RealCluster = {
    name,
    server,
    caPem,
    kubeconfigPath,
    kubeconfig: () => admin,
    tokenKubeconfig: (token, user = `${name}-token`) => kubeconfigYaml(name, server, caPem, { token }, user),
    client(userAgent = 'spillway-test') {
      const c = new HttpKubeClient(kubeConfigFromText(admin), { timeoutMs: 20_000, userAgent });
      clients.push(c);
      return c;
    },
    async token(namespace, serviceAccount, expirationSeconds = 3600) {
      const c = cluster.client();
      try {
        const r = (await c.request({
          method: 'POST',
          path: `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
        })) as { status?: { token?: string } };
        if (!r.status?.token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
        return r.status.token;
      } finally {
        c.close();
      }
    },
    audit() {
      const file = join(dir, 'audit.log');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
    },
    logTail: (n) => proc.tail(n),
    async stop() {
      await proc.stop();
    },
    async restart() {
      if (closed) throw new Error(`cluster ${name} is closed`);
      await proc.stop();
      const port = new URL(server).port;
      proc = await launch(binary, name, dir, [...args, `--secure-port=${port}`]);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const c of clients) c.close();
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

interface Launched {
  server: string;
  tail(lines?: number): string;
  stop(): Promise<void>;
}

async function launch(binary: string, name: string, dir: string, args: string[]): Promise<Launched> {
  const child = spawn(binary, args, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  killAllOnExit();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-64_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    running.delete(child);
    resolve(code);
  }));
  const tail = (n = 15): string => stderr.trim().split('\n').slice(-n).join('\n');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const server = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /^READY (https:\/\/\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`cluster ${name}: kube-cluster exited ${String(code)} before it was ready:\n${tail()}`)));
    child.once('error', (e) => reject(new Error(`cluster ${name}: cannot run ${binary}: ${e.message}`)));
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw e;
  });
  return { server, tail, stop };
}
