/**
 * KubeConfig loading.
 *
 * The controller's own kubeconfig (a file the operator passes, or the pod's service account) is trusted and goes
 * through client-node. A member cluster's kubeconfig comes from a Secret, which anyone allowed to write Secrets in
 * that namespace can change: it is data, never code. `memberConfigFromText` accepts only a server (an https URL
 * without user info, query or fragment), an inline CA, and an inline bearer token or client certificate and key.
 * Everything that would run a command (exec, auth-provider), read a file of the controller's pod (tokenFile,
 * certificate-authority, client-certificate, client-key), send traffic elsewhere (proxy-url), act as someone else
 * (as, as-groups, as-uid, as-user-extra), send a password (username/password) or skip verification
 * (insecure-skip-tls-verify, http://) is refused with a code and the path of the field, never its value.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { Cluster, Context, User } from '@kubernetes/client-node';
import { renderKubeconfig } from '../api/messages.ts';
import type { KubeconfigCode as KubeconfigTableCode, KubeconfigParams } from '../api/messages.ts';

export interface ConfigSource {
  /** Path to a kubeconfig file (`--kubeconfig`): only this file is read. */
  kubeconfig?: string;
  context?: string;
  /** Environment and home directory to load from (tests); default: this process's. */
  env?: Record<string, string | undefined>;
  home?: string;
  /** Where the pod's service-account files are (tests only). @default /var/run/secrets/kubernetes.io/serviceaccount */
  serviceAccountDir?: string;
}

/** The service account files a pod gets (token, ca.crt, namespace); with KUBERNETES_SERVICE_HOST/PORT they mean "in a pod". */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * kubectl's loading rules: `--kubeconfig` alone if given; else every file of `$KUBECONFIG` (a list separated
 * by the platform's path delimiter; missing files skipped) merged with the first definition of each cluster,
 * user and context winning and the first non-empty current-context winning; else `~/.kube/config`; else,
 * inside a pod, the pod's service account. `context` then picks a context from the result. Relative paths in
 * a file resolve against that file's folder.
 */
