/**
 * A small Kubernetes REST client over node:http/https. Authentication comes from one `KubeConfig` per cluster
 * for the controller's own cluster (client-node: tokens, client certificates, in-cluster service accounts), or
 * from a data-only `MemberConfig` for a member cluster (inline CA, token or client certificate; nothing runs or
 * reads files, see config.ts); the transport is our own so that every request has a timeout, watches can be aborted by a watchdog, connections are kept alive,
 * and requests are counted (the benchmarks and tests assert on write counts).
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { MemberConfig } from './config.ts';
import { redactUrl, tokenFileOf } from './config.ts';
import { TokenFile } from './token-file.ts';
import { KubeApiError, parseRetryAfter } from './errors.ts';

export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface KubeRequest {
  method: Verb;
  /** Absolute API path, e.g. `/apis/networking.istio.io/v1/namespaces/default/serviceentries/x`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Client-side deadline for the whole request; defaults to the client's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface WatchOptions {
  signal: AbortSignal;
  /** Called whenever any bytes arrive (events, bookmarks, partial lines): feeds the stall watchdog. */
  onActivity?: () => void;
  /** Called once the server accepted the watch (HTTP 200). */
  onOpen?: () => void;
}

export interface RequestStats {
  reads: number;
  writes: number;
  watches: number;
  /** Writes by verb and path prefix kind: `PATCH serviceentries`. */
  writesByKind: Map<string, number>;
  /** Requests answered 429 (throttled) and sent again after the server's Retry-After. */
  throttled: number;
}

/** What the controller needs from a cluster connection; tests and benchmarks can wrap it. */
export interface KubeClient {
  /** The API server URL (no credentials), for logs and status. */
  readonly server: string;
  readonly stats: RequestStats;
  /** Sends a request and returns the decoded JSON body; throws KubeApiError on non-2xx or no response. */
  request(req: KubeRequest): Promise<unknown>;
  /** Streams a watch; resolves when the server ends it, rejects on errors (HTTP errors as KubeApiError). */
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (ev: WatchEvent) => void, opts: WatchOptions): Promise<void>;
  close(): void;
}

export function newStats(): RequestStats {
  return { reads: 0, writes: 0, watches: 0, writesByKind: new Map(), throttled: 0 };
}

