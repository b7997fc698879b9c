#!/usr/bin/env node
/** The `spillway` command line: thin shells around the pure core. */
import { Command, CommanderError, Option } from 'commander';
import { render, hasErrors } from '../core/render.ts';
import { customResourceDefinitions } from '../api/crds.ts';
import { readInputDocuments } from './inputs.ts';
import { formatMessage, jsonChunks, toYaml, writeChunks, writeOutDir, yamlChunks } from './output.ts';
import { simulateCommand } from './simulate.ts';
import { installCommand } from './install.ts';
import type { InstallCommandOptions } from './install.ts';
import { clusterRegisterCommand } from './cluster.ts';
import type { ClusterRegisterOptions } from './cluster.ts';
import { DEFAULT_IMAGE, DEFAULT_NAMESPACE, DEFAULT_REPLICAS } from '../install/common.ts';
import { controllerCommand } from './controller.ts';
import { CliError } from './errors.ts';

export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('spillway')
    .description('Local-first, spill-over failover for multi-cluster Istio meshes')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true);

  program
    .command('render')
    .description('render Istio objects for every cluster from MeshCluster, MeshWorkload and FailoverService documents')
    .requiredOption('-f, --filename <file>', 'input YAML file, directory or - (repeatable)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--out-dir <dir>', 'write DIR/<cluster>/*.yaml for `kubectl apply -f DIR/<cluster>` instead of printing')
    .option('--cluster <name>', 'only this cluster\'s objects (repeatable)', collect, [])
    .action((opts: { filename: string[]; output: 'yaml' | 'json'; outDir?: string; cluster: string[] }) => {
      const result = render(readInputDocuments(opts.filename));
      let clusters = result.clusters;
      if (opts.cluster.length > 0) {
        const unknown = opts.cluster.filter((c) => !(c in clusters));
        if (unknown.length > 0) throw new CliError(`--cluster ${unknown.join(', ')}: no such cluster in the input (have: ${Object.keys(clusters).join(', ') || 'none'})`);
        clusters = Object.fromEntries(Object.entries(clusters).filter(([c]) => opts.cluster.includes(c)));
      }
      if (opts.outDir !== undefined) {
        const files = writeOutDir(opts.outDir, clusters);
        io.stderr(`wrote ${files.length} file(s) under ${opts.outDir}\n`);
        for (const m of result.messages) io.stderr(`${formatMessage(m)}\n`);
      } else if (opts.output === 'json') {
        writeChunks(jsonChunks({ clusters, messages: result.messages }), io.stdout);
      } else {
        writeChunks(yamlChunks(clusters), io.stdout);
        for (const m of result.messages) io.stderr(`${formatMessage(m)}\n`);
      }
      setExit(hasErrors(result.messages) ? 1 : 0);
    });

  program
    .command('validate')
    .description('check inputs and print coded messages (a dry run of render)')
    .requiredOption('-f, --filename <file>', 'input YAML file, directory or - (repeatable)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((opts: { filename: string[]; output: 'text' | 'json' }) => {
      const { messages } = render(readInputDocuments(opts.filename));
      if (opts.output === 'json') io.stdout(`${JSON.stringify({ messages }, null, 2)}\n`);
      else if (messages.length === 0) io.stdout('no problems found\n');
      else for (const m of messages) io.stdout(`${formatMessage(m)}\n`);
      setExit(hasErrors(messages) ? 1 : 0);
    });

  program
    .command('simulate')
    .description('show where each client cluster\'s traffic goes when some clusters are unhealthy (Envoy priority-load maths)')
    .requiredOption('-f, --filename <file>', 'input YAML (Spillway resources or rendered objects), directory or - (repeatable)', collect, [])
    .option('--healthy <cluster=h/t>', 'healthy/total instances of the service in a cluster, e.g. cluster1=1/3 (repeatable)', collect, [])
    .option('--down <cluster>', 'the whole cluster is down: shorthand for <cluster>=0/N (repeatable)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((opts: { filename: string[]; healthy: string[]; down: string[]; output: 'text' | 'json' }) => {
      setExit(simulateCommand({ files: opts.filename, healthy: opts.healthy, down: opts.down, output: opts.output }, io));
    });

  program
    .command('crds')
    .description('print the CustomResourceDefinitions of MeshCluster, MeshWorkload and FailoverService')
    .action(() => {
      io.stdout(customResourceDefinitions().map((c) => `---\n${toYaml(c)}`).join(''));
      setExit(0);
    });

  program
    .command('install')
    .description('print the controller\'s install (CRDs, RBAC, Deployment) for `kubectl apply -f -`')
    .option('--namespace <ns>', 'controller namespace', DEFAULT_NAMESPACE)
    .option('--image <image>', 'controller image', DEFAULT_IMAGE)
    .option('--replicas <n>', 'replicas (one leader writes at a time)', String(DEFAULT_REPLICAS))
    .option('--member-rbac', 'print instead the RBAC a member cluster\'s identity needs')
    .action((opts: InstallCommandOptions) => setExit(installCommand(opts, io)));

  program
    .command('cluster')
    .description('manage member clusters')
    .command('register <name>')
    .description('print a member cluster\'s kubeconfig Secret and MeshCluster for `kubectl apply -f -`')
    .option('--kubeconfig <path>', 'kubeconfig with access to the member cluster (required unless --management)')
    .option('--context <ctx>', 'context of that kubeconfig (default: its current context)')
    .option('--gateway-address <addr>', 'IP or DNS name other clusters dial to reach this cluster\'s gateway')
    .option('--gateway-port <n>', 'port other clusters dial')
    .option('--listen-port <n>', 'port the gateway proxy listens on (default: --gateway-port)')
    .option('--istio-version <v>', 'Istio version of the cluster, e.g. 1.24')
    .option('--namespace <ns>', 'controller namespace, where the Secret goes', DEFAULT_NAMESPACE)
    .option('--management', 'the management cluster itself (no Secret)')
    .action((name: string, opts: Omit<ClusterRegisterOptions, 'name'>) => setExit(clusterRegisterCommand({ name, ...opts }, io)));

  program
    .command('controller')
    .description('run the multi-cluster controller against the management cluster')
    .option('--kubeconfig <path>', 'kubeconfig of the management cluster (default: in-cluster service account)')
    .option('--context <name>', 'context of that kubeconfig')
    .option('--namespace <ns>', 'controller namespace: Lease and kubeconfig Secrets', DEFAULT_NAMESPACE)
    .option('--metrics-addr <addr>', '/metrics, /healthz and /readyz listen address (empty disables)', ':8080')
    .option('--no-leader-elect', 'do not take the Lease (run a single replica only)')
    .option('--lease-name <name>', 'Lease used for leader election', 'spillway-controller')
    .option('--identity <id>', 'identity in the Lease (default: the host name, i.e. the pod)')
    .option('--no-discovery', 'do not create MeshWorkloads from member clusters\' Services')
    .option('--discovery-exclude-namespace <ns>', 'namespace whose Services are not discovered (repeatable)', collect, [])
    .option('--resync-seconds <n>', 'full resync period', '300')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (opts: ControllerCliOptions) => {
      const { discoveryExcludeNamespace, ...rest } = opts;
      setExit(await controllerCommand({ ...rest, ...(discoveryExcludeNamespace.length > 0 ? { discoveryExcludeNamespaces: discoveryExcludeNamespace } : {}) }));
    });

  return program;
}

interface ControllerCliOptions {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  metricsAddr: string;
  leaderElect: boolean;
  leaseName: string;
  identity?: string;
  discovery: boolean;
  discoveryExcludeNamespace: string[];
  resyncSeconds: string;
  logLevel: string;
}

/** Runs the CLI and returns its exit status: 0 fine, 1 invalid input (valid parts still rendered), 2 unusable invocation or input. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed its one-line message; help and version are not errors.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
    }
    if (e instanceof CliError) {
      io.stderr(`spillway: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr(`spillway: internal error: ${(e as Error).message ?? String(e)} (please report it)\n`);
    return 3;
  }
}

const isMain = process.argv[1] !== undefined && /(?:^|[/\\])(?:main\.ts|spillway(?:\.mjs)?)$/.test(process.argv[1]);
if (isMain) {
  const code = await runCli(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  });
  process.exitCode = code;
}
