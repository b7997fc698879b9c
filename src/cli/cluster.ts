/**
 * `spillway cluster register`: prints a member cluster's kubeconfig Secret and its MeshCluster. By default it
 * connects to the member (kubectl's loading rules; `--context` picks) and creates the member identity there,
 * embedding a TokenRequest token; `--embed-credentials` instead copies the context's own (data-only) credentials
 * without contacting the cluster.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { CliIO } from './main.ts';
import { yamlStream } from './install.ts';
import { RegisterError, createMemberIdentity, registerClusterManifests } from '../install/register.ts';
import type { RegisterOptions } from '../install/register.ts';
import { HttpKubeClient } from '../kube/client.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { isKubeApiError } from '../kube/errors.ts';

/** Commander's parsed options of `spillway cluster register NAME` plus the NAME argument. */
export interface ClusterRegisterOptions {
  name: string;
  kubeconfig?: string;
  context?: string;
  gatewayAddress?: string;
  gatewayPort?: string | number;
  /** Port of the gateway's Kubernetes Service behind --gateway-port (the Gateway server port istiod resolves). */
  servicePort?: string | number;
  listenPort?: string | number;
  istioVersion?: string;
  /** Istio's root namespace in that cluster (default istio-system): the EnvoyFilter Role goes there. */
  istioRootNamespace?: string;
  namespace?: string;
  management?: boolean;
  /** Copy the context's own credentials instead of creating the member identity (no connection). */
  embedCredentials?: boolean;
  /** Lifetime of the created token, e.g. `720h`, `30d`, `3600s`. @default 720h */
  tokenExpiration?: string;
}

/** `720h`, `30d`, `90m`, `3600s` or a bare number of seconds; undefined when unusable or under 10 minutes. */
export function parseTokenExpiration(s: string): number | undefined {
  const m = /^([0-9]+)(s|m|h|d)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  // TokenRequest refuses less than 10 minutes.
  return n >= 600 && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The command as the CLI runs it: `--management` and `--embed-credentials` print without a connection
 * (`clusterRegisterCommand`); otherwise the member identity is created in the member cluster first.
 */
export async function clusterRegister(opts: ClusterRegisterOptions, io: CliIO, env: { env?: Record<string, string | undefined>; home?: string } = {}): Promise<number> {
  if (opts.management || opts.embedCredentials) return clusterRegisterCommand(opts, io);
  const problems: string[] = [];
  const expiration = parseTokenExpiration(opts.tokenExpiration ?? '720h');
  if (expiration === undefined) problems.push(`--token-expiration ${opts.tokenExpiration ?? ''}: want a duration of at least 10m such as 720h, 30d or 3600s`);
  if ((opts.gatewayAddress === undefined) !== (opts.gatewayPort === undefined)) problems.push('--gateway-address and --gateway-port go together');
  if (opts.listenPort !== undefined && opts.gatewayAddress === undefined) problems.push('--listen-port needs --gateway-address and --gateway-port');
  if (opts.servicePort !== undefined && opts.gatewayAddress === undefined) problems.push('--service-port needs --gateway-address and --gateway-port');
  // Validate the name, namespace and gateway before touching the cluster.
  try {
    registerClusterManifests({ name: opts.name, namespace: opts.namespace, gateway: gatewayOf(opts), istioVersion: opts.istioVersion, rootNamespace: opts.istioRootNamespace, management: true });
  } catch (e) {
    if (!(e instanceof RegisterError)) throw e;
    problems.push(...e.problems.filter((p) => !p.includes('--management')));
  }
  if (problems.length > 0) return fail(problems, io);

  let client: HttpKubeClient;
  let server: string, caPem: string | undefined, tlsServerName: string | undefined, contextName: string;
  try {
    const kc = loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context, ...env });
    const cluster = kc.getCurrentCluster();
    if (!cluster) return fail([`context "${kc.getCurrentContext()}" has no cluster`], io);
    if (cluster.skipTLSVerify) return fail([`cluster "${cluster.name}" turns TLS verification off (insecure-skip-tls-verify): the controller refuses such a member; give it its CA`], io);
    server = cluster.server;
    contextName = opts.name;
    tlsServerName = cluster.tlsServerName;
    if (cluster.caData) caPem = Buffer.from(cluster.caData, 'base64').toString('utf8');
    else if (cluster.caFile) caPem = readFileSync(cluster.caFile, 'utf8');
    client = new HttpKubeClient(kc, { userAgent: 'spillway-register/0.1.0', timeoutMs: 30_000 });
  } catch (e) {
    return fail([e instanceof Error ? e.message.split('\n')[0]! : String(e)], io);
  }
  try {
    const id = await createMemberIdentity(client, { namespace: opts.namespace, rootNamespace: opts.istioRootNamespace, expirationSeconds: expiration!, server, caPem, tlsServerName, contextName });
    const code = clusterRegisterCommand({ ...opts, embedCredentials: true, kubeconfig: undefined, context: undefined }, io, id.kubeconfig);
    if (code === 0) io.stderr(`spillway: created ${id.applied.join(', ')} in ${server}; the token expires at ${id.expiresAt || 'an unknown time'}: run this again before then to rotate it\n`);
    return code;
  } catch (e) {
    if (e instanceof RegisterError) return fail(e.problems, io);
    if (isKubeApiError(e)) {
      const hint = e.status === 403 ? ' (your credentials for this cluster may not create ServiceAccounts, ClusterRoles or tokens)' : '';
      return fail([`${server}: ${e.message}${hint}`], io);
    }
    throw e;
  } finally {
    client.close();
  }
}

