#!/usr/bin/env node
/**
 * The `spillway` command line: thin shells around the pure core.
 *
 * Start-up cost matters (a CLI is typed and piped all day): this module loads commander and nothing else of
 * weight. Each command imports its implementation when it runs, so only `controller`, `install` and `cluster`
 * load Kubernetes code, and `--version` loads nothing but this file.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import type { RenderCommandOptions, ValidateCommandOptions } from './render.ts';
import type { InstallCommandOptions } from './install.ts';
import type { ClusterRegisterOptions } from './cluster.ts';
import { DEFAULT_IMAGE, DEFAULT_NAMESPACE, DEFAULT_REPLICAS } from '../install/common.ts';
import { CliError } from './errors.ts';
import { VERSION } from './version.ts';

export interface CliIO {
  stdout: (s: string) => void;
  /**
   * Writes UTF-8 bytes to stdout (large outputs are written as bytes); without it, they go to `stdout` decoded.
   * Returns true when it is done with `b` (written, not queued), so the caller may reuse it.
   */
  stdoutBytes?: (b: Uint8Array) => boolean | void;
  stderr: (s: string) => void;
  /** stdout is a terminal (a person reads it). Absent or false: a pipe or a file, where a program reads it. */
  stdoutIsTTY?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** The `Examples:` section every `--help` ends with: real commands a user can paste. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** `install --help`: which image the Deployment runs, and how to get one (`install` says it again on stderr). */
const IMAGE_HINT =
  `The Deployment runs --image (default ${DEFAULT_IMAGE}, the tag a local docker build gives). No Spillway image is published: ` +
  `build and push one from a Spillway checkout and pass --image REGISTRY/spillway:${VERSION} (see Examples).`;

