/**
 * Reads input the way kubectl does: YAML multi-document streams, JSON (one value or a stream of concatenated
 * objects, as `kubectl get -o json` and jq print them), `kind: List` (and `*List`) objects whose items are read
 * one by one, and top-level sequences of objects. `-` is standard input; a directory means its *.yaml, *.yml and
 * *.json files, its subdirectories' too with `recursive` (`-R`).
 *
 * Every input is bounded before it can cost memory: bytes of all inputs together (checked on the file size, then
 * while reading), documents (counted while parsing, List items included), nesting depth (while parsing, and again
 * through aliases) and alias expansion (aliases may add at most INPUT_LIMITS.maxAliasNodes nodes beyond the text;
 * a recursive alias is refused). Devices, FIFOs and sockets are refused without being read. Each violation is one
 * coded line with exit status 2 (CliError). A duplicated mapping key is an error naming its line.
 */
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { SourcedDocument } from '../analyze/snapshot.ts';
import { MAX_FAILOVER_CLUSTERS } from '../api/schemas.ts';
import { INPUT_ERRORS, InputError } from './input-errors.ts';

export interface InputLimits {
  /** Bytes of all inputs together. */
  maxBytes: number;
  /** Documents of all inputs together, each item of a List counted as one. */
  maxDocuments: number;
  /** Nesting of mappings and sequences, a document's root being level 1; aliases included. */
  maxDepth: number;
  /** Nodes that aliases (and merge keys) may add beyond what the text holds, all inputs together. */
  maxAliasNodes: number;
  /**
   * Sum over FailoverServices of (workloads listed)^2: what the output grows with, since every client cluster of a
   * service gets a tier for each other cluster. Bounds output and memory before rendering starts.
   */
  maxTierPairs: number;
}

/**
 * Sized for what a real mesh needs with room to spare: the 10k-service x 5-cluster benchmark input is 15 MB and
 * 60,005 documents, and no Spillway resource nests deeper than 6 levels (kubectl output of other kinds ~20).
 * Output is bounded by the tier pairs the FailoverServices declare, each listing at most MAX_FAILOVER_CLUSTERS.
 */
export const INPUT_LIMITS: Readonly<InputLimits> = {
  maxBytes: 64 * 1024 * 1024,
  maxDocuments: 100_000,
  maxDepth: 100,
  maxAliasNodes: 100_000,
  // 2x the 10k x 5 benchmark (250,000 pairs: 500 MB of JSON, under 1 GB of memory).
  maxTierPairs: 500_000,
};

export interface ReadOptions {
  /** Read directories' subdirectories too (`-R`). */
  recursive?: boolean;
  limits?: Partial<InputLimits>;
}

/** What is left of the limits while several inputs are read. */
export interface InputBudget {
  limits: Readonly<InputLimits>;
  bytes: number;
  documents: number;
  aliasNodes: number;
}

export function inputBudget(limits: Partial<InputLimits> = {}): InputBudget {
  const l = { ...INPUT_LIMITS, ...limits };
  return { limits: l, bytes: l.maxBytes, documents: l.maxDocuments, aliasNodes: l.maxAliasNodes };
}

const INPUT_FILE = /\.(ya?ml|json)$/;

function whatIs(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function unreadable(label: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
  return new InputError(INPUT_ERRORS.Unreadable, { reason: 'cannotRead', at: label, why });
}

function tooLarge(label: string, budget: InputBudget): InputError {
  return new InputError(INPUT_ERRORS.TooLarge, { at: label, maxBytes: budget.limits.maxBytes });
}

/** Lists the input files a path stands for, in order; refuses what is not a file, a directory or `-`. */
function expand(path: string, recursive: boolean, out: string[]): void {
  if (path === '-') {
    out.push('-');
    return;
  }
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw unreadable(path, e);
  }
  if (!st.isDirectory()) {
    out.push(path);
    return;
  }
  const before = out.length;
  let subdirs = 0;
  const seen = new Set<string>();
  const walk = (dir: string): void => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch (e) {
      throw unreadable(dir, e);
    }
    if (seen.has(real)) return; // a symlink loop
    seen.add(real);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      throw unreadable(dir, e);
    }
    for (const n of names) {
      const p = join(dir, n);
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        // a dangling symlink: not an input unless it is named like one, and then reading it says why
      }
      if (isDir) {
        subdirs++;
        if (recursive) walk(p);
      } else if (INPUT_FILE.test(n)) out.push(p);
    }
  };
  walk(path);
  if (out.length === before) {
    throw new InputError(INPUT_ERRORS.NoObjects, { reason: 'noFiles', at: path, subdirectoriesSkipped: subdirs > 0 && !recursive });
  }
}

