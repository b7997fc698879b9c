// Worker thread hosting one gRPC xDS client channel for the harness (see backends.ts IdentityCaller).
//
// Why a worker: @grpc/grpc-js-xds 1.14.1's priority balancer arms a 15-minute, ref'd retention timer
// when it deactivates a lower priority (which is what failback does) and does not clear it when the
// channel closes, so a process that ever failed back would stay alive for 15 minutes. Terminating
// the worker ends it; it also gives every client its own grpc-js instance (own subchannel pool).
//
// Protocol: parent posts {id, timeoutMs}; worker answers {id, ok, identity} or {id, ok: false, code, details}.
import { Buffer } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';

grpcXds.register();

const { target, options, path } = workerData;
const client = new grpc.Client(target, grpc.credentials.createInsecure(), options);
const serialize = (v) => Buffer.from(JSON.stringify(v));
const deserialize = (b) => JSON.parse(b.toString('utf8'));

parentPort.on('message', ({ id, timeoutMs }) => {
  client.makeUnaryRequest(path, serialize, deserialize, {}, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, value) => {
    if (err || !value) parentPort.postMessage({ id, ok: false, code: err?.code ?? grpc.status.UNKNOWN, details: err?.details ?? 'no value' });
    else parentPort.postMessage({ id, ok: true, identity: value.identity });
  });
});
