/** `/metrics` (Prometheus text), `/healthz` and `/readyz` on plain node:http. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpEndpoints {
  metrics: () => string | Promise<string>;
  healthy: () => boolean;
  ready: () => boolean;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** Parses `host:port`, `:port` or `port` (an empty host means all interfaces). */
export function parseAddr(addr: string): { host?: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(addr.trim());
  if (!m) throw new Error(`invalid address "${addr}" (want host:port or :port)`);
  return { host: m[1] || undefined, port: Number(m[2]) };
}

export function startHttpServer(addr: string, ep: HttpEndpoints): Promise<RunningServer> {
  const { host, port } = parseAddr(addr);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
    if (path === '/metrics') {
      Promise.resolve()
        .then(ep.metrics)
        .then(
          (body) => text(200, body, 'text/plain; version=0.0.4; charset=utf-8'),
          () => text(500, 'metrics collection failed\n'),
        );
      return;
    }
    if (path === '/healthz') return ep.healthy() ? text(200, 'ok\n') : text(500, 'reconcile loop stuck\n');
    if (path === '/readyz') return ep.ready() ? text(200, 'ok\n') : text(503, 'inputs not listed yet\n');
    return text(404, 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
