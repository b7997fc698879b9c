/**
 * A minimal state-of-the-world ADS server (envoy.service.discovery.v3.AggregatedDiscoveryService) for
 * driving real xDS clients in tests. One snapshot of LDS/RDS/CDS/EDS resources at a time; every
 * `setResources` bumps the version and pushes the new snapshot to every open stream for every type
 * that stream subscribed to.
 *
 * Protocol handling per stream and type URL:
 * - a request whose resource names differ from the last request (including the first) gets a response;
 * - a request carrying the nonce of our last response and no error is an ACK (recorded, no response);
 * - a request with `error_detail` is a NACK: logged loudly to stderr and recorded in `nacks`, so a test
 *   can fail on it; it gets no response (the client keeps its last good config).
 * LDS and CDS responses carry every resource (the client treats an absent one as deleted); RDS and EDS
 * responses carry the requested names. A requested name the snapshot lacks is simply not sent.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { JsonObject } from '@bufbuild/protobuf';
import { encodeJson, TYPE_URL_PREFIX } from './envoy-proto.ts';

export const TYPE = {
  listener: 'envoy.config.listener.v3.Listener',
  route: 'envoy.config.route.v3.RouteConfiguration',
  cluster: 'envoy.config.cluster.v3.Cluster',
  endpoint: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

/** A snapshot, every resource as proto3 JSON of its type. */
export interface XdsResources {
  listeners: JsonObject[];
  routes: JsonObject[];
  clusters: JsonObject[];
  endpoints: JsonObject[];
}

export interface Nack {
  typeUrl: string;
  /** Version the client still runs (the last one it accepted). */
  acceptedVersion: string;
  nonce: string;
  message: string;
}

export interface EncodedResource {
  name: string;
  typeUrl: string;
  value: Buffer;
}

interface DiscoveryRequest {
  version_info: string;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

interface DiscoveryResponse {
  version_info: string;
  resources: { type_url: string; value: Buffer }[];
  type_url: string;
  nonce: string;
}

interface TypeSubscription {
  names: string[];
  lastNonce: string;
  ackedVersion: string;
}

interface StreamState {
  call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  subs: Map<string, TypeSubscription>;
  nonce: number;
  nacked: Set<string>;
}

const require = createRequire(import.meta.url);
const DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

function loadAdsService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(DEPS, d)),
  });
  const pkg = grpc.loadPackageDefinition(def);
  const svc = (pkg.envoy as grpc.GrpcObject | undefined)?.service as grpc.GrpcObject | undefined;
  const ctor = ((svc?.discovery as grpc.GrpcObject | undefined)?.v3 as grpc.GrpcObject | undefined)?.AggregatedDiscoveryService;
  if (typeof ctor !== 'function' || !('service' in ctor)) throw new Error('AggregatedDiscoveryService not found in ads.proto');
  return ctor.service as grpc.ServiceDefinition;
}

function resourceName(json: JsonObject): string {
  const n = json.name ?? json.cluster_name ?? json.clusterName;
  if (typeof n !== 'string' || n === '') throw new Error(`xDS resource without a name: ${JSON.stringify(json).slice(0, 200)}`);
  return n;
}

