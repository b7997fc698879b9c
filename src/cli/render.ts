/** `spillway render` and `spillway validate`: the render pipeline behind the two commands' output. */
import { render, renderByCluster, hasErrors } from '../core/render.ts';
import type { CliIO } from './main.ts';
import { readInputDocuments } from './inputs.ts';
import { formatMessage, jsonOutput, listOutput, nameOutput, writeChunks, writeOutDir, yamlOutput } from './output.ts';
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
  const docs = readInputDocuments(opts.filename, { recursive: opts.recursive === true });
  const policy = hostPolicy(opts.hostSuffix);
  if (opts.outDir !== undefined) {
    // Every file is checked before the first is written, so this holds all clusters' objects at once.
    const result = render(docs, policy);
    const files = writeOutDir(opts.outDir, pick(result.clusters, opts.cluster));
    io.stderr(`wrote ${files.length} file(s) under ${opts.outDir}\n`);
    for (const m of result.messages) io.stderr(`${formatMessage(m)}\n`);
    return hasErrors(result.messages) ? 1 : 0;
  }
  // Printed output is written a cluster at a time: only one cluster's objects are held at once.
  const result = renderByCluster(docs, policy);
  const names = pick(Object.fromEntries(result.clusterNames.map((c) => [c, true])), opts.cluster);
  const clusters = { clusterNames: Object.keys(names), objects: result.objects, each: result.each, count: result.count };
  if (opts.output === 'json' && opts.cluster.length !== 1) {
    // All clusters (or several chosen ones): the {clusters, messages} document for programs. kubectl refuses it
    // (it has no kind), so it can never put two clusters' objects into one.
    writeChunks(jsonOutput({ clusters, messages: result.messages }), bytesOut(io));
  } else {
    refuseMixedStream(clusters.clusterNames.filter((c) => result.hasObjects(c)), opts.output, io);
    // -o json here is for exactly one --cluster: the List of its objects.
    writeChunks(opts.output === 'json' ? listOutput(clusters) : opts.output === 'name' ? nameOutput(clusters) : yamlOutput(clusters), bytesOut(io));
    for (const m of result.messages) io.stderr(`${formatMessage(m)}\n`);
  }
  return hasErrors(result.messages) ? 1 : 0;
}

/** Where output bytes go: straight to stdout, or decoded for an `io` that takes only text (a write never splits a character). */
function bytesOut(io: CliIO): (b: Uint8Array) => boolean | void {
  return io.stdoutBytes ?? ((b) => {
    io.stdout(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
    return true;
  });
}

/** The clusters `--cluster` chose (all without it), in the render's order; an unknown name is an unusable invocation. */
function pick<T>(clusters: Record<string, T>, chosen: readonly string[]): Record<string, T> {
  if (chosen.length === 0) return clusters;
  const unknown = chosen.filter((c) => !(c in clusters));
  if (unknown.length > 0) throw new CliError(`--cluster ${unknown.join(', ')}: no such cluster in the input (have: ${Object.keys(clusters).join(', ') || 'none'})`);
  return Object.fromEntries(Object.entries(clusters).filter(([c]) => chosen.includes(c)));
}

/**
 * A stream that is not read by a person goes somewhere like `kubectl apply -f -`, which applies everything it
 * reads to one cluster. So YAML or names for more than one cluster are printed only to a terminal.
 */
function refuseMixedStream(withObjects: readonly string[], output: string, io: CliIO): void {
  if (io.stdoutIsTTY === true) return;
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
