/**
 * Minimizing a kubeconfig to one context with its credentials embedded, for a Secret the in-cluster
 * controller reads. Pure: files referenced by path come through `readFile`. Error and warning texts name
 * fields and paths, never credential values or file contents. What it writes passes the controller's own
 * data-only policy (`memberKubeconfigProblems` in src/kube/config.ts): a Secret register writes is one the
 * controller accepts, and anything the controller would refuse is refused here first, with the same code.
 */
import yaml from 'js-yaml';
import { memberKubeconfigProblems, redactUrl } from '../kube/config.ts';

export interface MinimizeOptions {
  /** Context to keep. @default the kubeconfig's current-context */
  context?: string;
  /**
   * Reads a file the kubeconfig references (certificate-authority, client-certificate, client-key, tokenFile),
   * as written in the kubeconfig (relative paths are the caller's to resolve); undefined when it does not exist.
   */
  readFile: (path: string) => Uint8Array | undefined;
}

export interface MinimizedKubeconfig {
  /** The kubeconfig object: one cluster, one user, one context, current-context set. */
  config: Record<string, unknown>;
  context: string;
  server: string;
  /** Non-fatal observations (for example a loopback server address). */
  warnings: string[];
}

/** A kubeconfig that cannot be used in-cluster; the message is safe to print (no credentials). */
export class KubeconfigError extends Error {
  /** The controller's policy code (SPW2xx) when the kubeconfig breaks the data-only rules. */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(code ? `${code}: ${message}` : message);
    this.name = 'KubeconfigError';
    this.code = code;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!, b = bytes[i + 1], c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (b === undefined ? '=' : B64[(n >> 6) & 63]!) + (c === undefined ? '=' : B64[n & 63]!);
  }
  return out;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Parses kubeconfig YAML; a syntax error reports only its position, since the text holds credentials. */
export function parseKubeconfig(text: string): Obj {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    const mark = (e as { mark?: { line?: number; column?: number } }).mark;
    const reason = (e as { reason?: string }).reason ?? 'invalid YAML';
    throw new KubeconfigError(`kubeconfig is not valid YAML: ${reason}${mark?.line !== undefined ? ` at line ${mark.line + 1}` : ''}`);
  }
  if (!isObj(doc)) throw new KubeconfigError('kubeconfig is not a YAML mapping');
  return doc;
}

function named(doc: Obj, list: string, entry: string, name: string): Obj {
  const items = doc[list];
  if (!Array.isArray(items)) throw new KubeconfigError(`kubeconfig has no ${list} list`);
  const found = items.find((i): i is Obj => isObj(i) && i.name === name);
  if (!found) throw new KubeconfigError(`kubeconfig has no ${entry} named "${name}" in ${list}`);
  const body = found[entry];
  if (!isObj(body)) throw new KubeconfigError(`kubeconfig ${entry} "${name}" has no ${entry} section`);
  return body;
}

function namesOf(doc: Obj, list: string): string[] {
  const items = doc[list];
  return Array.isArray(items) ? items.filter(isObj).map((i) => String(i.name)) : [];
}