function encodeAll(typeName: string, list: JsonObject[]): EncodedResource[] {
  const seen = new Set<string>();
  return list.map((json) => {
    const name = resourceName(json);
    if (seen.has(name)) throw new Error(`duplicate ${typeName} ${name}`);
    seen.add(name);
    try {
      return { name, typeUrl: TYPE_URL_PREFIX + typeName, value: Buffer.from(encodeJson(typeName, json)) };
    } catch (e) {
      throw new Error(`${typeName} ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

/** Encodes a snapshot strictly, by type URL. Throws (naming the resource) on anything invalid. */
export function encodeResources(res: XdsResources): Map<string, EncodedResource[]> {
  return new Map<string, EncodedResource[]>([
    [TYPE_URL_PREFIX + TYPE.listener, encodeAll(TYPE.listener, res.listeners)],
    [TYPE_URL_PREFIX + TYPE.route, encodeAll(TYPE.route, res.routes)],
    [TYPE_URL_PREFIX + TYPE.cluster, encodeAll(TYPE.cluster, res.clusters)],
    [TYPE_URL_PREFIX + TYPE.endpoint, encodeAll(TYPE.endpoint, res.endpoints)],
  ]);
}

export class AdsServer {
  /** Every NACK received, in order. A test should assert this stays empty. */
  readonly nacks: Nack[] = [];
  private version = 0;
  private byType = new Map<string, EncodedResource[]>();
  private streams = new Set<StreamState>();
  private ackWaiters: (() => void)[] = [];

  /** The port it listens on (127.0.0.1). */
  port = 0;

  private constructor(
    private readonly server: grpc.Server,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts on 127.0.0.1:0 with an empty snapshot (version 0). */
  static async start(opts: { log?: (line: string) => void } = {}): Promise<AdsServer> {
    const server = new grpc.Server();
    const self = new AdsServer(server, opts.log ?? (() => {}));
    server.addService(loadAdsService(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => self.onStream(call),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'delta xDS not supported by the test harness' });
      },
    });
    self.port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
    );
    return self;
  }

  /** Current snapshot version (bumped by every setResources). */
  get currentVersion(): string {
    return String(this.version);
  }

  /**
   * Replaces the snapshot. Every resource is encoded strictly first: a resource that is not valid proto3
   * JSON of its type throws here and nothing changes. Then pushes to subscribed streams.
   */
  setResources(res: XdsResources): void {
    this.byType = encodeResources(res);
    this.version += 1;
    for (const s of this.streams) for (const typeUrl of s.subs.keys()) this.send(s, typeUrl);
  }

  /** The bootstrap JSON for a gRPC client (per-channel option or GRPC_XDS_BOOTSTRAP_CONFIG). */
  bootstrap(nodeId: string): string {
    return JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${this.port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, locality: {} },
    });
  }

  /** Resolves once every open stream has ACKed the current version for each type it subscribed to. */
  async waitForAcks(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.allAcked()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`xDS clients did not ACK version ${this.version} within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 50));
        this.ackWaiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Resolves with the first NACK once there is one; throws after `timeoutMs` without any. */
  async waitForNack(timeoutMs: number): Promise<Nack> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const first = this.nacks[0];
      if (first) return first;
      if (Date.now() >= deadline) throw new Error(`no NACK within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  private allAcked(): boolean {
    for (const s of this.streams) for (const sub of s.subs.values()) if (sub.ackedVersion !== this.currentVersion) return false;
    return true;
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.call.end();
    this.streams.clear();
    this.server.forceShutdown();
  }

  private onStream(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
    const state: StreamState = { call, subs: new Map(), nonce: 0, nacked: new Set() };
    this.streams.add(state);
    const drop = () => this.streams.delete(state);
    call.on('data', (req: DiscoveryRequest) => this.onRequest(state, req));
    call.on('end', () => {
      drop();
      call.end();
    });
    call.on('error', drop);
    call.on('cancelled', drop);
  }

  private onRequest(s: StreamState, req: DiscoveryRequest): void {
    const typeUrl = req.type_url;
    const names = [...req.resource_names].sort();
    const prev = s.subs.get(typeUrl);
    if (req.error_detail) {
      const key = `${typeUrl}/${req.response_nonce}`;
      if (!s.nacked.has(key)) {
        s.nacked.add(key);
        const nack: Nack = { typeUrl, acceptedVersion: req.version_info, nonce: req.response_nonce, message: req.error_detail.message };
        this.nacks.push(nack);
        console.error(`\n*** xDS NACK *** ${typeUrl} (client keeps version "${req.version_info}"): ${req.error_detail.message}\n`);
      }
    } else if (prev && req.response_nonce !== '' && req.response_nonce === prev.lastNonce) {
      prev.ackedVersion = req.version_info;
      this.log(`ACK ${typeUrl} v${req.version_info}`);
      for (const w of this.ackWaiters.splice(0)) w();
    }
    const namesChanged = !prev || prev.names.length !== names.length || prev.names.some((n, i) => n !== names[i]);
    const sub: TypeSubscription = prev ?? { names, lastNonce: '', ackedVersion: '' };
    sub.names = names;
    s.subs.set(typeUrl, sub);
    if (namesChanged) this.send(s, typeUrl);
  }

  private send(s: StreamState, typeUrl: string): void {
    const sub = s.subs.get(typeUrl);
    if (!sub) return;
    const all = this.byType.get(typeUrl) ?? [];
    const sotwAll = typeUrl.endsWith(TYPE.listener) || typeUrl.endsWith(TYPE.cluster);
    const wanted = new Set(sub.names);
    const chosen = sotwAll || wanted.size === 0 ? all : all.filter((r) => wanted.has(r.name));
    s.nonce += 1;
    sub.lastNonce = String(s.nonce);
    this.log(`send ${typeUrl} v${this.version} [${chosen.map((r) => r.name).join(', ')}]`);
    s.call.write({
      version_info: this.currentVersion,
      type_url: typeUrl,
      nonce: sub.lastNonce,
      resources: chosen.map((r) => ({ type_url: r.typeUrl, value: r.value })),
    });
  }
}
