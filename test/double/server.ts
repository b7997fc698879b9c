// KubeDouble: an in-process HTTP(S) server speaking enough of the Kubernetes API wire protocol for
// @kubernetes/client-node and kubectl to manage objects, register CRDs, watch and server-side apply.
// One instance simulates one cluster. See README.md beside this file for what is and is not covered.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import yaml from 'js-yaml';
import type { StatusCause } from './errors.ts';
import { StatusError, STALE, alreadyExists, badRequest, conflict, expired, injected, internal, invalid, methodNotAllowed, notFound, pathNotFound, unsupportedMediaType } from './errors.ts';
import type { Json, JsonObject } from './json.ts';
import { clone, deepEqual, isObject, obj, parseJson, str } from './json.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { PatchError, applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.ts';
import type { ResourceType, ServerContext } from './resources.ts';
import { apiVersionOf, builtInTypes, typeFromCRD } from './resources.ts';
import type { Schema } from './schema.ts';
import { applyDefaults, firstUndeclared, prune, validate } from './schema.ts';
import type { Matcher } from './selectors.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { apply as serverSideApply, readManaged, recordUpdate } from './ssa.ts';
import type { StoredEvent } from './store.ts';
import { Store } from './store.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
export const WRITE_VERBS: readonly Verb[] = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/** What a resource request addresses (group '' is the core group). */
export interface RequestInfo {
  verb: Verb;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface RequestRecord {
  method: string;
  path: string;
  /** Resource requests carry their RequestInfo; discovery and other paths have none. */
  info?: RequestInfo;
  code: number;
  userAgent: string;
  contentType: string;
  /** True when a fault hook produced the response. */
  injected: boolean;
  /** When the request arrived and when its response was sent (Date.now()). */
  at: number;
  doneAt?: number;
}

/** Selects resource requests for fault hooks; every given field must match. */
export interface RequestMatcher {
  verb?: Verb | readonly Verb[];
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  predicate?: (info: RequestInfo) => boolean;
  /**
   * A discovery (non-resource) request whose path is this or under it, e.g. `/apis/networking.istio.io`. A matcher
   * with `path` matches only such requests, and only `path` (and `verb` get) is read for them.
   */
  path?: string;
}

export interface FailureSpec extends RequestMatcher {
  /** How many matching requests fail (default 1). */
  count?: number;
  /** HTTP status of the failure: 409, 410, 500, ... A watch given 410 gets an Expired ERROR event instead. */
  code: number;
  message?: string;
  /** Sends `Retry-After: <seconds>` with the failure (kube-apiserver does on 429 from priority and fairness). */
  retryAfterSeconds?: number;
}

export interface FailureHandle {
  remaining(): number;
  cancel(): void;
}

/** Requests held by `hold` until released (they then proceed) or dropped (answered 503, state untouched). */
export interface HoldHandle {
  /** Matching requests waiting now. */
  held(): number;
  /** Lets the waiting requests (and any later ones) proceed as usual; ends the hold. */
  release(): void;
  /** Answers the waiting requests 503 without touching state (the write never happened); ends the hold. */
  drop(): void;
}

export interface KubeDoubleOptions {
  /** Cluster name used in kubeconfigs (default "kube-double"). */
  name?: string;
  /** Port to listen on (default 0: any free port). Always 127.0.0.1. */
  port?: number;
  /** Serve HTTPS with the bundled self-signed certificate (kubeconfig carries it as the CA). */
  tls?: boolean;
  /** Watch history kept for resumption, in events (default 1000). Older resourceVersions get 410. */
  historyLimit?: number;
  /** BOOKMARK period for watches that allow them, in ms (default 1000). */
  bookmarkIntervalMs?: number;
  /** Reported by /version (default 1.30.0). kubectl's dispatcher picks its binary from this. */
  version?: { major: string; minor: string };
  /** Namespaces that exist from the start (default: default, kube-system, kube-public, kube-node-lease). */
  namespaces?: string[];
  /** Accept strategic merge patch on custom resources as a merge patch (a real server answers 415). */
  lenientStrategicMerge?: boolean;
  /** Clock for timestamps (default: the real clock). */
  clock?: () => Date;
}

interface OpenWatch {
  info: RequestInfo;
  res: http.ServerResponse;
  stalled: boolean;
  close(): void;
}

interface Failure extends FailureSpec {
  left: number;
}

interface Hold {
  matcher: RequestMatcher;
  waiting: ((go: boolean) => void)[];
}

interface Latency {
  ms: number;
  matcher: RequestMatcher;
}

const HERE = new URL('.', import.meta.url);
const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const META_KEYS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function matches(m: RequestMatcher, info: RequestInfo): boolean {
  if (m.path !== undefined) return false;
  if (m.verb !== undefined && !(typeof m.verb === 'string' ? [m.verb] : m.verb).includes(info.verb)) return false;
  if (m.group !== undefined && m.group !== info.group) return false;
  if (m.resource !== undefined && m.resource !== info.resource) return false;
  if (m.subresource !== undefined && m.subresource !== info.subresource) return false;
  if (m.namespace !== undefined && m.namespace !== info.namespace) return false;
  if (m.name !== undefined && m.name !== info.name) return false;
  return !m.predicate || m.predicate(info);
}

/** Does a matcher with `path` select this discovery (non-resource) request? */
function matchesPath(m: RequestMatcher, method: string, pathname: string): boolean {
  if (m.path === undefined) return false;
  if (m.verb !== undefined && !(typeof m.verb === 'string' ? [m.verb] : m.verb).includes(method === 'GET' ? 'get' : (method.toLowerCase() as Verb))) return false;
  const p = pathname.replace(/\/+$/, '');
  const want = m.path.replace(/\/+$/, '');
  return p === want || p.startsWith(`${want}/`);
}

function metaOf(o: JsonObject): JsonObject {
  return isObject(o.metadata) ? o.metadata : (o.metadata = {});
}

const truthy = (v: string | null): boolean => v === 'true' || v === '1';

export class KubeDouble {
  readonly name: string;
  readonly tls: boolean;
  private readonly opts: KubeDoubleOptions;
  private readonly store: Store;
  private readonly types = new Map<string, ResourceType>();
  private readonly builtInGroups: string[] = [];
  private server: http.Server | https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<OpenWatch>();
  private failures: Failure[] = [];
  private latencies: Latency[] = [];
  private holds: Hold[] = [];
  private stallNew = false;
  private listening = false;
  private boundPort = 0;
  private ipCounter = 10;
  private nodePortCounter = 30000;
  /** Every request received, in order (cleared by resetLog). */
  readonly requests: RequestRecord[] = [];
  private readonly ctx: ServerContext;