/** Reads a file or standard input, refusing anything but a regular file (or stdin) and more than the budget. */
function readBounded(path: string, budget: InputBudget): string {
  const label = path === '-' ? 'standard input' : path;
  let fd = 0;
  if (path !== '-') {
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below without being read.
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      throw unreadable(path, e);
    }
  }
  try {
    const st = fstatSync(fd);
    if (path !== '-' && !st.isFile()) {
      throw new InputError(INPUT_ERRORS.NotARegularFile, { at: path, is: whatIs(st) });
    }
    if (st.isFile() && st.size > budget.bytes) throw tooLarge(label, budget);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, budget.bytes - total + 1));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          // Standard input in non-blocking mode (a terminal or an inherited pipe): wait for data.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw unreadable(label, e);
      }
      if (n === 0) break;
      total += n;
      if (total > budget.bytes) throw tooLarge(label, budget);
      chunks.push(buf.subarray(0, n));
    }
    budget.bytes -= total;
    return decode(Buffer.concat(chunks, total));
  } finally {
    if (path !== '-') closeSync(fd);
  }
}

/** UTF-8 (a BOM is dropped by the parser), or UTF-16 with a byte-order mark as Windows shells write it. */
function decode(b: Buffer): string {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const le = Buffer.from(b.subarray(2));
    le.swap16();
    return le.toString('utf16le');
  }
  return b.toString('utf8');
}

// --- parsing ---------------------------------------------------------------------------------------------

/** YAML 1.2 floats without `.inf` and `.nan`, which JSON (and so Kubernetes) cannot carry: those stay strings. */
const finiteFloat = new yaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$/.test(data) && !data.endsWith('_') && Number.isFinite(Number(data.replace(/_/g, ''))),
  construct: (data: string) => Number(data.replace(/_/g, '')),
});

/**
 * The YAML 1.2 core schema (strings, numbers, booleans, null: what JSON and so Kubernetes hold; no timestamps
 * turned into Dates, no !!binary or !!set), with finite floats only. Merge keys (`<<`) are resolved afterwards,
 * within the alias budget.
 */
const LOAD_SCHEMA = yaml.CORE_SCHEMA.extend({ implicit: [finiteFloat] });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Offset {
  /** 0-based line and column of the text's first character in the file. */
  line: number;
  column: number;
}

/** A parsed document: its value and the 1-based line it starts at; `lines` knows where each collection starts. */
interface Parsed {
  value: unknown;
  line: number;
}

function position(offset: Offset, line: number, column: number): string {
  return `${offset.line + line + 1}:${(line === 0 ? offset.column : 0) + column + 1}`;
}