export function buildQuery(query: Record<string, string | number | boolean | undefined> | undefined): string {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

interface Transport {
  agent: http.Agent;
  module: typeof http | typeof https;
  base: URL;
}

/** A client for the current context of `kc`. The KubeConfig instance must belong to this one cluster. */
export class HttpKubeClient implements KubeClient {
  readonly server: string;
  readonly stats = newStats();
  private transport: Transport | undefined;
  private closed = false;

  private readonly defaultTimeoutMs: number;
  private readonly userAgent: string;

  private readonly kc: KubeConfig | undefined;
  private readonly member: MemberConfig | undefined;
  /** A service-account token file (in-cluster): read again when the kubelet rotates it. */
  private readonly tokenFile: TokenFile | undefined;

  constructor(source: KubeConfig | MemberConfig, opts: { timeoutMs?: number; userAgent?: string } = {}) {
    this.defaultTimeoutMs = opts.timeoutMs ?? 30_000;
    this.userAgent = opts.userAgent ?? 'spillway-controller/0.1.0';
    if (isMemberConfig(source)) {
      this.member = source;
      this.server = redactUrl(source.server);
      if (!this.server.startsWith('https://')) throw new Error(`member cluster "${source.cluster}" server is not an https URL`);
      return;
    }
    const kc = source;
    this.kc = kc;
    const tokenFile = tokenFileOf(kc);
    if (tokenFile) this.tokenFile = new TokenFile(tokenFile);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig has no cluster for context "${kc.getCurrentContext()}"`);
    if (!/^https?:\/\//.test(cluster.server)) throw new Error(`kubeconfig cluster "${cluster.name}" has an invalid server URL`);
    if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
      // client-node 1.4 refuses plain HTTP unless the cluster entry opts out of TLS verification; say so plainly.
      throw new Error(`kubeconfig cluster "${cluster.name}" uses plain http://; set insecure-skip-tls-verify: true on it to allow that`);
    }
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** Credentials are applied per request (tokens from exec plugins and token files rotate); the agent is reused. */
  private async prepare(): Promise<{ t: Transport; headers: Record<string, string> }> {
    if (this.member) return this.prepareMember(this.member);
    const kc = this.kc!;
    const opts: https.RequestOptions & { headers: Record<string, string | string[] | number> } = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    if (!this.transport) {
      const base = new URL(this.server);
      const cluster = kc.getCurrentCluster();
      const module = base.protocol === 'http:' ? http : https;
      const agent =
        cluster?.proxyUrl !== undefined && opts.agent instanceof http.Agent
          ? opts.agent // proxies: keep client-node's proxy agent
          : base.protocol === 'http:'
            ? new http.Agent({ keepAlive: true, maxSockets: 16 })
            : new https.Agent({
                keepAlive: true,
                maxSockets: 16,
                ca: opts.ca,
                cert: opts.cert,
                key: opts.key,
                pfx: opts.pfx,
                passphrase: opts.passphrase,
                servername: opts.servername,
                ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
              });
      this.transport = { agent, module, base };
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    // client-node's own token-file reader keeps one token for every user of the process for a minute.
    if (this.tokenFile) headers.Authorization = `Bearer ${this.tokenFile.get()}`;
    return { t: this.transport, headers };
  }

  /** A member cluster: a TLS agent from inline data and a static bearer token; no plugin, file or proxy. */
  private prepareMember(m: MemberConfig): { t: Transport; headers: Record<string, string> } {
    if (!this.transport) {
      const agent = new https.Agent({
        keepAlive: true,
        maxSockets: 16,
        ...(m.caPem !== undefined ? { ca: m.caPem } : {}),
        ...(m.certPem !== undefined ? { cert: m.certPem, key: m.keyPem } : {}),
        ...(m.tlsServerName !== undefined ? { servername: m.tlsServerName } : {}),
        rejectUnauthorized: true,
      });
      this.transport = { agent, module: https, base: new URL(m.server) };
    }
    return { t: this.transport, headers: m.token !== undefined ? { Authorization: `Bearer ${m.token}` } : {} };
  }

  private count(method: Verb, path: string, watch: boolean): void {
    if (watch) this.stats.watches++;
    else if (method === 'GET') this.stats.reads++;
    else {
      this.stats.writes++;
      const plural = pluralOf(path);
      const key = `${method} ${plural}`;
      this.stats.writesByKind.set(key, (this.stats.writesByKind.get(key) ?? 0) + 1);
    }
  }

  private open(
    method: Verb,
    path: string,
    query: KubeRequest['query'],
    body: string | undefined,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<{ res: http.IncomingMessage; req: http.ClientRequest; timedOut: () => RequestTimeout | undefined }> {
    if (this.closed) return Promise.reject(new KubeApiError({ status: 0, message: 'client closed', verb: method, path }));
    return this.prepare().then(
      ({ t, headers }) =>
        new Promise((resolve, reject) => {
          const url = new URL(t.base.pathname.replace(/\/$/, '') + path + buildQuery(query), t.base);
          const h: Record<string, string> = { ...headers, Accept: 'application/json', 'User-Agent': this.userAgent };
          if (body !== undefined) {
            h['Content-Type'] = contentType ?? 'application/json';
            h['Content-Length'] = String(Buffer.byteLength(body));
          }
          const req = t.module.request(url, { method, headers: h, agent: t.agent, signal });
          let timer: NodeJS.Timeout | undefined;
          let timedOut: RequestTimeout | undefined;
          if (timeoutMs !== undefined && timeoutMs > 0) {
            timer = setTimeout(() => {
              timedOut = new RequestTimeout(`timed out after ${timeoutMs}ms`);
              req.destroy(timedOut);
            }, timeoutMs);
            timer.unref();
          }
          req.on('response', (res) => {
            res.on('close', () => timer && clearTimeout(timer));
            // Past the headers, destroying the request makes the response fail with a bare "aborted": readAll asks why.
            resolve({ res, req, timedOut: () => timedOut });
          });
          req.on('error', (e: Error) => {
            if (timer) clearTimeout(timer);
            reject(new KubeApiError({ status: 0, ...(e instanceof RequestTimeout ? { reason: 'Timeout' } : {}), message: signal?.aborted ? 'aborted' : e.message, verb: method, path }));
          });
          req.end(body);
        }),
      (e: unknown) => {
        throw new KubeApiError({ status: 0, message: `credentials: ${e instanceof Error ? e.message : String(e)}`, verb: method, path });
      },
    );
  }

  /**
   * A 429 (API priority and fairness, or a webhook's rate limit) means the request was not processed: it is sent
   * again after the server's Retry-After, up to `THROTTLE_RETRIES` times and only while the wait fits in
   * `THROTTLE_MAX_WAIT_MS`; otherwise the error carries `retryAfterMs` for the caller's own backoff.
   */
  async request(r: KubeRequest): Promise<unknown> {
    this.count(r.method, r.path, false);
    const body = r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    let reread = false;
    for (let attempt = 0; ; attempt++) {
      const { res, timedOut } = await this.open(r.method, r.path, r.query, body, r.contentType, r.signal, r.timeoutMs ?? this.defaultTimeoutMs);
      const text = await readAll(res, r.method, r.path, timedOut);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return text ? (JSON.parse(text) as unknown) : {};
      // Refused credentials from a token file: the kubelet may have rotated it since we last looked; once.
      if (status === 401 && this.tokenFile && !reread) {
        reread = true;
        if (this.tokenFile.refresh()) continue;
      }
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
      if (status === 429 && retryAfterMs !== undefined && attempt < THROTTLE_RETRIES && retryAfterMs <= THROTTLE_MAX_WAIT_MS && !r.signal?.aborted) {
        this.stats.throttled++;
        await abortableDelay(retryAfterMs, r.signal);
        continue;
      }
      throw apiError(status, text, r.method, r.path, retryAfterMs);
    }
  }

  async watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (ev: WatchEvent) => void, opts: WatchOptions): Promise<void> {
    this.count('GET', path, true);
    const { res } = await this.open('GET', path, { ...query, watch: 'true' }, undefined, undefined, opts.signal, undefined);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, await readAll(res, 'GET', path), 'GET', path, status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined);
    opts.onActivity?.();
    opts.onOpen?.();
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let failed = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (failed) return;
        opts.onActivity?.();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let ev: WatchEvent;
          try {
            ev = JSON.parse(line) as WatchEvent;
          } catch {
            failed = true;
            res.destroy();
            reject(new KubeApiError({ status: 0, message: 'malformed watch event', verb: 'WATCH', path }));
            return;
          }
          try {
            onEvent(ev);
          } catch (e) {
            failed = true;
            res.destroy();
            reject(e instanceof Error ? e : new Error(String(e)));
            return;
          }
        }
      });
      res.on('end', () => !failed && resolve());
      res.on('error', (e) => !failed && reject(new KubeApiError({ status: 0, message: opts.signal.aborted ? 'aborted' : e.message, verb: 'WATCH', path })));
      res.on('close', () => {
        if (failed) return;
        if (!res.complete) reject(new KubeApiError({ status: 0, message: opts.signal.aborted ? 'aborted' : 'watch connection closed', verb: 'WATCH', path }));
        else resolve();
      });
    });
  }

  close(): void {
    this.closed = true;
    this.transport?.agent.destroy();
  }
}