function gatewayOf(opts: ClusterRegisterOptions): RegisterOptions['gateway'] {
  return opts.gatewayAddress !== undefined && opts.gatewayPort !== undefined
    ? { address: opts.gatewayAddress, port: opts.gatewayPort, ...(opts.servicePort !== undefined ? { servicePort: opts.servicePort } : {}), ...(opts.listenPort !== undefined ? { listenPort: opts.listenPort } : {}) }
    : undefined;
}

function fail(problems: string[], io: CliIO): number {
  for (const p of problems) io.stderr(`spillway: ${p}\n`);
  return 2;
}

function readOptional(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Prints the Secret and MeshCluster to stdout; 0 on success, 2 on unusable options or kubeconfig.
 * stderr gets warnings and errors only, which never contain credentials.
 */
export function clusterRegisterCommand(opts: ClusterRegisterOptions, io: CliIO, kubeconfigText?: string): number {
  const problems: string[] = [];
  let kubeconfig: RegisterOptions['kubeconfig'];
  if (kubeconfigText !== undefined) {
    kubeconfig = { source: kubeconfigText, readFile: () => undefined };
  } else if (opts.kubeconfig !== undefined) {
    const path = resolve(opts.kubeconfig);
    const text = readOptional(path);
    if (text === undefined) problems.push(`--kubeconfig ${opts.kubeconfig}: file does not exist or cannot be read`);
    else {
      // kubectl resolves relative paths inside a kubeconfig against the kubeconfig's folder.
      const base = dirname(path);
      kubeconfig = {
        source: new TextDecoder().decode(text),
        context: opts.context,
        readFile: (p) => readOptional(isAbsolute(p) ? p : resolve(base, p)),
      };
    }
  } else if (opts.context !== undefined) {
    problems.push('--context needs --kubeconfig');
  }
  if ((opts.gatewayAddress === undefined) !== (opts.gatewayPort === undefined)) problems.push('--gateway-address and --gateway-port go together');
  if (opts.listenPort !== undefined && opts.gatewayAddress === undefined) problems.push('--listen-port needs --gateway-address and --gateway-port');
  if (opts.servicePort !== undefined && opts.gatewayAddress === undefined) problems.push('--service-port needs --gateway-address and --gateway-port');
  if (problems.length === 0) {
    try {
      const result = registerClusterManifests({
        name: opts.name,
        namespace: opts.namespace,
        gateway: gatewayOf(opts),
        istioVersion: opts.istioVersion,
        rootNamespace: opts.istioRootNamespace,
        management: opts.management === true,
        kubeconfig,
      });
      for (const w of result.warnings) io.stderr(`spillway: warning: ${w}\n`);
      const header = opts.management !== true
        ? `# Generated by spillway cluster register ${opts.name}: apply in the management cluster. Contains credentials: do not commit.`
        : `# Generated by spillway cluster register ${opts.name} --management: apply in the management cluster.\n# The controller's ServiceAccount gets the member roles here: this cluster is a member too.`;
      io.stdout(yamlStream(header, result.objects));
      return 0;
    } catch (e) {
      if (!(e instanceof RegisterError)) throw e;
      problems.push(...e.problems);
    }
  }
  for (const p of problems) io.stderr(`spillway: ${p}\n`);
  return 2;
}