/** Parses a YAML stream (or one JSON value) with the depth and document budgets enforced while parsing. */
function loadYaml(text: string, name: string, offset: Offset, budget: InputBudget, lines: Map<object, number>): Parsed[] {
  const { maxDepth, maxDocuments } = budget.limits;
  let depth = 0;
  const open: number[] = [];
  const starts: number[] = [];
  const listener = (event: 'open' | 'close', state: { line: number; position: number; lineStart: number; result: unknown }) => {
    if (event === 'open') {
      if (++depth > maxDepth) {
        throw new InputError(INPUT_ERRORS.TooDeep, { reason: 'nested', at: `${name}:${position(offset, state.line, state.position - state.lineStart)}`, maxDepth });
      }
      if (depth === 1) {
        if (budget.documents <= 0) {
          throw new InputError(INPUT_ERRORS.TooManyDocuments, { at: `${name}:${position(offset, state.line, 0)}`, maxDocuments });
        }
        budget.documents--;
        starts.push(offset.line + state.line + 1);
      }
      // Lines only where List items and top-level array items sit (levels 2 and 3): all a source needs.
      if (depth <= 3) open.push(offset.line + state.line + 1);
    } else {
      if (depth <= 3) {
        const line = open.pop() ?? 0;
        const r = state.result;
        if (depth >= 2 && typeof r === 'object' && r !== null && !lines.has(r)) lines.set(r, line);
      }
      depth--;
    }
  };
  let values: unknown[];
  try {
    values = yaml.loadAll(text, null, { filename: name, schema: LOAD_SCHEMA, listener: listener as never });
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const m = e.mark as { line: number; column: number } | undefined;
      const reason = e.reason === 'duplicated mapping key' ? 'duplicated mapping key (a key may appear once in a mapping)' : e.reason;
      throw new InputError(INPUT_ERRORS.Syntax, { at: `${name}:${m ? position(offset, m.line, m.column) : '?'}`, reason });
    }
    if (e instanceof RangeError) {
      // The parser recursed past the stack before the depth limit (a pathological flow collection).
      throw new InputError(INPUT_ERRORS.TooDeep, { reason: 'parser', at: name });
    }
    throw e;
  }
  return values.map((value, i) => ({ value, line: starts[i] ?? offset.line + 1 }));
}

/**
 * Top-level JSON values of a concatenated stream (`{...}{...}` or one a line), with where each starts; undefined
 * when the text is not such a stream of two or more objects or arrays (then it is read as YAML).
 */
function splitJsonStream(text: string): { start: number; end: number; line: number; column: number }[] | undefined {
  const n = text.length;
  const out: { start: number; end: number; line: number; column: number }[] = [];
  let i = 0;
  let line = 0;
  let lineStart = 0;
  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        line++;
        lineStart = i + 1;
      } else if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) break;
      i++;
    }
  };
  skipSpace();
  while (i < n) {
    const first = text[i];
    if (first !== '{' && first !== '[') return undefined;
    const start = i;
    const at = { line, column: i - lineStart };
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        else if (c === '\n') return undefined; // not JSON
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (--depth === 0) {
          i++;
          break;
        }
      } else if (c === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
    if (depth !== 0) return undefined;
    out.push({ start, end: i, ...at });
    skipSpace();
  }
  return out.length >= 2 ? out : undefined;
}

/**
 * Expands aliases' cost and merge keys in place, within the budget: refuses recursive aliases, expansion beyond
 * the alias budget and nesting (through aliases) beyond the depth limit. Linear in the distinct nodes.
 */
function resolveAliases(doc: unknown, where: string, budget: InputBudget): void {
  const done = new Map<object, { size: number; height: number }>();
  const active = new Set<object>();
  const { maxDepth, maxAliasNodes } = budget.limits;
  const visit = (v: unknown, depth: number): { size: number; height: number } => {
    if (typeof v !== 'object' || v === null) return { size: 1, height: 0 };
    if (active.has(v)) throw new InputError(INPUT_ERRORS.AliasExpansion, { reason: 'recursive', at: where });
    const seen = done.get(v);
    if (seen) {
      budget.aliasNodes -= seen.size;
      if (budget.aliasNodes < 0) {
        throw new InputError(INPUT_ERRORS.AliasExpansion, { reason: 'budget', at: where, maxAliasNodes });
      }
      if (depth + seen.height > maxDepth) throw new InputError(INPUT_ERRORS.TooDeep, { reason: 'aliases', at: where, maxDepth });
      return seen;
    }
    if (depth > maxDepth) throw new InputError(INPUT_ERRORS.TooDeep, { reason: 'aliases', at: where, maxDepth });
    active.add(v);
    let size = 1;
    let height = 1;
    const add = (c: unknown) => {
      const r = visit(c, depth + 1);
      size += r.size;
      if (r.height + 1 > height) height = r.height + 1;
    };
    if (Array.isArray(v)) for (const item of v) add(item);
    else {
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) add(rec[k]);
      if ('<<' in rec) merge(rec);
    }
    active.delete(v);
    const r = { size, height };
    done.set(v, r);
    return r;
  };
  visit(doc, 1);
}