  private constructor(opts: KubeDoubleOptions) {
    this.opts = opts;
    this.name = opts.name ?? 'kube-double';
    this.tls = opts.tls === true;
    this.store = new Store(opts.historyLimit ?? 1000);
    for (const t of builtInTypes()) this.register(t);
    this.builtInGroups = [...new Set(builtInTypes().map((t) => t.group).filter((g) => g))];
    this.ctx = {
      allocateClusterIP: () => {
        const n = this.ipCounter++;
        return `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      },
      allocateNodePort: () => this.nodePortCounter++,
      now: () => this.now(),
    };
    const now = this.now();
    for (const ns of opts.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.store.put('ADDED', '', 'namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, uid: randomUUID(), creationTimestamp: now, labels: { 'kubernetes.io/metadata.name': ns } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
    this.server = this.makeServer();
  }

  /** Starts a double listening on 127.0.0.1. */
  static async start(opts: KubeDoubleOptions = {}): Promise<KubeDouble> {
    const d = new KubeDouble(opts);
    await d.listen(opts.port ?? 0);
    return d;
  }

  private makeServer(): http.Server | https.Server {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      void this.handle(req, res);
    };
    const s = this.tls
      ? https.createServer({ key: readFileSync(new URL('tls/server.key', HERE)), cert: readFileSync(new URL('tls/server.crt', HERE)) }, handler)
      : http.createServer(handler);
    // Long, like a real API server's idle timeout: a short one races clients reusing a kept-alive socket (ECONNRESET).
    s.keepAliveTimeout = 90_000;
    s.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    return s;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError);
        this.boundPort = (this.server.address() as AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.boundPort}`;
  }

  get isUp(): boolean {
    return this.listening;
  }

  /** A kubeconfig (YAML) that both client-node and kubectl accept for this server. */
  kubeconfig(opts: { namespace?: string } = {}): string {
    return kubeconfigYaml({
      name: this.name,
      server: this.url,
      caPem: this.tls ? readFileSync(new URL('tls/server.crt', HERE), 'utf8') : undefined,
      namespace: opts.namespace ?? 'default',
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Fault hooks

  /** Resets every open watch connection (clients see the socket die). Returns how many were dropped. */
  dropWatches(m: RequestMatcher = {}): number {
    let n = 0;
    for (const w of [...this.watches]) {
      if (!matches(m, w.info)) continue;
      w.res.socket?.destroy();
      w.close();
      n++;
    }
    return n;
  }

  /** Ends open watch streams cleanly, as an apiserver does at a watch timeout. Returns how many. */
  closeWatches(m: RequestMatcher = {}): number {
    let n = 0;
    for (const w of [...this.watches]) {
      if (!matches(m, w.info)) continue;
      w.close();
      n++;
    }
    return n;
  }

  /**
   * Stalls open watches: connections stay open but nothing more is sent (no events, no bookmarks, no
   * timeout close). With includeNew, watches opened later stall too, until the returned function is called.
   */
  stallWatches(opts: { includeNew?: boolean } = {}): () => void {
    for (const w of this.watches) w.stalled = true;
    if (opts.includeNew) this.stallNew = true;
    return () => {
      this.stallNew = false;
    };
  }

  /** Open (not yet closed) watch connections, stalled ones included. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** The next `count` matching resource requests fail with `code` without touching state. */
  injectFailures(spec: FailureSpec): FailureHandle {
    const f: Failure = { ...spec, left: spec.count ?? 1 };
    this.failures.push(f);
    return {
      remaining: () => f.left,
      cancel: () => {
        this.failures = this.failures.filter((x) => x !== f);
      },
    };
  }

  /** Delays matching resource requests by `ms` before they are handled. Returns a remover. */
  addLatency(ms: number, m: RequestMatcher = {}): () => void {
    const l: Latency = { ms, matcher: m };
    this.latencies.push(l);
    return () => {
      this.latencies = this.latencies.filter((x) => x !== l);
    };
  }

  /**
   * Holds matching resource requests before they are handled, for as long as the test wants: a write the server
   * accepted and has not carried out yet. `release` lets them proceed; `drop` answers them 503 without touching
   * state (the client went away before the server wrote). Either ends the hold.
   */
  hold(m: RequestMatcher = {}): HoldHandle {
    const h: Hold = { matcher: m, waiting: [] };
    this.holds.push(h);
    const end = (go: boolean): void => {
      this.holds = this.holds.filter((x) => x !== h);
      for (const w of h.waiting.splice(0)) w(go);
    };
    return { held: () => h.waiting.length, release: () => end(true), drop: () => end(false) };
  }

  /** Takes the server down: stops listening and resets every connection. State is kept. */
  async down(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    for (const w of this.watches) w.close();
    this.watches.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Brings the server back on the same port, with the state it had. */
  async up(): Promise<void> {
    if (this.listening) return;
    this.server = this.makeServer();
    await this.listen(this.boundPort);
  }

  /** Stops the server for good. */
  async close(): Promise<void> {
    await this.down();
  }

  // ---------------------------------------------------------------------------------------------
  // Introspection

  /** Number of write requests (create/update/patch/delete/deletecollection) that reached the server. */
  writeCount(m: RequestMatcher = {}): number {
    return this.requests.filter((r) => r.info && WRITE_VERBS.includes(r.info.verb) && matches(m, r.info)).length;
  }

  /** Counts of resource requests by "verb resource" (e.g. "patch configmaps"). */
  requestCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) {
      if (!r.info) continue;
      const k = `${r.info.verb} ${r.info.subresource ? `${r.info.resource}/${r.info.subresource}` : r.info.resource}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  /**
   * Calls `fn` after every change the store makes (a write, a delete, a cascade), synchronously, once the change is
   * readable with peek: benchmarks wait for a state this way instead of polling. Returns a remover.
   */
  onChange(fn: () => void): () => void {
    return this.store.onChange(fn);
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  /** Drops watch history: watches from any older resourceVersion now get 410 Expired. */
  compactHistory(): void {
    this.store.compact();
  }

  set historyLimit(n: number) {
    this.store.historyLimit = n;
  }

  /** Sends a BOOKMARK now on every open watch that allows bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watches) (w as OpenWatch & { bookmark?: () => void }).bookmark?.();
  }

  /**
   * Stores objects without HTTP, through the very create (or, with `fieldManager`, server-side apply) code a request
   * runs (validation, defaulting, managedFields, events): for benchmarks that need a large cluster quickly. Nothing is
   * logged in `requests`. Throws the StatusError a request would have been answered with.
   */
  load(objects: readonly JsonObject[], opts: { fieldManager?: string } = {}): void {
    const byKind = new Map<string, ResourceType>();
    for (const t of this.types.values()) byKind.set(`${t.group}|${t.kind}`, t);
    for (const o of objects) {
      const apiVersion = String(o.apiVersion ?? '');
      const slash = apiVersion.lastIndexOf('/');
      const group = slash < 0 ? '' : apiVersion.slice(0, slash);
      const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
      const t = byKind.get(`${group}|${String(o.kind)}`);
      if (!t) throw new Error(`load: ${apiVersion} ${String(o.kind)} is not served`);
      const m = obj(o.metadata) ?? {};
      const info: RequestInfo = { verb: opts.fieldManager ? 'patch' : 'create', group, version, resource: t.plural, subresource: '', namespace: t.namespaced ? (str(m.namespace) ?? 'default') : '', name: opts.fieldManager ? (str(m.name) ?? '') : '' };
      if (opts.fieldManager) this.apply(t, info, o, new URLSearchParams({ fieldManager: opts.fieldManager, force: 'true' }), null, [], false);
      else this.create(t, info, o, 'bench-load', null, [], false);
    }
  }

  /** Every stored object of a resource, straight from the store (no copies: do not modify them; no request logged). */
  peekAll(group: string, resource: string): readonly JsonObject[] {
    return this.store.listShared(group, resource);
  }

  /** Reads an object straight from the store (no request logged); apiVersion is the storage one. */
  peek(group: string, resource: string, namespace: string, name: string): JsonObject | undefined {
    return this.store.get(group, resource, namespace, name);
  }

  // ---------------------------------------------------------------------------------------------
  // Request handling

  private now(): string {
    return (this.opts.clock?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private register(t: ResourceType): void {
    this.types.set(`${t.group}/${t.plural}`, t);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      code: 0,
      userAgent: req.headers['user-agent'] ?? '',
      contentType: req.headers['content-type'] ?? '',
      injected: false,
      at: Date.now(),
    };
    this.requests.push(record);
    const send = (code: number, body: Json | Buffer, headers: Record<string, string> = {}) => {
      record.code = code;
      record.doneAt = Date.now();
      if (res.headersSent) return;
      const isBuf = Buffer.isBuffer(body);
      const payload = isBuf ? body : JSON.stringify(body);
      res.writeHead(code, { 'Content-Type': isBuf ? 'application/octet-stream' : 'application/json', 'Cache-Control': 'no-cache, private', ...headers });
      res.end(payload);
    };
    try {
      const body = await readBody(req);
      const route = this.route(record.method, url);
      if (route.kind === 'nonresource') {
        // Discovery faults (a starved server): only matchers with a `path` apply here.
        for (const l of this.latencies) if (matchesPath(l.matcher, record.method, url.pathname)) await sleep(l.ms);
        for (const h of [...this.holds]) {
          if (!matchesPath(h.matcher, record.method, url.pathname)) continue;
          const go = await new Promise<boolean>((r) => h.waiting.push(r));
          if (!go) throw new StatusError(503, 'ServiceUnavailable', 'the request was dropped while held (test fault)');
        }
        const fail = this.failures.find((f) => f.left > 0 && matchesPath(f, record.method, url.pathname));
        if (fail) {
          fail.left--;
          record.injected = true;
          if (fail.retryAfterSeconds !== undefined) {
            send(fail.code, injected(fail.code, fail.message).toStatus(), { 'Retry-After': String(fail.retryAfterSeconds) });
            return;
          }
          throw injected(fail.code, fail.message);
        }
        route.serve(send, req);
        return;
      }
      const { info, type } = route;
      record.info = info;
      for (const l of this.latencies) if (matches(l.matcher, info)) await sleep(l.ms);
      for (const h of [...this.holds]) {
        if (!matches(h.matcher, info)) continue;
        const go = await new Promise<boolean>((r) => h.waiting.push(r));
        if (!go) throw new StatusError(503, 'ServiceUnavailable', 'the request was dropped while held (test fault)');
      }
      const fail = this.failures.find((f) => f.left > 0 && matches(f, info));
      if (fail) {
        fail.left--;
        record.injected = true;
        if (info.verb === 'watch' && fail.code === 410) {
          record.code = 200;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(`${JSON.stringify({ type: 'ERROR', object: expired(fail.message ?? 'too old resource version').toStatus() })}\n`);
          return;
        }
        if (fail.retryAfterSeconds !== undefined) {
          send(fail.code, injected(fail.code, fail.message).toStatus(), { 'Retry-After': String(fail.retryAfterSeconds) });
          return;
        }
        throw injected(fail.code, fail.message);
      }
      await this.serveResource(info, type, url, req, res, body, send, record);
    } catch (e) {
      const err = e instanceof StatusError ? e : internal(e instanceof Error ? e.message : String(e));
      send(err.code, err.toStatus());
    }
  }

  private route(
    method: string,
    url: URL,
  ):
    | { kind: 'nonresource'; serve: (send: Sender, req: http.IncomingMessage) => void }
    | { kind: 'resource'; info: RequestInfo; type: ResourceType } {
    const segs = url.pathname.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
    const nonres = (fn: (send: Sender, req: http.IncomingMessage) => void) => ({ kind: 'nonresource' as const, serve: fn });
    const p = url.pathname.replace(/\/+$/, '');
    if (p === '/version') return nonres((send) => send(200, this.versionInfo()));
    if (['/healthz', '/livez', '/readyz'].includes(p)) {
      return nonres((_send, req) => {
        void req;
        _send(200, Buffer.from('ok'));
      });
    }
    if (p === '/openapi/v2') return nonres((send, req) => this.serveOpenAPIv2(send, req));
    if (p === '' || p === '/') return nonres((send) => send(200, { paths: ['/api', '/api/v1', '/apis', '/version', '/healthz', '/openapi/v2'] }));
    let group = '';
    let version = '';
    let rest: string[];
    if (segs[0] === 'api') {
      if (segs.length === 1) return nonres((send) => send(200, this.apiVersions()));
      version = segs[1]!;
      if (version !== 'v1') return nonres((send) => send(404, pathNotFound().toStatus()));
      rest = segs.slice(2);
    } else if (segs[0] === 'apis') {
      if (segs.length === 1) return nonres((send) => send(200, this.apiGroupList()));
      group = segs[1]!;
      if (segs.length === 2) {
        const g = this.apiGroup(group);
        return nonres((send) => (g ? send(200, g) : send(404, pathNotFound().toStatus())));
      }
      version = segs[2]!;
      rest = segs.slice(3);
    } else {
      return nonres((send) => send(404, pathNotFound().toStatus()));
    }
    if (rest.length === 0) {
      const list = this.resourceList(group, version);
      return nonres((send) => (list ? send(200, list) : send(404, pathNotFound().toStatus())));
    }
    let namespace = '';
    const nsType = rest[0] === 'namespaces' && rest.length >= 3 ? this.servedType(group, version, rest[2]!) : undefined;
    if (nsType && nsType.namespaced) {
      namespace = rest[1]!;
      rest = rest.slice(2);
    }
    const type = this.servedType(group, version, rest[0]!);
    if (!type || rest.length > 3) return nonres((send) => send(404, pathNotFound().toStatus()));
    const name = rest[1] ?? '';
    const subresource = rest[2] ?? '';
    if (subresource && !(subresource === 'status' && type.statusSubresource)) return nonres((send) => send(404, pathNotFound().toStatus()));
    let verb: Verb;
    switch (method) {
      case 'GET':
        verb = name ? 'get' : truthy(url.searchParams.get('watch')) ? 'watch' : 'list';
        break;
      case 'POST':
        verb = 'create';
        break;
      case 'PUT':
        verb = 'update';
        break;
      case 'PATCH':
        verb = 'patch';
        break;
      case 'DELETE':
        verb = name ? 'delete' : 'deletecollection';
        break;
      default:
        return nonres((send) => send(405, methodNotAllowed(method, type.kind).toStatus()));
    }
    return { kind: 'resource', info: { verb, group, version, resource: type.plural, subresource, namespace, name }, type };
  }

  private servedType(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(`${group}/${plural}`);
    return t && t.versions.includes(version) ? t : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Discovery

  private versionInfo(): JsonObject {
    const v = this.opts.version ?? { major: '1', minor: '30' };
    return {
      major: v.major,
      minor: v.minor,
      gitVersion: `v${v.major}.${v.minor}.0`,
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2024-01-01T00:00:00Z',
      goVersion: 'go1.22.0',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
  }

  private apiVersions(): JsonObject {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.boundPort}` }],
    };
  }

  private groups(): string[] {
    const fromTypes = [...this.types.values()].map((t) => t.group).filter((g) => g);
    return [...new Set([...this.builtInGroups, ...fromTypes])].filter((g) => fromTypes.includes(g));
  }

  private apiGroup(group: string): JsonObject | undefined {
    const types = [...this.types.values()].filter((t) => t.group === group);
    if (!group || types.length === 0) return undefined;
    const versions: string[] = [];
    for (const t of types) for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
    const preferred = types[0]!.storageVersion && versions.includes(types[0]!.storageVersion) ? types[0]!.storageVersion : versions[0]!;
    return {
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: group,
      versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${group}/${preferred}`, version: preferred },
    };
  }

  private apiGroupList(): JsonObject {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: this.groups().map((g) => this.apiGroup(g)!).filter((g) => g) };
  }

  private resourceList(group: string, version: string): JsonObject | undefined {
    const types = [...this.types.values()].filter((t) => t.group === group && t.versions.includes(version));
    if (types.length === 0) return undefined;
    const resources: Json[] = [];
    for (const t of types) {
      const r: JsonObject = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: ALL_VERBS };
      if (t.shortNames.length) r.shortNames = t.shortNames;
      if (t.categories.length) r.categories = t.categories;
      resources.push(r);
      if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }

  /** A minimal valid OpenAPI v2 document: protobuf for kubectl (which asks for it), JSON otherwise. */
  private serveOpenAPIv2(send: Sender, req: http.IncomingMessage): void {
    const v = this.versionInfo();
    const accept = req.headers.accept ?? '';
    if (accept.includes('protobuf')) {
      const strField = (n: number, s: string) => {
        const b = Buffer.from(s, 'utf8');
        return Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
      };
      const info = Buffer.concat([strField(1, 'Kubernetes'), strField(2, String(v.gitVersion))]);
      const doc = Buffer.concat([strField(1, '2.0'), Buffer.from([(2 << 3) | 2, info.length]), info]);
      send(200, doc, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' });
      return;
    }
    send(200, { swagger: '2.0', info: { title: 'Kubernetes', version: String(v.gitVersion) }, paths: {}, definitions: {} });
  }

  // ---------------------------------------------------------------------------------------------
  // Resources

  private async serveResource(
    info: RequestInfo,
    t: ResourceType,
    url: URL,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    send: Sender,
    record: RequestRecord,
  ): Promise<void> {
    const q = url.searchParams;
    const ns = info.namespace;
    if (t.namespaced && !ns && !['list', 'watch', 'deletecollection'].includes(info.verb)) throw pathNotFound();
    const accept = req.headers.accept ?? '';
    const render = (o: JsonObject) => this.render(t, info.version, o);
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const warnings: string[] = [];
    const headers = (): Record<string, string> =>
      warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') } : {};
    const dryRun = q.getAll('dryRun').includes('All');
    switch (info.verb) {
      case 'get': {
        const o = this.store.get(t.group, t.plural, ns, info.name);
        if (!o) throw notFound(t.group, t.plural, info.name);
        send(200, this.shape(t, info.version, [render(o)], accept, false, String(o.metadata && obj(o.metadata)?.resourceVersion)));
        return;
      }
      case 'list': {
        const items = this.select(t, ns || undefined, q);
        const limit = Number(q.get('limit') ?? '0');
        let start = 0;
        const cont = q.get('continue');
        if (cont) {
          const parsed = decodeContinue(cont);
          // Items are in `namespace/name` order: the first one after the key the last page ended with.
          let lo = 0;
          let hi = items.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (itemKey(items[mid]!) > parsed) hi = mid;
            else lo = mid + 1;
          }
          start = lo;
        }
        const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
        const listMeta: JsonObject = { resourceVersion: String(this.store.resourceVersion) };
        if (limit > 0 && start + limit < items.length) {
          listMeta.continue = encodeContinue(itemKey(page[page.length - 1]!));
          listMeta.remainingItemCount = items.length - start - limit;
        }
        const rendered = page.map(render);
        if (accept.includes('as=Table') || accept.includes('as=PartialObjectMetadata')) {
          send(200, this.shape(t, info.version, rendered, accept, true, String(listMeta.resourceVersion)));
          return;
        }
        if (t.builtIn) for (const o of rendered) { delete o.apiVersion; delete o.kind; }
        send(200, { kind: t.listKind, apiVersion: apiVersionOf(t, info.version), metadata: listMeta, items: rendered });
        return;
      }
      case 'watch':
        this.serveWatch(info, t, q, res, record, accept);
        return;
      case 'create': {
        if (info.name) throw methodNotAllowed('POST', t.kind);
        const input = parseObject(body, ctype);
        const o = this.create(t, info, input, this.managerOf(q, req), q.get('fieldValidation'), warnings, dryRun);
        send(201, render(o), headers());
        return;
      }
      case 'update': {
        const input = parseObject(body, ctype);
        const o = this.update(t, info, input, this.managerOf(q, req), q.get('fieldValidation'), warnings, dryRun);
        send(200, render(o), headers());
        return;
      }
      case 'patch': {
        const { object, created } = this.patch(t, info, body, ctype, q, req, warnings, dryRun);
        send(created ? 201 : 200, render(object), headers());
        return;
      }
      case 'delete': {
        const opts = body.length ? parseObject(body, 'application/json') : {};
        const out = this.delete(t, ns, info.name, opts, dryRun);
        send(200, out.kind === 'Status' ? out : render(out));
        return;
      }
      case 'deletecollection': {
        const items = this.select(t, ns || undefined, q);
        const opts = body.length ? parseObject(body, 'application/json') : {};
        for (const o of items) this.delete(t, str(obj(o.metadata)?.namespace) ?? '', str(obj(o.metadata)?.name) ?? '', opts, dryRun);
        send(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
        return;
      }
    }
  }

  private managerOf(q: URLSearchParams, req: http.IncomingMessage): string {
    const fm = q.get('fieldManager');
    if (fm) return fm;
    const ua = req.headers['user-agent'] ?? 'unknown';
    return ua.split('/')[0]!.slice(0, 128) || 'unknown';
  }

  private select(t: ResourceType, ns: string | undefined, q: URLSearchParams): JsonObject[] {
    const lm = parseLabelSelector(q.get('labelSelector'));
    const fm = parseFieldSelector(q.get('fieldSelector'), t.fieldLabels);
    return this.store.listShared(t.group, t.plural, ns).filter((o) => lm(o) && fm(o));
  }

  /** The object as served at `version` (custom resources are stored once and relabelled per version). */
  private render(t: ResourceType, version: string, o: JsonObject): JsonObject {
    const out: JsonObject = { apiVersion: apiVersionOf(t, version), kind: t.kind };
    for (const [k, v] of Object.entries(o)) if (k !== 'apiVersion' && k !== 'kind') out[k] = v;
    return out;
  }

  /** Plain object, or the Table / PartialObjectMetadata form when the client asks for it. */
  private shape(t: ResourceType, _version: string, items: JsonObject[], accept: string, list: boolean, rv: string): Json {
    if (accept.includes('as=Table')) {
      return {
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: rv },
        columnDefinitions: [
          { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
          { name: 'Created At', type: 'date', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
        ],
        rows: items.map((o) => ({
          cells: [str(obj(o.metadata)?.name) ?? '', str(obj(o.metadata)?.creationTimestamp) ?? ''],
          object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj(o.metadata) ?? {} },
        })),
      };
    }
    if (accept.includes('as=PartialObjectMetadata')) {
      const pom = (o: JsonObject): JsonObject => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj(o.metadata) ?? {} });
      if (list) return { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: rv }, items: items.map(pom) };
      return pom(items[0]!);
    }
    void t;
    return list ? items : items[0]!;
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  private checkNamespace(t: ResourceType, ns: string): void {
    if (!t.namespaced) return;
    const n = this.store.get('', 'namespaces', '', ns);
    if (!n) throw notFound('', 'namespaces', ns);
    if (obj(n.metadata)?.deletionTimestamp) {
      throw new StatusError(403, 'Forbidden', `${t.plural} "${''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  /**
   * Turns a candidate object into what would be stored: type and metadata checks, pruning, status
   * subresource rules, defaults, validation, generation. managedFields are left to the caller.
   */
  private prepare(
    t: ResourceType,
    version: string,
    candidate: JsonObject,
    old: JsonObject | undefined,
    info: { namespace: string; name: string; subresource: string },
    fieldValidation: string | null,
    warnings: string[],
  ): JsonObject {
    const next = clone(candidate);
    const expected = apiVersionOf(t, version);
    if (next.kind !== undefined && next.kind !== t.kind) throw badRequest(`the object provided is unrecognized (must be of type ${t.kind}): kind ${JSON.stringify(next.kind)}`);
    if (next.apiVersion !== undefined && next.apiVersion !== expected) {
      throw badRequest(`the API version in the data (${String(next.apiVersion)}) does not match the expected API version (${expected})`);
    }
    next.apiVersion = expected;
    next.kind = t.kind;
    if (next.metadata !== undefined && !isObject(next.metadata)) throw badRequest('metadata must be an object');
    const meta = metaOf(next);
    const unknown: string[] = [];
    for (const k of Object.keys(meta)) if (!META_KEYS.has(k)) { delete meta[k]; unknown.push(`metadata.${k}`); }
    // ObjectMeta's maps and lists are omitempty: an empty one is not stored (so an apply that sends `labels: {}`
    // finds it missing again next time, and is never a no-op).
    for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
      const v = meta[k];
      if ((isObject(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0)) delete meta[k];
    }
    const schema = t.schemas[version];
    unknown.push(...prune(next, schema));
    if (unknown.length) {
      if (fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
      if (fieldValidation !== 'Ignore') warnings.push(...unknown.map((u) => `unknown field "${u}"`));
    }

    const name = info.name || str(meta.name) || '';
    if (info.name && meta.name !== undefined && meta.name !== info.name) {
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${info.name})`);
    }
    if (t.namespaced && meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== info.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.name = name;
    if (t.namespaced) meta.namespace = info.namespace;
    else delete meta.namespace;

    if (info.subresource === 'status') {
      // Status writes change status only.
      const base = clone(old!);
      if (next.status === undefined) delete base.status;
      else base.status = next.status;
      const bm = metaOf(base);
      if (meta.resourceVersion !== undefined) bm.resourceVersion = meta.resourceVersion;
      bm.managedFields = meta.managedFields ?? null;
      if (bm.managedFields === null) delete bm.managedFields;
      return this.finish(t, base, old, schema, info);
    }
    if (t.statusSubresource) {
      if (old && old.status !== undefined) next.status = clone(old.status);
      else delete next.status;
    }
    if (old) {
      const om = obj(old.metadata) ?? {};
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
        if (om[k] !== undefined) meta[k] = om[k]!;
        else delete meta[k];
      }
    } else {
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'resourceVersion', 'selfLink']) delete meta[k];
      meta.uid = randomUUID();
      meta.creationTimestamp = this.now();
    }
    applyDefaults(next, schema);
    if (old) t.onUpdate?.(old, next, this.ctx);
    else t.onCreate?.(next, this.ctx);
    return this.finish(t, next, old, schema, info);
  }

  private finish(t: ResourceType, next: JsonObject, old: JsonObject | undefined, schema: Schema | undefined, info: { subresource: string }): JsonObject {
    const meta = metaOf(next);
    const name = str(meta.name) ?? '';
    const causes: StatusCause[] = [];
    if (!name) causes.push({ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' });
    else if (t.nameRule === 'label' ? !DNS_LABEL.test(name) || name.length > 63 : !DNS_SUBDOMAIN.test(name) || name.length > 253) {
      const what = t.nameRule === 'label' ? 'a lowercase RFC 1123 label' : 'a lowercase RFC 1123 subdomain';
      causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` });
    }
    for (const [k, v] of Object.entries(obj(meta.labels) ?? {})) {
      if (!QUALIFIED.test(k)) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.'` });
      if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
        causes.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
      }
    }
    for (const [k, v] of Object.entries(obj(meta.annotations) ?? {})) {
      if (typeof v !== 'string') causes.push({ reason: 'FieldValueTypeInvalid', field: `metadata.annotations[${k}]`, message: 'Invalid value: must be a string' });
    }
    causes.push(...validate(next, schema));
    causes.push(...(t.validate?.(next, old) ?? []));
    if (causes.length) throw invalid(t.group, t.kind, name, causes);
    if (t.generation) {
      if (!old) meta.generation = 1;
      else {
        const strip = (o: JsonObject) => {
          const c = clone(o);
          delete c.metadata;
          if (t.statusSubresource) delete c.status;
          return c;
        };
        const prevGen = Number(obj(old.metadata)?.generation ?? 1);
        meta.generation = info.subresource !== 'status' && !deepEqual(strip(old), strip(next)) ? prevGen + 1 : prevGen;
      }
    }
    return next;
  }

  private scope(t: ResourceType, sub: string): { skipStatus?: boolean; onlyStatus?: boolean } {
    if (sub === 'status') return { onlyStatus: true };
    return t.statusSubresource ? { skipStatus: true } : {};
  }

  private create(t: ResourceType, info: RequestInfo, input: JsonObject, manager: string, fv: string | null, warnings: string[], dryRun: boolean): JsonObject {
    const ns = info.namespace;
    const meta = isObject(input.metadata) ? input.metadata : {};
    let name = str(meta.name) ?? '';
    if (!name && typeof meta.generateName === 'string' && meta.generateName) name = meta.generateName + randomSuffix();
    this.checkNamespace(t, ns);
    if (name && this.store.get(t.group, t.plural, t.namespaced ? ns : '', name)) throw alreadyExists(t.group, t.plural, name);
    const next = this.prepare(t, info.version, { ...input, metadata: { ...meta, name } }, undefined, { namespace: ns, name: '', subresource: '' }, fv, warnings);
    recordUpdate({ old: undefined, next, entries: [], schema: t.schemas[info.version], manager, apiVersion: apiVersionOf(t, info.version), scope: this.scope(t, ''), now: this.now() });
    if (dryRun) return next;
    return this.stored('ADDED', t, next);
  }

  private stored(kind: 'ADDED' | 'MODIFIED', t: ResourceType, next: JsonObject): JsonObject {
    const out = this.store.put(kind, t.group, t.plural, next);
    if (t.group === 'apiextensions.k8s.io' && t.plural === 'customresourcedefinitions') this.register(typeFromCRD(out));
    const meta = obj(out.metadata) ?? {};
    const fin = meta.finalizers;
    if (meta.deletionTimestamp && (!Array.isArray(fin) || fin.length === 0)) this.removeNow(t, str(meta.namespace) ?? '', str(meta.name) ?? '');
    return out;
  }

  private existing(t: ResourceType, ns: string, name: string): JsonObject {
    const old = this.store.get(t.group, t.plural, t.namespaced ? ns : '', name);
    if (!old) throw notFound(t.group, t.plural, name);
    return old;
  }

  private checkPrecondition(t: ResourceType, candidate: JsonObject, old: JsonObject, name: string): void {
    const rv = obj(candidate.metadata)?.resourceVersion;
    if (rv !== undefined && rv !== null && rv !== '' && rv !== obj(old.metadata)?.resourceVersion) throw conflict(t.group, t.plural, name, STALE);
    const uid = obj(candidate.metadata)?.uid;
    if (typeof uid === 'string' && uid && uid !== obj(old.metadata)?.uid) {
      throw conflict(t.group, t.plural, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(obj(old.metadata)?.uid)}`);
    }
  }

  /** Shared tail of update and non-apply patch: prepare, record ownership, store unless nothing changed. */
  private writeUpdate(t: ResourceType, info: RequestInfo, candidate: JsonObject, old: JsonObject, manager: string, fv: string | null, warnings: string[], dryRun: boolean): JsonObject {
    this.checkPrecondition(t, candidate, old, info.name);
    const next = this.prepare(t, info.version, candidate, old, info, fv, warnings);
    const sent = obj(candidate.metadata)?.managedFields;
    const entries = Array.isArray(sent) && sent.length > 0 ? readManaged(candidate) : readManaged(old);
    recordUpdate({
      old,
      next,
      entries,
      schema: t.schemas[info.version],
      manager,
      apiVersion: apiVersionOf(t, info.version),
      ...(info.subresource ? { subresource: info.subresource } : {}),
      scope: this.scope(t, info.subresource),
      now: this.now(),
    });
    metaOf(next).resourceVersion = obj(old.metadata)?.resourceVersion ?? null;
    if (deepEqual(next, old)) return old;
    if (dryRun) return next;
    return this.stored('MODIFIED', t, next);
  }

  private update(t: ResourceType, info: RequestInfo, input: JsonObject, manager: string, fv: string | null, warnings: string[], dryRun: boolean): JsonObject {
    const old = this.existing(t, info.namespace, info.name);
    return this.writeUpdate(t, info, input, old, manager, fv, warnings, dryRun);
  }

  private patch(
    t: ResourceType,
    info: RequestInfo,
    body: Buffer,
    ctype: string,
    q: URLSearchParams,
    req: http.IncomingMessage,
    warnings: string[],
    dryRun: boolean,
  ): { object: JsonObject; created: boolean } {
    const fv = q.get('fieldValidation');
    if (ctype === 'application/apply-patch+yaml' || ctype === 'application/apply-patch+cbor') return this.apply(t, info, body, q, fv, warnings, dryRun);
    const old = this.existing(t, info.namespace, info.name);
    let patched: Json;
    try {
      const patch = parseJson(body.toString('utf8'));
      if (ctype === 'application/json-patch+json') patched = applyJsonPatch(old, patch);
      else if (ctype === 'application/merge-patch+json') patched = applyMergePatch(old, patch);
      else if (ctype === 'application/strategic-merge-patch+json') {
        if (!t.builtIn && !this.opts.lenientStrategicMerge) throw unsupportedMediaType(ctype);
        patched = applyStrategicMergePatch(old, patch, t.schemas[info.version]);
      } else throw unsupportedMediaType(ctype);
    } catch (e) {
      if (e instanceof StatusError) throw e;
      if (e instanceof PatchError) throw new StatusError(422, 'Invalid', e.message);
      throw badRequest(`error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!isObject(patched)) throw badRequest('patch did not produce an object');
    return { object: this.writeUpdate(t, info, patched, old, this.managerOf(q, req), fv, warnings, dryRun), created: false };
  }

  private apply(t: ResourceType, info: RequestInfo, body: Buffer | JsonObject, q: URLSearchParams, fv: string | null, warnings: string[], dryRun: boolean): { object: JsonObject; created: boolean } {
    const manager = q.get('fieldManager');
    if (!manager) {
      throw new StatusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    }
    let applied: Json;
    if (Buffer.isBuffer(body)) {
      try {
        applied = yaml.load(body.toString('utf8'), { schema: yaml.JSON_SCHEMA }) as Json;
      } catch (e) {
        throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else applied = clone(body);
    if (!isObject(applied)) throw badRequest('apply patch must be an object');
    const expected = apiVersionOf(t, info.version);
    if (applied.apiVersion !== expected || applied.kind !== t.kind) {
      throw badRequest(`the API version in the data (${String(applied.apiVersion)}) does not match the expected API version (${expected})`);
    }
    const am = obj(applied.metadata) ?? {};
    if (am.name !== undefined && am.name !== info.name) throw badRequest(`the name of the object (${String(am.name)}) does not match the name on the URL (${info.name})`);
    // kube-apiserver turns the configuration into a typed patch first: a field the schema does not declare fails the
    // request (500, no reason, first such field only) whatever fieldValidation says; nothing is pruned.
    const undeclared = firstUndeclared(applied, t.schemas[info.version], META_KEYS);
    if (undeclared) {
      const ns = str(am.namespace) ?? '';
      throw new StatusError(500, '', `failed to create typed patch object (${ns}/${info.name}; ${t.group}/${info.version}, Kind=${t.kind}): ${undeclared}: field not declared in schema`);
    }
    const old = this.store.get(t.group, t.plural, t.namespaced ? info.namespace : '', info.name);
    if (!old && info.subresource) throw notFound(t.group, t.plural, info.name);
    if (!old) this.checkNamespace(t, info.namespace);
    if (old) this.checkPrecondition(t, applied, old, info.name);
    const live: JsonObject = old ?? { apiVersion: expected, kind: t.kind, metadata: { name: info.name, ...(t.namespaced ? { namespace: info.namespace } : {}) } };
    const r = serverSideApply({
      live,
      applied,
      schema: t.schemas[info.version],
      manager,
      force: truthy(q.get('force')),
      apiVersion: expected,
      ...(info.subresource ? { subresource: info.subresource } : {}),
      scope: this.scope(t, info.subresource),
      now: this.now(),
    });
    if (r.conflicts.length) throw new StatusError(409, 'Conflict', r.conflictMessage, { causes: r.conflicts });
    const managed = obj(r.object.metadata)?.managedFields;
    const next = this.prepare(t, info.version, r.object, old, info, 'Ignore', []);
    const nm = metaOf(next);
    if (managed !== undefined) nm.managedFields = managed;
    else delete nm.managedFields;
    if (old) nm.resourceVersion = obj(old.metadata)?.resourceVersion ?? null;
    else delete nm.resourceVersion;
    if (old && deepEqual(next, old)) return { object: old, created: false };
    if (dryRun) return { object: next, created: !old };
    return { object: this.stored(old ? 'MODIFIED' : 'ADDED', t, next), created: !old };
  }

  private delete(t: ResourceType, ns: string, name: string, opts: JsonObject, dryRun: boolean): JsonObject {
    const old = this.existing(t, ns, name);
    const pre = obj(opts.preconditions);
    if (pre) this.checkPrecondition(t, { metadata: pre }, old, name);
    const meta = obj(old.metadata) ?? {};
    const success: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, ...(t.group ? { group: t.group } : {}), kind: t.plural, uid: meta.uid ?? '' },
    };
    if (dryRun) return success;
    const finalizers = Array.isArray(meta.finalizers) ? meta.finalizers : [];
    if (t.group === '' && t.plural === 'namespaces') return this.deleteNamespace(old);
    if (finalizers.length > 0) {
      if (meta.deletionTimestamp) return old;
      const next = clone(old);
      const nm = metaOf(next);
      nm.deletionTimestamp = this.now();
      nm.deletionGracePeriodSeconds = 0;
      return this.store.put('MODIFIED', t.group, t.plural, next);
    }
    this.removeNow(t, t.namespaced ? ns : '', name);
    return success;
  }

  /** Removes an object for good, with cascades for CRDs and namespaces. */
  private removeNow(t: ResourceType, ns: string, name: string): void {
    const gone = this.store.remove(t.group, t.plural, ns, name);
    if (!gone) return;
    if (t.group === 'apiextensions.k8s.io' && t.plural === 'customresourcedefinitions') {
      const crdType = typeFromCRD(gone);
      for (const { group, plural, object } of this.store.all()) {
        if (group === crdType.group && plural === crdType.plural) {
          this.store.remove(group, plural, str(obj(object.metadata)?.namespace) ?? '', str(obj(object.metadata)?.name) ?? '');
        }
      }
      this.types.delete(`${crdType.group}/${crdType.plural}`);
      for (const w of [...this.watches]) if (w.info.group === crdType.group && w.info.resource === crdType.plural) w.close();
    }
    if (t.namespaced) this.maybeFinishNamespace(ns);
  }

  private deleteNamespace(old: JsonObject): JsonObject {
    const name = str(obj(old.metadata)?.name) ?? '';
    let ns = old;
    if (!obj(old.metadata)?.deletionTimestamp) {
      const next = clone(old);
      metaOf(next).deletionTimestamp = this.now();
      metaOf(next).deletionGracePeriodSeconds = 0;
      next.status = { phase: 'Terminating' };
      ns = this.store.put('MODIFIED', '', 'namespaces', next);
      for (const { group, plural, object } of this.store.all()) {
        const t = this.types.get(`${group}/${plural}`);
        const m = obj(object.metadata) ?? {};
        if (!t || !t.namespaced || m.namespace !== name) continue;
        this.delete(t, name, str(m.name) ?? '', {}, false);
      }
    }
    this.maybeFinishNamespace(name);
    return this.store.get('', 'namespaces', '', name) ?? ns;
  }

  private maybeFinishNamespace(name: string): void {
    const ns = this.store.get('', 'namespaces', '', name);
    if (!ns || !obj(ns.metadata)?.deletionTimestamp) return;
    const left = this.store.all().some(({ group, plural, object }) => this.types.get(`${group}/${plural}`)?.namespaced && obj(object.metadata)?.namespace === name);
    if (!left) this.store.remove('', 'namespaces', '', name);
  }

  // ---------------------------------------------------------------------------------------------
  // Watch

  private serveWatch(info: RequestInfo, t: ResourceType, q: URLSearchParams, res: http.ServerResponse, record: RequestRecord, accept: string): void {
    const lm: Matcher = parseLabelSelector(q.get('labelSelector'));
    const fm: Matcher = parseFieldSelector(q.get('fieldSelector'), t.fieldLabels);
    const sel = (o: JsonObject | undefined) => o !== undefined && lm(o) && fm(o);
    const rvParam = q.get('resourceVersion') ?? '';
    const fromRV = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (fromRV !== undefined && !Number.isInteger(fromRV)) throw badRequest(`resourceVersion: Invalid value: "${rvParam}": must be a valid integer`);
    const bookmarks = truthy(q.get('allowWatchBookmarks'));
    const initialEvents = truthy(q.get('sendInitialEvents'));
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    const table = accept.includes('as=Table');
    const ns = info.namespace || undefined;
    record.code = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();

    let closed = false;
    const timers: NodeJS.Timeout[] = [];
    let unsubscribe = () => {};
    const w: OpenWatch & { bookmark?: () => void } = {
      info,
      res,
      stalled: this.stallNew,
      close: () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        for (const tm of timers) clearTimeout(tm);
        this.watches.delete(w);
        if (!res.writableEnded) res.end();
      },
    };
    const write = (type: string, object: JsonObject) => {
      if (closed || w.stalled || res.destroyed) return;
      let out = object;
      if (table && type !== 'ERROR' && type !== 'BOOKMARK') out = this.shape(t, info.version, [object], accept, true, str(obj(object.metadata)?.resourceVersion) ?? '') as JsonObject;
      res.write(`${JSON.stringify({ type, object: out })}\n`);
    };
    const render = (o: JsonObject) => this.render(t, info.version, o);
    const deliver = (ev: StoredEvent) => {
      if (ns !== undefined && ev.namespace !== ns) return;
      const now = sel(ev.object);
      if (ev.type === 'ADDED') {
        if (now) write('ADDED', render(ev.object));
      } else if (ev.type === 'DELETED') {
        if (now) write('DELETED', render(ev.object));
      } else {
        const was = sel(ev.prev);
        if (now && was) write('MODIFIED', render(ev.object));
        else if (now) write('ADDED', render(ev.object));
        else if (was && ev.prev) {
          const gone = clone(ev.prev);
          metaOf(gone).resourceVersion = String(ev.rv);
          write('DELETED', render(gone));
        }
      }
    };
    const bookmark = (extra: JsonObject = {}) => {
      const meta: JsonObject = { resourceVersion: String(this.store.resourceVersion), ...extra };
      write('BOOKMARK', { kind: t.kind, apiVersion: apiVersionOf(t, info.version), metadata: meta });
    };
    w.bookmark = bookmarks ? () => bookmark() : undefined;
    res.on('close', () => w.close());

    if (fromRV === undefined) {
      for (const o of this.store.list(t.group, t.plural, ns)) if (sel(o)) write('ADDED', render(o));
      if (initialEvents && bookmarks) bookmark({ annotations: { 'k8s.io/initial-events-end': 'true' } });
    } else {
      const evs = this.store.eventsSince(fromRV, t.group, t.plural);
      if (evs === 'expired') {
        write('ERROR', expired(`too old resource version: ${fromRV} (${this.store.oldestResumableRV})`).toStatus());
        closed = true;
        res.end();
        return;
      }
      for (const ev of evs) deliver(ev);
    }
    unsubscribe = this.store.subscribe({ group: t.group, plural: t.plural, deliver });
    this.watches.add(w);
    if (bookmarks) {
      const interval = this.opts.bookmarkIntervalMs ?? 1000;
      const tick = () => {
        bookmark();
        timers[0] = setTimeout(tick, interval);
      };
      timers[0] = setTimeout(tick, interval);
    }
    if (timeout > 0) {
      timers.push(
        setTimeout(() => {
          if (!w.stalled) w.close();
        }, timeout * 1000),
      );
    }
  }
}

type Sender = (code: number, body: Json | Buffer, headers?: Record<string, string>) => void;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseObject(body: Buffer, ctype: string): JsonObject {
  let v: Json;
  try {
    const text = body.toString('utf8');
    v = ctype.includes('yaml') ? (yaml.load(text, { schema: yaml.JSON_SCHEMA }) as Json) : parseJson(text);
  } catch (e) {
    throw badRequest(`error decoding request body: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObject(v)) throw badRequest('request body must be a JSON object');
  return v;
}

function itemKey(o: JsonObject): string {
  const m = obj(o.metadata) ?? {};
  return `${str(m.namespace) ?? ''}/${str(m.name) ?? ''}`;
}

function encodeContinue(k: string): string {
  return Buffer.from(JSON.stringify({ v: 'kube-double/1', start: k }), 'utf8').toString('base64url');
}

function decodeContinue(c: string): string {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { start?: string };
    if (typeof v.start === 'string') return v.start;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid');
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
