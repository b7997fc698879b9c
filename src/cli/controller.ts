/** `spillway controller`: runs the controller until SIGINT/SIGTERM (or `signal`). */
import { hostname } from 'node:os';
import { HttpKubeClient } from '../kube/client.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { Controller } from '../controller/controller.ts';
import { startHttpServer } from '../controller/http.ts';
import { ControllerMetrics } from '../controller/metrics.ts';
import type { RunningServer } from '../controller/http.ts';
import { jsonLogger } from '../controller/log.ts';
import { hostSuffixErrors } from '../analyze/dns.ts';
import type { LogLevel } from '../controller/log.ts';

export interface ControllerCommandOptions {
  /** Kubeconfig of the management cluster; absent: in-cluster service account. */
  kubeconfig?: string;
  context?: string;
  /** The controller's namespace (Lease, default namespace of kubeconfig Secrets). */
  namespace: string;
  /** Where /metrics, /healthz and /readyz listen (`:8080`, `127.0.0.1:0`); empty string disables. */
  metricsAddr?: string;
  /** Leader election on Lease `leaseName` (default true, lease `spillway-controller`). */
  leaderElect?: boolean;
  leaseName?: string;
  /** Identity in the Lease (default: hostname, i.e. the pod name). */
  identity?: string;
  /** Service discovery (default true). */
  discovery?: boolean;
  /** Namespaces whose Services are not discovered (default kube-system, kube-public, kube-node-lease, istio-system). */
  discoveryExcludeNamespaces?: string[];
  /** Full resync period in seconds (default 300); a string is parsed (commander passes strings). */
  resyncSeconds?: number | string;
  /** Period of the continuous checks in seconds (default 120; 0 disables). */
  checkSeconds?: number | string;
  logLevel?: LogLevel | string;
  /** Allowed spec.hostname suffixes after the namespace (default: global). */
  hostSuffixes?: string[];
  /** Warn (MeshCluster status SPW214, a Warning Event) when member credentials expire within this, e.g. `168h`, `7d` (default 7d). */
  credentialWarning?: string;
  /** Stops the controller when aborted (tests); SIGINT/SIGTERM always do. */
  signal?: AbortSignal;
  /** Log sink (default stderr). */
  write?: (line: string) => void;
  /** Called once the metrics server listens (tests use port 0). */
  onListening?: (port: number) => void;
}

export async function controllerCommand(opts: ControllerCommandOptions): Promise<number> {
  const write = opts.write ?? ((l: string) => void process.stderr.write(l));
  const level = opts.logLevel ?? 'info';
  const resync = Number(opts.resyncSeconds ?? 300);
  const checkEvery = Number(opts.checkSeconds ?? 120);
  const suffixProblems = hostSuffixErrors(opts.hostSuffixes ?? []);
  if (suffixProblems.length > 0) {
    write(`${JSON.stringify({ level: 'error', msg: 'invalid options', error: suffixProblems.join('; ') })}\n`);
    return 2;
  }
  const warnMatch = /^([0-9]+)(s|m|h|d)$/.exec((opts.credentialWarning ?? '7d').trim());
  const credentialWarningMs = warnMatch ? Number(warnMatch[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[warnMatch[2] as 's' | 'm' | 'h' | 'd'] * 1000 : Number.NaN;
  if (!(credentialWarningMs >= 0) || !Number.isSafeInteger(credentialWarningMs)) {
    write(`${JSON.stringify({ level: 'error', msg: 'invalid options', error: `--credential-warning ${opts.credentialWarning ?? ''}: want a duration such as 168h or 7d` })}\n`);
    return 2;
  }
  if (!['debug', 'info', 'warn', 'error'].includes(level) || !(resync > 0) || !(checkEvery >= 0)) {
    write(`${JSON.stringify({ level: 'error', msg: 'invalid options', logLevel: level, resyncSeconds: opts.resyncSeconds, checkSeconds: opts.checkSeconds })}\n`);
    return 2;
  }
  const log = jsonLogger(write, level as LogLevel, { component: 'spillway-controller' });
  let controller: Controller;
  try {
    const kc = loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context });
    const management = new HttpKubeClient(kc);
    // The usual process, GC and event-loop metrics too (prom-client's defaults), next to Spillway's own.
    const metrics = new ControllerMetrics({ defaults: true });
    controller = new Controller({
      management,
      namespace: opts.namespace,
      identity: opts.identity ?? hostname(),
      leaderElection: opts.leaderElect === false ? false : { leaseName: opts.leaseName },
      discovery: opts.discovery === false ? false : { excludeNamespaces: opts.discoveryExcludeNamespaces },
      scheduler: { resyncMs: resync * 1000 },
      checks: checkEvery === 0 ? false : { periodMs: checkEvery * 1000 },
      ...(opts.hostSuffixes && opts.hostSuffixes.length > 0 ? { hostSuffixes: opts.hostSuffixes } : {}),
      credentialWarningMs,
      log,
      metrics,
    });
    log.info('starting', { server: management.server, namespace: opts.namespace, leaderElection: opts.leaderElect !== false });
  } catch (e) {
    log.error('cannot start', { error: e instanceof Error ? e.message : String(e) });
    return 2;
  }
  let server: RunningServer | undefined;
  if (opts.metricsAddr !== '') {
    try {
      server = await startHttpServer(opts.metricsAddr ?? ':8080', {
        metrics: () => controller.metrics.registry.expose(),
        healthy: () => controller.healthy,
        ready: () => controller.ready,
      });
      log.info('serving /metrics, /healthz, /readyz', { port: server.port });
      opts.onListening?.(server.port);
    } catch (e) {
      log.error('cannot listen', { addr: opts.metricsAddr, error: e instanceof Error ? e.message : String(e) });
      return 2;
    }
  }
  let onSignal = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    onSignal = () => resolve();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    opts.signal?.addEventListener('abort', onSignal, { once: true });
    if (opts.signal?.aborted) resolve();
  });
  void controller.start().then(
    () => log.info('inputs listed; reconciling'),
    (e: unknown) => log.error('start failed', { error: e instanceof Error ? e.message : String(e) }),
  );
  await stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  log.info('stopping');
  await controller.stop();
  await server?.close();
  log.info('stopped');
  return 0;
}