function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('spillway')
    .description('Local-first, spill-over failover for multi-cluster Istio meshes')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true)
    .addHelpText('after', examples(
      'spillway render -f examples/seed.yaml                        # every cluster\'s objects, on a terminal',
      'spillway render -f mesh.yaml --cluster cluster1 | kubectl --context cluster1 apply -f -',
      'spillway validate -f examples/',
      'source <(spillway completion bash)                           # shell completion',
    ));

  program
    .command('render')
    .description(
      'render Istio objects for every cluster from MeshCluster, MeshWorkload and FailoverService documents. ' +
        'To a pipe or a file, YAML and names hold one cluster (--cluster NAME): `kubectl apply -f -` applies whatever ' +
        'it reads to one cluster. -o json prints a v1 List with one --cluster, else the {clusters, messages} document.',
    )
    .requiredOption('-f, --filename <file>', 'input YAML file, directory or - (repeatable)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json', 'name']).default('yaml'))
    .option('--out-dir <dir>', 'write DIR/<cluster>/*.yaml for `kubectl apply -f DIR/<cluster>` instead of printing')
    .option('--cluster <name>', 'only this cluster\'s objects (repeatable)', collect, [])
    .option('-R, --recursive', 'read directories given with -f recursively (like kubectl)')
    .option('--host-suffix <suffix>', 'allowed spec.hostname suffix after the namespace, <x>.<namespace>.<suffix> (repeatable; default: global)', collect, [])
    .addHelpText('after', examples(
      'spillway render -f mesh.yaml --cluster cluster1 | kubectl --context cluster1 apply -f -',
      'spillway render -f mesh.yaml --cluster cluster1 -o json > cluster1.json     # a v1 List',
      'spillway render -f mesh.yaml --cluster cluster1 -o name                     # destinationrule.networking.istio.io/...',
      'spillway render -f mesh.yaml --out-dir out && kubectl --context cluster1 apply -f out/cluster1',
      'spillway render -f mesh.yaml -o json | jq \'.clusters | keys\'                 # every cluster, for programs',
    ))
    .action(async (opts: RenderCommandOptions) => {
      const { renderCommand } = await import('./render.ts');
      setExit(renderCommand(opts, io));
    });

  program
    .command('validate')
    .description('check inputs and print coded messages (a dry run of render)')
    .requiredOption('-f, --filename <file>', 'input YAML file, directory or - (repeatable)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-R, --recursive', 'read directories given with -f recursively (like kubectl)')
    .option('--host-suffix <suffix>', 'allowed spec.hostname suffix after the namespace, <x>.<namespace>.<suffix> (repeatable; default: global)', collect, [])
    .addHelpText('after', examples('spillway validate -f examples/', 'spillway validate -f - -o json < mesh.yaml'))
    .action(async (opts: ValidateCommandOptions) => {
      const { validateCommand } = await import('./render.ts');
      setExit(validateCommand(opts, io));
    });

  program
    .command('simulate')
    .description('show where each client cluster\'s traffic goes when some clusters are unhealthy (Envoy priority-load maths)')
    .requiredOption('-f, --filename <file>', 'input YAML (Spillway resources or rendered objects), directory or - (repeatable)', collect, [])
    .option('--healthy <cluster=h/t>', 'healthy/total instances of the service in a cluster, e.g. cluster1=1/3 (repeatable)', collect, [])
    .option('--down <cluster>', 'the whole cluster is down: shorthand for <cluster>=0/N (repeatable)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-R, --recursive', 'read directories given with -f recursively (like kubectl)')
    .option('--host-suffix <suffix>', 'allowed spec.hostname suffix after the namespace, <x>.<namespace>.<suffix> (repeatable; default: global)', collect, [])
    .addHelpText('after', examples(
      'spillway simulate -f examples/three-clusters.yaml --healthy east=1/3 --down west',
      'spillway render -f mesh.yaml -o json | spillway simulate -f - --down cluster1',
    ))
    .action(async (opts: { filename: string[]; healthy: string[]; down: string[]; output: 'text' | 'json'; recursive?: boolean }) => {
      const { simulateCommand } = await import('./simulate.ts');
      setExit(simulateCommand({ files: opts.filename, healthy: opts.healthy, down: opts.down, output: opts.output, recursive: opts.recursive === true }, io));
    });

  program
    .command('check')
    .description('preflight and health checks against live clusters: Istio, DNS capture, root of trust, gateways, injection, conflicting config')
    .option('-f, --filename <file>', 'Spillway inputs: file, directory or - (repeatable; default: read them from the management cluster)', collect, [])
    .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <cluster=context>', 'kubeconfig context of a member cluster (repeatable; default: the context named like the cluster, else its MeshCluster kubeconfig Secret)', collect, [])
    .option('--management-context <ctx>', 'context of the management cluster (default without -f: the current context)')
    .option('--namespace <ns>', 'controller namespace (Lease, kubeconfig Secrets)', DEFAULT_NAMESPACE)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText('after', examples(
      'spillway check -f mesh.yaml --context cluster1=kind-cluster1 --context cluster2=kind-cluster2    # before installing',
      'spillway check --management-context mgmt                                                        # what the controller sees',
    ))
    .action(async (opts: { filename: string[]; kubeconfig?: string; context: string[]; managementContext?: string; namespace: string; output: 'text' | 'json' }) => {
      const { checkCommand } = await import('./check.ts');
      setExit(await checkCommand(opts, io));
    });

  program
    .command('status')
    .description('which tier serves each client cluster\'s requests, per FailoverService (the controller\'s live tier shares)')
    .option('--kubeconfig <path>', 'kubeconfig of the management cluster (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <ctx>', 'context of that kubeconfig')
    .option('-n, --namespace <ns>', 'only this namespace (default: all namespaces)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .option('-w, --watch', 'keep running and print the rows of each FailoverService whose shares change')
    .addHelpText('after', examples(
      'spillway status --context mgmt                  # one row per FailoverService and client cluster',
      'spillway status -n default -o yaml',
      'spillway status --watch                         # print rows again as their shares change',
    ))
    .action(async (opts: { kubeconfig?: string; context?: string; namespace?: string; output: 'table' | 'json' | 'yaml'; watch?: boolean }) => {
      const { statusCommand } = await import('./status.ts');
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        setExit(await statusCommand({ ...opts, watch: opts.watch === true }, io, stop.signal));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  program
    .command('crds')
    .description('print the CustomResourceDefinitions of MeshCluster, MeshWorkload and FailoverService')
    .addHelpText('after', examples('spillway crds | kubectl --context mgmt apply -f -'))
    .action(async () => {
      const [{ customResourceDefinitions }, { toYaml }] = await Promise.all([import('../api/crds.ts'), import('./output.ts')]);
      io.stdout(customResourceDefinitions().map((c) => `---\n${toYaml(c)}`).join(''));
      setExit(0);
    });

  program
    .command('install')
    .description(`print the controller's install (CRDs, RBAC, Deployment) for \`kubectl apply -f -\`. ${IMAGE_HINT}`)
    .option('--namespace <ns>', 'controller namespace', DEFAULT_NAMESPACE)
    .option('--image <image>', 'controller image (the tag a local `docker build` gives)', DEFAULT_IMAGE)
    .option('--replicas <n>', 'replicas (one leader writes at a time)', String(DEFAULT_REPLICAS))
    .option('--member-rbac', 'print instead the RBAC a member cluster\'s identity needs')
    .option('--istio-root-namespace <ns>', 'with --member-rbac: Istio\'s root namespace in the member (default: istio-system)')
    .addHelpText('after', examples(
      `docker build -t registry.example.com/spillway:${VERSION} . && docker push registry.example.com/spillway:${VERSION}`,
      `spillway install --image registry.example.com/spillway:${VERSION} | kubectl --context mgmt apply -f -`,
      'spillway install --member-rbac | kubectl --context cluster1 apply -f -',
    ))
    .action(async (opts: InstallCommandOptions) => {
      const { installCommand } = await import('./install.ts');
      setExit(installCommand(opts, io));
    });

  const registerExample = 'spillway cluster register cluster1 --kubeconfig cluster1.kubeconfig --gateway-address 192.0.2.10 --gateway-port 15443 | kubectl --context mgmt apply -f -';
  program
    .command('cluster')
    .description('manage member clusters')
    .addHelpText('after', examples(registerExample))
    .command('register <name>')
    .description('create the member identity in a cluster and print its kubeconfig Secret and MeshCluster for `kubectl apply -f -`')
    .addHelpText('after', examples(registerExample, 'spillway cluster register mgmt --management --gateway-address 192.0.2.1 --gateway-port 32000 --service-port 443 | kubectl --context mgmt apply -f -'))
    .option('--kubeconfig <path>', 'kubeconfig of the member cluster (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <ctx>', 'context of the member cluster (default: the current context)')
    .option('--token-expiration <duration>', 'lifetime of the member token from the TokenRequest API (720h, 30d, ...)', '720h')
    .option('--embed-credentials', 'copy the context\'s own credentials instead (no connection; no exec plugins)')
    .option('--gateway-address <addr>', 'IP or DNS name other clusters dial to reach this cluster\'s gateway')
    .option('--gateway-port <n>', 'port other clusters dial')
    .option('--service-port <n>', 'port of the gateway\'s Kubernetes Service behind --gateway-port (443 on the common charts)')
    .option('--listen-port <n>', 'deprecated, use --service-port: the gateway pod\'s port, written as is')
    .option('--istio-version <v>', 'Istio version of the cluster, e.g. 1.24')
    .option('--istio-root-namespace <ns>', 'Istio\'s root namespace in the cluster, the only one where EnvoyFilters may be written (default: istio-system)')
    .option('--namespace <ns>', 'controller namespace, where the Secret goes', DEFAULT_NAMESPACE)
    .option('--management', 'the management cluster itself (no Secret; binds the member roles to the controller\'s ServiceAccount)')
    .action(async (name: string, opts: Omit<ClusterRegisterOptions, 'name'>) => {
      const { clusterRegister } = await import('./cluster.ts');
      setExit(await clusterRegister({ name, ...opts }, io));
    });

  program
    .command('controller')
    .description('run the multi-cluster controller against the management cluster')
    .option('--kubeconfig <path>', 'kubeconfig of the management cluster (default: $KUBECONFIG, ~/.kube/config, then the pod\'s service account)')
    .option('--context <name>', 'context of that kubeconfig')
    .option('--namespace <ns>', 'controller namespace: Lease and kubeconfig Secrets', DEFAULT_NAMESPACE)
    .option('--metrics-addr <addr>', '/metrics, /healthz and /readyz listen address (empty disables)', ':8080')
    .option('--no-leader-elect', 'do not take the Lease (run a single replica only)')
    .option('--lease-name <name>', 'Lease used for leader election', 'spillway-controller')
    .option('--identity <id>', 'identity in the Lease (default: the host name, i.e. the pod)')
    .option('--no-discovery', 'do not create MeshWorkloads from member clusters\' Services')
    .option('--discovery-exclude-namespace <ns>', 'namespace whose Services are not discovered (repeatable)', collect, [])
    .option('--resync-seconds <n>', 'full resync period', '300')
    .option('--check-seconds <n>', 'period of the continuous checks (MeshCluster/FailoverService Checked conditions); 0 disables', '120')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--host-suffix <suffix>', 'allowed spec.hostname suffix after the namespace, <x>.<namespace>.<suffix> (repeatable; default: global)', collect, [])
    .option('--credential-warning <duration>', 'warn (MeshCluster status SPW214 and a Warning Event) when member credentials expire within this (168h, 7d, ...)', '7d')
    .addHelpText('after', examples(
      'spillway controller --kubeconfig mgmt.kubeconfig --no-leader-elect     # from a workstation, one replica',
      'spillway controller                                                    # in a pod (what `spillway install` runs)',
    ))
    .action(async (opts: ControllerCliOptions) => {
      const { discoveryExcludeNamespace, hostSuffix, ...rest } = opts;
      const { controllerCommand } = await import('./controller.ts');
      setExit(await controllerCommand({ ...rest, hostSuffixes: hostSuffix, ...(discoveryExcludeNamespace.length > 0 ? { discoveryExcludeNamespaces: discoveryExcludeNamespace } : {}) }));
    });

  program
    .command('version')
    .description('print the version of spillway and of the Node.js running it')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText('after', examples('spillway version', 'spillway version -o json'))
    .action((opts: { output: 'text' | 'json' }) => {
      const info = { spillway: VERSION, node: process.version, platform: `${process.platform}/${process.arch}`, defaultImage: DEFAULT_IMAGE };
      io.stdout(opts.output === 'json' ? `${JSON.stringify(info, null, 2)}\n` : `spillway ${info.spillway}\nnode ${info.node} ${info.platform}\ndefault controller image ${info.defaultImage} (not published: see \`spillway install --help\`)\n`);
      setExit(0);
    });

  program
    .command('completion')
    .description('print a shell completion script for bash or zsh')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText('after', examples(
      'source <(spillway completion bash)                                                # this shell',
      'spillway completion bash > ~/.local/share/bash-completion/completions/spillway    # every bash',
      'echo \'source <(spillway completion zsh)\' >> ~/.zshrc                              # zsh, after compinit',
    ))
    .action(async (shell: 'bash' | 'zsh') => {
      const { completionScript } = await import('./completion.ts');
      io.stdout(completionScript(program, shell));
      setExit(0);
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
  hostSuffix: string[];
  resyncSeconds: string;
  checkSeconds: string;
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

/** The process entry point (bin/spillway.mjs, or `tsx src/cli/main.ts`): real stdio, exit status in process.exitCode. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A reader that goes away (`spillway render ... | head`) ends the command quietly, as other CLIs do.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await runCli(argv, {
    stdout: (s) => process.stdout.write(s),
    // A file or a pipe that took the bytes at once (nothing left queued) is done with them.
    stdoutBytes: (b) => {
      process.stdout.write(b);
      return process.stdout.writableLength === 0;
    },
    stderr: (s) => process.stderr.write(s),
    stdoutIsTTY: process.stdout.isTTY === true,
  });
}

if (process.argv[1] !== undefined && /(?:^|[/\\])main\.ts$/.test(process.argv[1])) await main();
