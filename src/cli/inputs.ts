/** Reads input files (YAML, multi-document; `-` is standard input; a directory means its *.yaml/*.yml/*.json files). */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { SourcedDocument } from '../analyze/snapshot.ts';
import { CliError } from './errors.ts';

function expand(path: string): string[] {
  if (path === '-') return ['-'];
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CliError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .filter((n) => /\.(ya?ml|json)$/.test(n))
    .sort()
    .map((n) => join(path, n));
}

function readText(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new CliError(`${path === '-' ? 'standard input' : path}: cannot read: ${(e as Error).message}`);
  }
}

/** Parses every document of every file; a syntax error names the file, line and column. */
export function parseDocuments(text: string, name: string): SourcedDocument[] {
  const out: SourcedDocument[] = [];
  try {
    yaml.loadAll(text, (value) => {
      out.push({ value, source: `${name}#${out.length + 1}` });
    }, { filename: name, json: true });
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const m = e.mark;
      throw new CliError(`${name}:${m ? `${m.line + 1}:${m.column + 1}` : '?'}: YAML syntax error: ${e.reason}`);
    }
    throw e;
  }
  return out;
}

export function readInputDocuments(paths: readonly string[]): SourcedDocument[] {
  if (paths.length === 0) throw new CliError('no input: give at least one -f FILE');
  const docs: SourcedDocument[] = [];
  for (const p of paths) {
    for (const file of expand(p)) docs.push(...parseDocuments(readText(file), file === '-' ? 'stdin' : file));
  }
  return docs;
}