function isMemberConfig(s: KubeConfig | MemberConfig): s is MemberConfig {
  return typeof (s as MemberConfig).server === 'string' && typeof (s as MemberConfig).context === 'string' && !('getCurrentCluster' in s);
}

/** What a request's own timeout destroys it with: told apart from resets and refusals (reason `Timeout`). */
class RequestTimeout extends Error {}

/** A response's body. `timedOut`: the request's own timeout, if it cut the response short (Node then says only "aborted"). */
function readAll(res: http.IncomingMessage, verb: string, path: string, timedOut?: () => RequestTimeout | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cut = (fallback: string): KubeApiError => {
      const t = timedOut?.();
      return t
        ? new KubeApiError({ status: 0, reason: 'Timeout', message: `${t.message} (${received} bytes of the response read)`, verb, path })
        : new KubeApiError({ status: 0, message: fallback, verb, path });
    };
    res.on('data', (c: Buffer) => {
      received += c.length;
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (e) => reject(cut(e.message)));
    res.on('close', () => {
      if (!res.complete) reject(cut('connection closed mid-response'));
    });
  });
}

/** Throttled requests are sent again at most this many times, each after the server's Retry-After. */
const THROTTLE_RETRIES = 3;
/** A longer Retry-After is not waited out inside the request: the caller backs off instead. */
const THROTTLE_MAX_WAIT_MS = 10_000;

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function apiError(status: number, text: string, verb: string, path: string, retryAfterMs?: number): KubeApiError {
  let reason: string | undefined;
  let message = `HTTP ${status}`;
  try {
    const s = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof s.reason === 'string') reason = s.reason;
    if (typeof s.message === 'string') message = s.message;
  } catch {
    if (text && text.length < 200) message = text.trim();
  }
  return new KubeApiError({ status, reason, message, verb, path, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}

/** The resource plural of an API path (`.../serviceentries/name` -> `serviceentries`), for write accounting. */
function pluralOf(path: string): string {
  const parts = path.split('/').filter(Boolean);
  const rest = parts.slice(parts[0] === 'api' ? 2 : 3);
  const plural = rest[0] === 'namespaces' && rest.length >= 3 ? rest[2] : rest[0];
  return `${plural ?? '?'}${rest[rest.length - 1] === 'status' ? '/status' : ''}`;
}
