/** `spillway render` and `spillway validate`: the render pipeline behind the two commands' output. */
import { render, hasErrors } from '../core/render.ts';
import type { KubeObject } from '../api/types.ts';
import type { CliIO } from './main.ts';
import { readInputDocuments } from './inputs.ts';
import { formatMessage, jsonChunks, listChunks, nameChunks, writeChunks, writeOutDir, yamlChunks } from './output.ts';
import { CliError } from './errors.ts';
import { hostSuffixErrors } from '../analyze/dns.ts';

export interface RenderCommandOptions {
  filename: string[];
  output: 'yaml' | 'json' | 'name';
  outDir?: string;
  cluster: string[];
  /** Read directories recursively (`-R`). */
  recursive?: boolean;
  /** Allowed spec.hostname suffixes after the namespace (`--host-suffix`; default global). */
  hostSuffix?: string[];
}

/** Exit status: 0 fine, 1 invalid input (valid parts still rendered); unusable invocations throw CliError. */
export function renderCommand(opts: RenderCommandOptions, io: CliIO): number {
  const result = render(readInputDocuments(opts.filename, { recursive: opts.recursive === true }), hostPolicy(opts.hostSuffix));
  let clusters: Record<string, KubeObject[]> = result.clusters;
  if (opts.cluster.length > 0) {
    const unknown = opts.cluster.filter((c) => !(c in clusters));
    if (unknown.length > 0) throw new CliError(`--cluster ${unknown.join(', ')}: no such cluster in the input (have: ${Object.keys(clusters).join(', ') || 'none'})`);
    clusters = Object.fromEntries(Object.entries(clusters).filter(([c]) => opts.cluster.includes(c)));
  }
  if (opts.outDir !== undefined) {
    const files = writeOutDir(opts.outDir, clusters);
    io.stderr(`wrote ${files.length} file(s) under ${opts.outDir}\n`);
    for (const m of result.messages) io.stderr(`${formatMessage(m)}\n`);
  } else if (opts.output === 'json' && opts.cluster.length !== 1) {
    // All clusters (or several chosen ones): the {clusters, messages} document for programs. kubectl refuses it
    // (it has no kind), so it can never put two clusters' objects into one.
    writeChunks(jsonChunks({ clusters, messages: result.messages }), io.stdout);
  } else {
    refuseMixedStream(clusters, opts.output, io);
    const only = Object.values(clusters)[0] ?? [];
    writeChunks(opts.output === 'json' ? listChunks(only) : opts.output === 'name' ? nameChunks(clusters) : yamlChunks(clusters), io.stdout);
    for (const m of result.messages) io.stderr(`${formatMessage(m)}\n`);
  }
  return hasErrors(result.messages) ? 1 : 0;
}

/**
 * A stream that is not read by a person goes somewhere like `kubectl apply -f -`, which applies everything it
 * reads to one cluster. So YAML or names for more than one cluster are printed only to a terminal.
 */
function refuseMixedStream(clusters: Record<string, KubeObject[]>, output: string, io: CliIO): void {
  if (io.stdoutIsTTY === true) return;
  const withObjects = Object.keys(clusters).filter((c) => (clusters[c]?.length ?? 0) > 0);
  if (withObjects.length <= 1) return;
  throw new CliError(
    `-o ${output} to a pipe or file would mix ${withObjects.length} clusters' objects (${withObjects.join(', ')}) in one stream; ` +
      `pick one with --cluster ${withObjects[0]}, or write --out-dir DIR (a folder per cluster) or -o json (all clusters, for programs)`,
  );
}

export interface ValidateCommandOptions {
  filename: string[];
  output: 'text' | 'json';
  /** Read directories recursively (`-R`). */
  recursive?: boolean;
  /** Allowed spec.hostname suffixes after the namespace (`--host-suffix`; default global). */
  hostSuffix?: string[];
}

/** The render policy from `--host-suffix` flags; a bad suffix is an unusable invocation (exit 2). */
function hostPolicy(suffixes: string[] | undefined): { hostSuffixes: string[] } | undefined {
  if (!suffixes || suffixes.length === 0) return undefined;
  const problems = hostSuffixErrors(suffixes);
  if (problems.length > 0) throw new CliError(problems.join('; '));
  return { hostSuffixes: suffixes };
}

export function validateCommand(opts: ValidateCommandOptions, io: CliIO): number {
  const { messages } = render(readInputDocuments(opts.filename, { recursive: opts.recursive === true }), hostPolicy(opts.hostSuffix));
  if (opts.output === 'json') io.stdout(`${JSON.stringify({ messages }, null, 2)}\n`);
  else if (messages.length === 0) io.stdout('no problems found\n');
  else for (const m of messages) io.stdout(`${formatMessage(m)}\n`);
  return hasErrors(messages) ? 1 : 0;
}
