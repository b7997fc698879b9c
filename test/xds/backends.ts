/**
 * Stand-in backends for the xDS harness: tiny gRPC servers that answer one unary method with their
 * identity (the name of the cluster they stand for), and a client for them. The service is defined
 * with grpc's generic service API (JSON-encoded messages), so no .proto file is needed.
 *
 * A backend can be killed (`forceShutdown`: open connections are reset, new ones refused) and
 * restarted on the same port, which is how the tests make a tier "die" and "come back".
 */
import { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';

export interface WhoAmIReply {
  identity: string;
}

const jsonSerialize = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const jsonDeserialize = (b: Buffer): unknown => JSON.parse(b.toString('utf8'));

function replyFrom(v: unknown): WhoAmIReply {
  if (typeof v === 'object' && v !== null && 'identity' in v && typeof v.identity === 'string') return { identity: v.identity };
  throw new Error(`malformed WhoAmI reply: ${JSON.stringify(v)}`);
}

export const IDENTITY_SERVICE: grpc.ServiceDefinition = {
  WhoAmI: {
    path: '/spillway.test.Identity/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: jsonSerialize,
    requestDeserialize: jsonDeserialize,
    responseSerialize: jsonSerialize,
    responseDeserialize: (b: Buffer) => replyFrom(jsonDeserialize(b)),
  },
};

/** A stand-in backend answering WhoAmI with `identity`. */
export class Backend {
  private server: grpc.Server | null = null;
  /** Number of RPCs answered successfully since start (across restarts). */
  served = 0;
  /** Number of RPCs answered with an error status (while `failing`). */
  failed = 0;
  /** When set, the backend stays up but answers every call with this status (an "HTTP 5xx" that is not a connection failure). */
  failing: grpc.status | null = null;

  private constructor(
    readonly identity: string,
    public port: number,
  ) {}

  /** Starts on 127.0.0.1 (port 0 = pick a free one). */
  static async start(identity: string, port = 0): Promise<Backend> {
    const b = new Backend(identity, port);
    await b.restart();
    return b;
  }

  get alive(): boolean {
    return this.server !== null;
  }

  get address(): string {
    return '127.0.0.1';
  }

  /** Kills the backend: open connections are dropped, the port stops listening. */
  kill(): void {
    this.server?.forceShutdown();
    this.server = null;
  }

  /** (Re)starts on the same port. No-op if already running. */
  async restart(): Promise<void> {
    if (this.server) return;
    const server = new grpc.Server();
    server.addService(IDENTITY_SERVICE, {
      WhoAmI: (_call: grpc.ServerUnaryCall<unknown, WhoAmIReply>, cb: grpc.sendUnaryData<WhoAmIReply>) => {
        if (this.failing !== null) {
          this.failed += 1;
          cb({ code: this.failing, details: `${this.identity} is failing on purpose` });
          return;
        }
        this.served += 1;
        cb(null, { identity: this.identity });
      },
    });
    this.port = await new Promise<number>((res, rej) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
    );
    this.server = server;
  }
}

/** Starts loading the client worker now (it takes seconds), so the load overlaps a test's other setup. */
export function startClientWorker(): void {
  ClientHost.get();
}

export type CallResult = { ok: true; identity: string } | { ok: false; code: grpc.status; details: string };

function isCallReply(v: unknown): v is CallResult & { id: number } {
  return typeof v === 'object' && v !== null && 'id' in v && 'ok' in v;
}

/** How long the client worker may take to load grpc-js-xds before a caller gives up (seconds of CPU, starved on a loaded machine). */
export const CLIENT_READY_MS = 120_000;

/**
 * The one worker thread hosting every IdentityCaller channel of this process (client-worker.mjs). It
 * is ref'd while it loads and while a call is in flight, so it never keeps the process alive on its own
 * once idle. `ready` settles when the worker has loaded grpc-js-xds (it announces itself).
 */
class ClientHost {
  private static instance: ClientHost | undefined;
  private readonly worker: Worker;
  private nextId = 0;
  private nextChannel = 0;
  private readonly pending = new Map<number, (r: CallResult) => void>();
  private loaded = false;
  private failure: Error | undefined;
  private readonly readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  static get(): ClientHost {
    ClientHost.instance ??= new ClientHost();
    return ClientHost.instance;
  }

  private constructor() {
    this.worker = new Worker(new URL('./client-worker.mjs', import.meta.url));
    this.worker.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { op?: unknown }).op === 'ready') {
        this.loaded = true;
        if (this.pending.size === 0) this.worker.unref();
        for (const w of this.readyWaiters.splice(0)) w.resolve();
        return;
      }
      if (!isCallReply(m)) return;
      const { id, ...rest } = m;
      const done = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0 && this.loaded) this.worker.unref();
      done?.(rest.ok ? { ok: true, identity: String(rest.identity) } : { ok: false, code: rest.code, details: rest.details });
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const done of this.pending.values()) done({ ok: false, code: grpc.status.INTERNAL, details: `client worker failed: ${e.message}` });
      this.pending.clear();
      for (const w of this.readyWaiters.splice(0)) w.reject(e);
      if (ClientHost.instance === this) ClientHost.instance = undefined;
    };
    this.worker.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on('exit', (code) => fail(new Error(`client worker exited (code ${code})`)));
  }

  /** Resolves once the worker can make xDS calls; rejects after `timeoutMs` or if the worker dies. */
  ready(timeoutMs: number): Promise<void> {
    if (this.loaded) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the gRPC client worker did not load @grpc/grpc-js-xds within ${timeoutMs} ms`)), timeoutMs);
      t.unref();
      this.readyWaiters.push({
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
    });
  }

  open(target: string, options: grpc.ChannelOptions): number {
    const ch = this.nextChannel++;
    this.worker.postMessage({ op: 'open', ch, target, options, path: IDENTITY_SERVICE.WhoAmI!.path });
    return ch;
  }

  call(ch: number, timeoutMs: number): Promise<CallResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.ref();
      this.worker.postMessage({ op: 'call', ch, id, timeoutMs });
    });
  }

  close(ch: number): void {
    this.worker.postMessage({ op: 'close', ch });
  }
}

/**
 * A client of the identity service over any target (here: `xds:///<listener>`), with its own channel
 * (and so its own xDS client when the options carry a per-channel bootstrap). The channel lives in a
 * shared worker thread; see client-worker.mjs for why.
 */
export class IdentityCaller {
  private readonly host = ClientHost.get();
  private readonly ch: number;
  private closed = false;

  constructor(target: string, options: grpc.ChannelOptions = {}) {
    this.ch = this.host.open(target, options);
  }

  /** One WhoAmI call with a deadline; never throws. */
  call(timeoutMs: number): Promise<CallResult> {
    if (this.closed) return Promise.resolve({ ok: false, code: grpc.status.CANCELLED, details: 'caller closed' });
    return this.host.call(this.ch, timeoutMs);
  }

  /**
   * Resolves once the client worker has loaded gRPC's xDS client (a cold start costs seconds of CPU);
   * bounded by `timeoutMs` (default CLIENT_READY_MS). Nothing timed should start before this.
   */
  ready(timeoutMs = CLIENT_READY_MS): Promise<void> {
    return this.host.ready(timeoutMs);
  }

  /**
   * Calls repeatedly (small sleeps between failures) until a call is served by `identity`; returns the
   * milliseconds it took. Throws after `timeoutMs` with the last few results, so a failure explains itself.
   * The clock starts once the client worker is ready (see `ready`): the budget is for resolution and
   * failover, not for loading grpc-js-xds.
   */
  async waitForIdentity(identity: string, timeoutMs: number, opts: { callTimeoutMs?: number; sleepMs?: number } = {}): Promise<number> {
    await this.ready();
    const start = performance.now();
    const seen: string[] = [];
    for (;;) {
      const left = timeoutMs - (performance.now() - start);
      if (left <= 0) throw new Error(`no call served by ${identity} within ${timeoutMs} ms; last results: ${seen.slice(-5).join(' | ')}`);
      const r = await this.call(Math.max(1, Math.min(opts.callTimeoutMs ?? 500, left)));
      if (r.ok && r.identity === identity) return performance.now() - start;
      seen.push(r.ok ? `served by ${r.identity}` : `${grpc.status[r.code]}: ${r.details}`);
      if (!r.ok) await new Promise((res) => setTimeout(res, opts.sleepMs ?? 5));
    }
  }

  /** `n` sequential calls; returns how many each identity served (failures under "!<CODE>"). */
  async tally(n: number, callTimeoutMs = 500): Promise<Map<string, number>> {
    const m = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = await this.call(callTimeoutMs);
      const k = r.ok ? r.identity : `!${grpc.status[r.code]}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  }

  /** Closes the channel (its xDS client unsubscribes and ends its ADS stream). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.host.close(this.ch);
  }
}