/** Loopback and unspecified hosts: reachable from the registering machine, not from a pod in another cluster. */
export function isLoopbackServer(server: string): boolean {
  let host: string;
  try {
    host = new URL(server).hostname;
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0' || host === '::';
}

/**
 * Keeps one context of a kubeconfig and inlines every credential file it references
 * (`certificate-authority` -> `certificate-authority-data`, `client-certificate`/`client-key` -> `-data`,
 * `tokenFile` -> `token`). Fails on exec and auth-provider plugins (their commands do not exist in the
 * controller's image), on missing files and on a user without credentials.
 */
export function minimizeKubeconfig(source: Obj | string, opts: MinimizeOptions): MinimizedKubeconfig {
  const doc = typeof source === 'string' ? parseKubeconfig(source) : source;
  const warnings: string[] = [];
  const contextName = opts.context ?? (typeof doc['current-context'] === 'string' ? doc['current-context'] : '');
  if (contextName === '') {
    throw new KubeconfigError(`kubeconfig has no current-context; pass --context (contexts: ${namesOf(doc, 'contexts').join(', ') || 'none'})`);
  }
  if (!namesOf(doc, 'contexts').includes(contextName)) {
    throw new KubeconfigError(`kubeconfig has no context "${contextName}" (contexts: ${namesOf(doc, 'contexts').join(', ') || 'none'})`);
  }
  const context = named(doc, 'contexts', 'context', contextName);
  const clusterName = context.cluster;
  const userName = context.user;
  if (typeof clusterName !== 'string' || clusterName === '') throw new KubeconfigError(`context "${contextName}" names no cluster`);
  if (typeof userName !== 'string' || userName === '') throw new KubeconfigError(`context "${contextName}" names no user`);

  const read = (what: string, path: unknown): Uint8Array => {
    if (typeof path !== 'string' || path === '') throw new KubeconfigError(`${what} is not a file path`);
    const bytes = opts.readFile(path);
    if (bytes === undefined) throw new KubeconfigError(`${what} file ${path} does not exist or cannot be read`);
    return bytes;
  };

  // Cluster: inline the CA.
  const cluster: Obj = { ...named(doc, 'clusters', 'cluster', clusterName) };
  const server = cluster.server;
  if (typeof server !== 'string' || server === '') throw new KubeconfigError(`cluster "${clusterName}" has no server`);
  if (isLoopbackServer(server)) {
    warnings.push(`cluster "${clusterName}" server ${redactUrl(server)} is a loopback address: the controller cannot reach it from inside the management cluster (for kind, use \`kind get kubeconfig --internal\`)`);
  }
  if (cluster['certificate-authority'] !== undefined) {
    if (cluster['certificate-authority-data'] === undefined) {
      cluster['certificate-authority-data'] = base64Encode(read(`cluster "${clusterName}" certificate-authority`, cluster['certificate-authority']));
    }
    delete cluster['certificate-authority'];
  }

  // User: refuse plugins, inline files.
  const user: Obj = { ...named(doc, 'users', 'user', userName) };
  if (isObj(user.exec)) {
    const command = typeof user.exec.command === 'string' ? ` (command ${JSON.stringify(user.exec.command)})` : '';
    throw new KubeconfigError(`user "${userName}" authenticates with an exec plugin${command}, which does not exist in the controller's container; use a ServiceAccount token instead (see \`spillway install --member-rbac\`)`);
  }
  if (isObj(user['auth-provider'])) {
    const name = typeof user['auth-provider'].name === 'string' ? ` (${JSON.stringify(user['auth-provider'].name)})` : '';
    throw new KubeconfigError(`user "${userName}" authenticates with an auth-provider plugin${name}, which does not work in-cluster; use a ServiceAccount token instead (see \`spillway install --member-rbac\`)`);
  }
  const inline = (pathKey: string, dataKey: string) => {
    if (user[pathKey] === undefined) return;
    if (user[dataKey] === undefined) user[dataKey] = base64Encode(read(`user "${userName}" ${pathKey}`, user[pathKey]));
    delete user[pathKey];
  };
  inline('client-certificate', 'client-certificate-data');
  inline('client-key', 'client-key-data');
  if (user.tokenFile !== undefined) {
    if (user.token === undefined) {
      const token = new TextDecoder().decode(read(`user "${userName}" tokenFile`, user.tokenFile)).trim();
      if (token === '') throw new KubeconfigError(`user "${userName}" tokenFile ${String(user.tokenFile)} is empty`);
      user.token = token;
      warnings.push(`user "${userName}" tokenFile was read once and embedded: if that token rotates (a projected token does), the Secret goes stale`);
    }
    delete user.tokenFile;
  }
  const hasCert = user['client-certificate-data'] !== undefined, hasKey = user['client-key-data'] !== undefined;
  if (hasCert !== hasKey) throw new KubeconfigError(`user "${userName}" has a client ${hasCert ? 'certificate without a key' : 'key without a certificate'}`);
  const hasToken = typeof user.token === 'string' && user.token !== '';
  const hasBasic = user.username !== undefined || user.password !== undefined;
  if (!hasCert && !hasToken && !hasBasic) {
    throw new KubeconfigError(`user "${userName}" has no credentials (token, tokenFile, or client certificate and key)`);
  }

  const ctx: Obj = { cluster: clusterName, user: userName };
  if (typeof context.namespace === 'string' && context.namespace !== '') ctx.namespace = context.namespace;
  const config: Obj = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster }],
    users: [{ name: userName, user }],
    contexts: [{ name: contextName, context: ctx }],
    'current-context': contextName,
    preferences: {},
  };
  // The controller's own gate: basic auth, impersonation, proxies, skipped TLS verification, http:// servers and
  // credentials in the URL are refused here with the code the controller would put in the MeshCluster's status.
  const { problems } = memberKubeconfigProblems(config);
  if (problems.length > 0) throw new KubeconfigError(problems.map((p, i) => (i === 0 ? p.message : `${p.code}: ${p.message}`)).join('; '), problems[0]!.code);
  return { config, context: contextName, server, warnings };
}

export function kubeconfigYaml(config: Record<string, unknown>): string {
  return yaml.dump(config, { noRefs: true, lineWidth: -1, sortKeys: false });
}