export function loadKubeConfig(src: ConfigSource): KubeConfig {
  const env = src.env ?? process.env;
  const kc = new KubeConfig();
  if (src.kubeconfig) {
    const path = resolve(src.kubeconfig);
    if (!existsSync(path)) throw new Error(`--kubeconfig ${src.kubeconfig}: file does not exist`);
    kc.loadFromFile(path);
  } else {
    const files = kubeconfigFiles(env, src.home ?? homedir());
    if (files.length > 0) mergeFiles(kc, files);
    else if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(join(src.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, 'token'))) {
      loadInCluster(kc, env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, src.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    } else throw new Error('no kubeconfig: pass --kubeconfig, set $KUBECONFIG or create ~/.kube/config (inside a pod the service account is used)');
  }
  if (src.context) selectContext(kc, src.context);
  else if (!kc.getCurrentContext() || !kc.getContextObject(kc.getCurrentContext())) {
    throw new Error(`the kubeconfig has no current-context${kc.getCurrentContext() ? ` named "${kc.getCurrentContext()}"` : ''}: pass --context (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  }
  return kc;
}

/**
 * In-cluster config as client-go builds it: https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, the pod's CA,
 * its namespace, and its service-account token as a file (a `tokenFile` auth provider), which HttpKubeClient
 * reads again whenever the kubelet rotates it.
 */
function loadInCluster(kc: KubeConfig, host: string, port: string, dir: string): void {
  const namespaceFile = join(dir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : '';
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster', ...(namespace ? { namespace } : {}) }],
    currentContext: 'in-cluster',
  });
}

/** The token file of a KubeConfig user that authenticates with one (in-cluster config), if any. */
export function tokenFileOf(kc: KubeConfig): string | undefined {
  const ap = kc.getCurrentUser()?.authProvider as { name?: unknown; config?: { tokenFile?: unknown } } | undefined;
  return ap?.name === 'tokenFile' && typeof ap.config?.tokenFile === 'string' ? ap.config.tokenFile : undefined;
}

/** The files kubectl would read, in order: existing entries of $KUBECONFIG (deduplicated), else ~/.kube/config. */
export function kubeconfigFiles(env: Record<string, string | undefined>, home: string): string[] {
  const list = env.KUBECONFIG ?? '';
  if (list !== '') {
    const seen = new Set<string>();
    for (const f of list.split(delimiter)) if (f !== '' && !seen.has(resolve(f))) seen.add(resolve(f));
    return [...seen].filter((f) => existsSync(f));
  }
  const def = join(home, '.kube', 'config');
  return existsSync(def) ? [def] : [];
}

function mergeFiles(kc: KubeConfig, files: string[]): void {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let current = '';
  for (const f of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(f);
    } catch (e) {
      throw new Error(`kubeconfig ${f} could not be read: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    for (const c of one.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.getUsers()) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (!current && one.getCurrentContext()) current = one.getCurrentContext();
  }
  kc.loadFromOptions({ clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext: current });
}

/**
 * A kubeconfig text through client-node, for kubeconfigs the caller trusts (tests, the operator's own). Member
 * clusters' Secrets go through `memberConfigFromText` instead.
 */
export function kubeConfigFromText(text: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  if (context) selectContext(kc, context);
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current context with a cluster');
  return kc;
}

function selectContext(kc: KubeConfig, name: string): void {
  if (!kc.getContextObject(name)) throw new Error(`context "${name}" is not in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  kc.setCurrentContext(name);
}

// ---------------------------------------------------------------------------------------------------------------
// Member kubeconfigs: data only

/** Codes of refused member kubeconfigs (stable; documented in docs/security.md). Append only. */
export const KUBECONFIG_CODES = {
  Unparseable: 'SPW200',
  ExecPlugin: 'SPW201',
  AuthProvider: 'SPW202',
  FileReference: 'SPW203',
  Proxy: 'SPW204',
  Impersonation: 'SPW205',
  BasicAuth: 'SPW206',
  InsecureTransport: 'SPW207',
  InvalidServer: 'SPW208',
  AmbiguousContext: 'SPW209',
  NoCredentials: 'SPW210',
  UnknownField: 'SPW211',
  InvalidData: 'SPW212',
  ExpiredCredentials: 'SPW213',
  /** Not a refusal: the credentials expire within the warning window (MeshCluster status and a Warning Event). */
  ExpiringCredentials: 'SPW214',
} as const satisfies Record<string, KubeconfigTableCode>;
export type KubeconfigCode = (typeof KUBECONFIG_CODES)[keyof typeof KUBECONFIG_CODES];

/**
 * One refused field; `message` names the field (a path into the kubeconfig) and never holds its value. It is
 * rendered from `params` by the table in src/api/messages.ts, whose SPW2xx params cannot hold a value either.
 */
export interface KubeconfigProblem {
  code: KubeconfigCode;
  field: string;
  params: KubeconfigParams<KubeconfigCode>;
  message: string;
}

/** A problem of `code`; `field` defaults to the params' own. */
export function kubeconfigProblem<C extends KubeconfigCode>(code: C, params: KubeconfigParams<C>, field?: string): KubeconfigProblem {
  const own = (params as { field?: unknown }).field;
  return { code, field: field ?? (typeof own === 'string' ? own : ''), params, message: renderKubeconfig(code, params) };
}

/** A refused member kubeconfig. `message` is `<code>: <first problem>` and is safe for logs and status. */
export class KubeconfigPolicyError extends Error {
  readonly code: KubeconfigCode;
  readonly field: string;
  constructor(readonly problems: readonly KubeconfigProblem[]) {
    const first = problems[0] ?? kubeconfigProblem(KUBECONFIG_CODES.Unparseable, { reason: 'refused' });
    super(`${first.code}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''}`);
    this.name = 'KubeconfigPolicyError';
    this.code = first.code;
    this.field = first.field;
  }
}

/** What a member client needs, all of it data. */
export interface MemberConfig {
  /** The API server URL: https, no user info, no query, no fragment, no trailing slash. */
  server: string;
  /** PEM of the CA to trust; absent means Node's default roots. */
  caPem?: string;
  /** Server name to verify instead of the URL's host (`tls-server-name`). */
  tlsServerName?: string;
  token?: string;
  certPem?: string;
  keyPem?: string;
  /** Names of the context, cluster and user used (for messages). */
  context: string;
  cluster: string;
  user: string;
  /** When the credentials expire: the bearer token's `exp` claim (TokenRequest tokens have one), else the client certificate's notAfter. */
  expiresAt?: Date;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A name from the kubeconfig, printable and short, for field paths (the names are not credentials). */
function shown(name: unknown): string {
  const s = typeof name === 'string' ? name : String(name);
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 63 ? `${clean.slice(0, 60)}...` : clean);
}

const CLUSTER_ALLOWED = new Set(['server', 'certificate-authority-data', 'tls-server-name', 'disable-compression', 'insecure-skip-tls-verify', 'extensions']);
const USER_ALLOWED = new Set(['token', 'client-certificate-data', 'client-key-data', 'extensions']);
const CONTEXT_ALLOWED = new Set(['cluster', 'user', 'namespace', 'extensions']);
const TOP_ALLOWED = new Set(['apiVersion', 'kind', 'clusters', 'users', 'contexts', 'current-context', 'preferences', 'extensions']);

/** Why a key is refused, by key; undefined for an allowed or merely unknown key. `field` is the key's path. */
function refusal(section: 'cluster' | 'user', key: string, field: string): KubeconfigProblem | undefined {
  if (section === 'user') {
    if (key === 'exec') return kubeconfigProblem(KUBECONFIG_CODES.ExecPlugin, { field });
    if (key === 'auth-provider') return kubeconfigProblem(KUBECONFIG_CODES.AuthProvider, { field });
    if (key === 'tokenFile' || key === 'client-certificate' || key === 'client-key') return kubeconfigProblem(KUBECONFIG_CODES.FileReference, { reason: 'userFile', field, embedAs: key === 'tokenFile' ? 'token' : `${key}-data` });
    if (key === 'as' || key === 'as-groups' || key === 'as-uid' || key === 'as-user-extra') return kubeconfigProblem(KUBECONFIG_CODES.Impersonation, { field });
    if (key === 'username' || key === 'password') return kubeconfigProblem(KUBECONFIG_CODES.BasicAuth, { field });
  } else {
    if (key === 'certificate-authority') return kubeconfigProblem(KUBECONFIG_CODES.FileReference, { reason: 'caFile', field });
    if (key === 'proxy-url') return kubeconfigProblem(KUBECONFIG_CODES.Proxy, { field });
  }
  if (/(^|-)file$|File$|-path$|Path$/.test(key)) return kubeconfigProblem(KUBECONFIG_CODES.FileReference, { reason: 'path', field });
  return undefined;
}

/** Decodes base64 data strictly (alphabet and padding); undefined when it is not base64. */
function decodeBase64(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.replace(/\s+/g, '');
  if (s === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) return undefined;
  return Buffer.from(s, 'base64').toString('utf8');
}

/** The `exp` claim of a JWT, without verifying it (the API server does that); undefined for other tokens. */
/** The notAfter of the first certificate in a PEM, if it parses. */
export function certificateExpiry(pem: string | undefined): Date | undefined {
  if (pem === undefined) return undefined;
  try {
    const d = new Date(new X509Certificate(pem).validTo);
    return Number.isFinite(d.getTime()) ? d : undefined;
  } catch {
    return undefined;
  }
}

export function tokenExpiry(token: string): Date | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    const exp = isObj(claims) ? claims.exp : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? new Date(exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a server URL is refused (the message never repeats the URL: it may hold a password); `field` is where the
 * URL is (`clusters["c"].cluster.server`).
 */
export function serverProblem(server: unknown, field: string): KubeconfigProblem | undefined {
  if (typeof server !== 'string' || server === '') return kubeconfigProblem(KUBECONFIG_CODES.InvalidServer, { reason: 'missing', field });
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    return kubeconfigProblem(KUBECONFIG_CODES.InvalidServer, { reason: 'notUrl', field });
  }
  if (u.username !== '' || u.password !== '') return kubeconfigProblem(KUBECONFIG_CODES.InvalidServer, { reason: 'userInfo', field });
  if (u.protocol === 'http:') return kubeconfigProblem(KUBECONFIG_CODES.InsecureTransport, { reason: 'http', field });
  if (u.protocol !== 'https:') return kubeconfigProblem(KUBECONFIG_CODES.InvalidServer, { reason: 'scheme', field, scheme: u.protocol.slice(0, 10) });
  if (u.search !== '' || u.hash !== '') return kubeconfigProblem(KUBECONFIG_CODES.InvalidServer, { reason: 'queryOrFragment', field });
  return undefined;
}

/** A URL without user info, query or fragment: safe to log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

function entries(doc: Obj, list: string, entry: string, add: (p: KubeconfigProblem) => void): Map<string, Obj> {
  const out = new Map<string, Obj>();
  const items = doc[list];
  if (items === undefined || items === null) return out;
  if (!Array.isArray(items)) {
    add(kubeconfigProblem(KUBECONFIG_CODES.Unparseable, { reason: 'notList', field: list }));
    return out;
  }
  items.forEach((item, i) => {
    if (!isObj(item) || typeof item.name !== 'string' || item.name === '') {
      add(kubeconfigProblem(KUBECONFIG_CODES.Unparseable, { reason: 'noName', field: `${list}[${i}]` }));
      return;
    }
    const field = `${list}[${shown(item.name)}]`;
    if (out.has(item.name)) {
      add(kubeconfigProblem(KUBECONFIG_CODES.AmbiguousContext, { reason: 'duplicate', field }));
      return;
    }
    for (const k of Object.keys(item)) {
      if (k !== 'name' && k !== entry) add(kubeconfigProblem(KUBECONFIG_CODES.UnknownField, { field: `${field}.${k}`, inMemberOnly: false }));
    }
    const body = item[entry];
    if (!isObj(body)) {
      add(kubeconfigProblem(KUBECONFIG_CODES.Unparseable, { reason: 'noSection', field, section: entry }, `${field}.${entry}`));
      return;
    }
    out.set(item.name, body);
  });
  return out;
}

/**
 * Every reason a member kubeconfig (parsed) is refused, in document order. Every cluster and user entry is
 * checked, used or not: nothing in a member Secret may run or read files.
 */
export function memberKubeconfigProblems(doc: unknown): { problems: KubeconfigProblem[]; config?: MemberConfig } {
  const problems: KubeconfigProblem[] = [];
  const add = (p: KubeconfigProblem): void => {
    problems.push(p);
  };
  if (!isObj(doc)) return { problems: [kubeconfigProblem(KUBECONFIG_CODES.Unparseable, { reason: 'notMapping' })] };
  for (const k of Object.keys(doc)) {
    if (!TOP_ALLOWED.has(k)) add(kubeconfigProblem(KUBECONFIG_CODES.UnknownField, { field: k, inMemberOnly: false }));
  }
  const clusters = entries(doc, 'clusters', 'cluster', add);
  const users = entries(doc, 'users', 'user', add);
  const contexts = entries(doc, 'contexts', 'context', add);

  for (const [name, c] of clusters) {
    const field = `clusters[${shown(name)}].cluster`;
    for (const k of Object.keys(c)) {
      const r = refusal('cluster', k, `${field}.${k}`);
      if (r) add(r);
      else if (!CLUSTER_ALLOWED.has(k)) add(kubeconfigProblem(KUBECONFIG_CODES.UnknownField, { field: `${field}.${k}`, inMemberOnly: true }));
    }
    if (c['insecure-skip-tls-verify'] !== undefined && c['insecure-skip-tls-verify'] !== false) {
      add(kubeconfigProblem(KUBECONFIG_CODES.InsecureTransport, { reason: 'skipVerify', field: `${field}.insecure-skip-tls-verify` }));
    }
    const sp = serverProblem(c.server, `${field}.server`);
    if (sp) add(sp);
    if (c['certificate-authority-data'] !== undefined && !/-----BEGIN CERTIFICATE-----/.test(decodeBase64(c['certificate-authority-data']) ?? '')) {
      add(kubeconfigProblem(KUBECONFIG_CODES.InvalidData, { field: `${field}.certificate-authority-data`, expected: 'certificate' }));
    }
    if (c['tls-server-name'] !== undefined && (typeof c['tls-server-name'] !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(c['tls-server-name']))) {
      add(kubeconfigProblem(KUBECONFIG_CODES.InvalidData, { field: `${field}.tls-server-name`, expected: 'hostName' }));
    }
  }
  for (const [name, u] of users) {
    const field = `users[${shown(name)}].user`;
    for (const k of Object.keys(u)) {
      const r = refusal('user', k, `${field}.${k}`);
      if (r) add(r);
      else if (!USER_ALLOWED.has(k)) add(kubeconfigProblem(KUBECONFIG_CODES.UnknownField, { field: `${field}.${k}`, inMemberOnly: true }));
    }
    if (u.token !== undefined && (typeof u.token !== 'string' || u.token === '' || !/^[\x21-\x7e]+$/.test(u.token))) {
      add(kubeconfigProblem(KUBECONFIG_CODES.InvalidData, { field: `${field}.token`, expected: 'token' }));
    }
    for (const [k, marker] of [['client-certificate-data', /-----BEGIN CERTIFICATE-----/], ['client-key-data', /-----BEGIN [A-Z ]*PRIVATE KEY-----/]] as const) {
      if (u[k] !== undefined && !marker.test(decodeBase64(u[k]) ?? '')) add(kubeconfigProblem(KUBECONFIG_CODES.InvalidData, { field: `${field}.${k}`, expected: k === 'client-key-data' ? 'privateKey' : 'certificate' }));
    }
    const hasCert = u['client-certificate-data'] !== undefined, hasKey = u['client-key-data'] !== undefined;
    if (hasCert !== hasKey) add(kubeconfigProblem(KUBECONFIG_CODES.NoCredentials, { reason: hasCert ? 'certWithoutKey' : 'keyWithoutCert', field }));
  }
  for (const [name, c] of contexts) {
    const field = `contexts[${shown(name)}].context`;
    for (const k of Object.keys(c)) {
      if (!CONTEXT_ALLOWED.has(k)) add(kubeconfigProblem(KUBECONFIG_CODES.UnknownField, { field: `${field}.${k}`, inMemberOnly: true }));
    }
  }

  // Which context: current-context, or the only one there is.
  const current = doc['current-context'];
  let contextName: string | undefined;
  if (typeof current === 'string' && current !== '') {
    if (!contexts.has(current)) add(kubeconfigProblem(KUBECONFIG_CODES.AmbiguousContext, { reason: 'unknownCurrent', contexts: contexts.size }, 'current-context'));
    else contextName = current;
  } else if (contexts.size === 1) contextName = [...contexts.keys()][0];
  else add(kubeconfigProblem(KUBECONFIG_CODES.AmbiguousContext, contexts.size === 0 ? { reason: 'noContext' } : { reason: 'noCurrent', contexts: contexts.size }, 'current-context'));

  let config: MemberConfig | undefined;
  if (contextName !== undefined) {
    const ctx = contexts.get(contextName)!;
    const cf = `contexts[${shown(contextName)}].context`;
    const clusterName = ctx.cluster, userName = ctx.user;
    const cluster = typeof clusterName === 'string' ? clusters.get(clusterName) : undefined;
    const user = typeof userName === 'string' ? users.get(userName) : undefined;
    if (!cluster) add(kubeconfigProblem(KUBECONFIG_CODES.AmbiguousContext, { reason: 'unknownCluster', field: `${cf}.cluster` }));
    if (!user) add(kubeconfigProblem(KUBECONFIG_CODES.NoCredentials, { reason: 'unknownUser', field: `${cf}.user` }));
    if (cluster && user) {
      const hasToken = typeof user.token === 'string' && user.token !== '';
      const hasCert = user['client-certificate-data'] !== undefined && user['client-key-data'] !== undefined;
      const uf = `users[${shown(userName)}].user`;
      if (!hasToken && !hasCert) add(kubeconfigProblem(KUBECONFIG_CODES.NoCredentials, { reason: 'none', field: uf }));
      if (problems.length === 0) {
        const token = hasToken ? (user.token as string) : undefined;
        const expiresAt = token !== undefined ? tokenExpiry(token) : certificateExpiry(decodeBase64(user['client-certificate-data']));
        config = {
          server: (cluster.server as string).replace(/\/+$/, ''),
          ...(cluster['certificate-authority-data'] !== undefined ? { caPem: decodeBase64(cluster['certificate-authority-data'])! } : {}),
          ...(typeof cluster['tls-server-name'] === 'string' ? { tlsServerName: cluster['tls-server-name'] } : {}),
          ...(token !== undefined ? { token } : {}),
          ...(hasCert ? { certPem: decodeBase64(user['client-certificate-data'])!, keyPem: decodeBase64(user['client-key-data'])! } : {}),
          context: contextName,
          cluster: clusterName as string,
          user: userName as string,
          ...(expiresAt ? { expiresAt } : {}),
        };
      }
    }
  }
  return problems.length ? { problems } : { problems, config };
}

/** Parses YAML without ever quoting the text (it holds credentials): errors give the line only. */
export function parseKubeconfigText(text: string): unknown {
  try {
    // JSON_SCHEMA: no custom tags, no timestamps; aliases stay bounded by the text's size.
    return yaml.load(text, { schema: yaml.JSON_SCHEMA, json: true });
  } catch (e) {
    const line = (e as { mark?: { line?: number } }).mark?.line;
    throw new KubeconfigPolicyError([kubeconfigProblem(KUBECONFIG_CODES.Unparseable, { reason: 'notYaml', ...(line !== undefined ? { line: line + 1 } : {}) })]);
  }
}

/** Maximum size of a member kubeconfig (a Secret is at most 1 MiB anyway). */
export const MAX_MEMBER_KUBECONFIG_BYTES = 1 << 20;

/** A member cluster's kubeconfig (the Secret's `kubeconfig` key, decoded) as data, or a KubeconfigPolicyError. */
export function memberConfigFromText(text: string): MemberConfig {
  if (text.length > MAX_MEMBER_KUBECONFIG_BYTES) throw new KubeconfigPolicyError([kubeconfigProblem(KUBECONFIG_CODES.Unparseable, { reason: 'tooLarge', maxBytes: MAX_MEMBER_KUBECONFIG_BYTES })]);
  const { problems, config } = memberKubeconfigProblems(parseKubeconfigText(text));
  if (!config) throw new KubeconfigPolicyError(problems);
  return config;
}
