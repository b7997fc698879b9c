/** `spillway render` and `spillway validate`: the render pipeline behind the two commands' output. */
import { render, hasErrors } from '../core/render.ts';
import type { KubeObject } from '../api/types.ts';
import type { CliIO } from './main.ts';
import { readInputDocuments } from './inputs.ts';
import { formatMessage, jsonChunks, writeChunks, writeOutDir, yamlChunks } from './output.ts';
import { CliError } from './errors.ts';

export interface RenderCommandOptions {
  filename: string[];
  output: 'yaml' | 'json';
  outDir?: string;
  cluster: string[];
  /** Read directories recursively (`-R`). */
  recursive?: boolean;
}

/** Exit status: 0 fine, 1 invalid input (valid parts still rendered); unusable invocations throw CliError. */
export function renderCommand(opts: RenderCommandOptions, io: CliIO): number {
  const result = render(readInputDocuments(opts.filename, { recursive: opts.recursive === true }));
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
  } else if (opts.output === 'json') {
    writeChunks(jsonChunks({ clusters, messages: result.messages }), io.stdout);
  } else {
    writeChunks(yamlChunks(clusters), io.stdout);
    for (const m of result.messages) io.stderr(`${formatMessage(m)}\n`);
  }
  return hasErrors(result.messages) ? 1 : 0;
}

export interface ValidateCommandOptions {
  filename: string[];
  output: 'text' | 'json';
  /** Read directories recursively (`-R`). */
  recursive?: boolean;
}

export function validateCommand(opts: ValidateCommandOptions, io: CliIO): number {
  const { messages } = render(readInputDocuments(opts.filename, { recursive: opts.recursive === true }));
  if (opts.output === 'json') io.stdout(`${JSON.stringify({ messages }, null, 2)}\n`);
  else if (messages.length === 0) io.stdout('no problems found\n');
  else for (const m of messages) io.stdout(`${formatMessage(m)}\n`);
  return hasErrors(messages) ? 1 : 0;
}