/** YAML merge keys: `<<: *base` or `<<: [*a, *b]` (earlier mappings win); the mapping's own keys win over all. */
function merge(rec: Record<string, unknown>): void {
  const src = rec['<<'];
  const sources = Array.isArray(src) ? src : [src];
  if (!sources.every(isRecord)) return; // not a merge: left for the schema to report as an unknown field
  delete rec['<<'];
  const own = new Set(Object.keys(rec));
  for (const s of sources as Record<string, unknown>[]) {
    for (const k of Object.keys(s)) {
      if (own.has(k)) continue;
      own.add(k);
      rec[k] = s[k];
    }
  }
}

/** `kind: List` as kubectl prints it (any apiVersion), or a typed list such as `FailoverServiceList`. */
function listItems(v: unknown): unknown[] | undefined {
  if (!isRecord(v) || !Array.isArray(v.items) || typeof v.kind !== 'string') return undefined;
  return v.kind === 'List' || (v.kind.endsWith('List') && v.kind.length > 4) ? v.items : undefined;
}

/**
 * Parses every document of a text; a syntax error names the file, line and column. `source` of each document
 * is `name:line`, the line its content starts at (an item of a List: the item's own line).
 */
export function parseDocuments(text: string, name: string, budget: InputBudget = inputBudget()): SourcedDocument[] {
  const lines = new Map<object, number>();
  const json = splitJsonStream(text);
  const parsed: Parsed[] = [];
  if (json) {
    for (const v of json) {
      for (const p of loadYaml(text.slice(v.start, v.end), name, { line: v.line, column: v.column }, budget, lines)) parsed.push(p);
    }
  } else {
    for (const p of loadYaml(text, name, { line: 0, column: 0 }, budget, lines)) parsed.push(p);
  }
  const mayAlias = text.includes('&') || text.includes('<<');
  const out: SourcedDocument[] = [];
  for (const p of parsed) {
    const where = `${name}:${p.line}`;
    if (mayAlias) resolveAliases(p.value, where, budget);
    const items = listItems(p.value) ?? (Array.isArray(p.value) && p.value.length > 0 && p.value.every(isRecord) ? p.value : undefined);
    if (!items) {
      out.push({ value: p.value, source: where });
      continue;
    }
    if (items.length > budget.documents) {
      throw new InputError(INPUT_ERRORS.TooManyDocuments, { at: where, maxDocuments: budget.limits.maxDocuments });
    }
    budget.documents -= items.length;
    for (const item of items) {
      const line = typeof item === 'object' && item !== null ? lines.get(item) : undefined;
      out.push({ value: item, source: `${name}:${line ?? p.line}` });
    }
  }
  return out;
}

/** Reads every input (files, directories, `-`) within one budget. Throws CliError (exit 2) for unusable input. */
export function readInputDocuments(paths: readonly string[], options: ReadOptions = {}): SourcedDocument[] {
  if (paths.length === 0) throw new InputError(INPUT_ERRORS.Unreadable, { reason: 'noInput' });
  const budget = inputBudget(options.limits);
  const files: string[] = [];
  for (const p of paths) expand(p, options.recursive === true, files);
  const docs: SourcedDocument[] = [];
  for (const file of files) {
    for (const d of parseDocuments(readBounded(file, budget), file === '-' ? 'stdin' : file, budget)) docs.push(d);
  }
  if (!docs.some((d) => d.value !== null && d.value !== undefined)) {
    throw new InputError(INPUT_ERRORS.NoObjects, { reason: 'empty', inputs: [...paths] });
  }
  checkTierPairs(docs, budget.limits.maxTierPairs);
  return docs;
}

/** Refuses, before rendering, input whose FailoverServices would render more than the output bound. */
function checkTierPairs(docs: readonly SourcedDocument[], max: number): void {
  let pairs = 0;
  for (const d of docs) {
    const v = d.value;
    if (!isRecord(v) || v.kind !== 'FailoverService' || !isRecord(v.spec) || !Array.isArray(v.spec.meshWorkloads)) continue;
    // A longer list is a schema error and renders nothing.
    const n = v.spec.meshWorkloads.length;
    if (n > MAX_FAILOVER_CLUSTERS) continue;
    pairs += n * n;
    if (pairs > max) {
      throw new InputError(INPUT_ERRORS.TooMuchOutput, { at: d.source ?? 'input', maxTiers: max });
    }
  }
}
