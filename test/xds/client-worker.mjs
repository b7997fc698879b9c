// Worker thread hosting the harness's gRPC xDS client channels (see IdentityCaller in backends.ts).
//
// Why a worker: @grpc/grpc-js-xds 1.14.1's priority balancer arms a 15-minute, ref'd retention timer
// when it deactivates a lower priority (which is what failback does) and does not clear it when the
// channel closes, so a process that ever failed back would stay alive for 15 minutes. The worker is
// unref'd by its parent whenever no call is in flight, so such timers cannot hold the process.
// One worker serves every channel of a process: loading grpc-js-xds costs about a second of CPU.
//
// Loading grpc-js-xds (its Envoy protos) is also why the worker announces itself: on a loaded machine the
// load alone has taken 15 s, and a caller's time budget must not start before the client can even resolve.
//
// Messages in:  {op: 'open', ch, target, options, path} | {op: 'call', ch, id, timeoutMs} | {op: 'close', ch}
// Messages out: {op: 'ready'} once (grpc-js-xds loaded) | {id, ok: true, identity} | {id, ok: false, code, details}
import { Buffer } from 'node:buffer';
import { parentPort } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';

grpcXds.register();

const channels = new Map();
const serialize = (v) => Buffer.from(JSON.stringify(v));
const deserialize = (b) => JSON.parse(b.toString('utf8'));

parentPort.postMessage({ op: 'ready' });

parentPort.on('message', (m) => {
  if (m.op === 'open') {
    channels.set(m.ch, { client: new grpc.Client(m.target, grpc.credentials.createInsecure(), m.options), path: m.path });
  } else if (m.op === 'close') {
    channels.get(m.ch)?.client.close();
    channels.delete(m.ch);
  } else if (m.op === 'call') {
    const c = channels.get(m.ch);
    if (!c) {
      parentPort.postMessage({ id: m.id, ok: false, code: grpc.status.CANCELLED, details: 'channel closed' });
      return;
    }
    const deadline = Date.now() + m.timeoutMs;
    c.client.makeUnaryRequest(c.path, serialize, deserialize, {}, new grpc.Metadata(), { deadline }, (err, value) => {
      if (err || !value) parentPort.postMessage({ id: m.id, ok: false, code: err?.code ?? grpc.status.UNKNOWN, details: err?.details ?? 'no value' });
      else parentPort.postMessage({ id: m.id, ok: true, identity: value.identity });
    });
  }
});
