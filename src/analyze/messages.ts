/**
 * Every message Spillway reports, as data. The table of codes (level, name, title, and the renderer from typed
 * params to text) is src/api/messages.ts, which every layer may import; checks report through a `Reporter` keyed by
 * the input object, giving a code, its params and the field path, never text.
 */

import { escapeControl } from '../api/text.ts';
import { message } from '../api/messages.ts';
import type { Level, Message, MessageCode, ParamsOf } from '../api/messages.ts';

export type { Level, Message, MessageCode, MessageOf, NameSubject, ObjectRef, ParamsOf } from '../api/messages.ts';
export { MESSAGES, renderMessage } from '../api/messages.ts';

export const LEVEL_ORDER: Record<Level, number> = { error: 0, warning: 1, info: 2 };

/** Collects messages keyed by input object; a check never throws for bad user input. */
export class Reporter {
  readonly messages: Message[] = [];
  private readonly failed = new Set<string>();

  /**
   * Reports `code` against `object` (`Kind/namespace/name`, or a document position) with the code's params and,
   * when the message is about one field, its JSON path inside the object (`spec.meshWorkloads[1]`).
   */
  report<C extends MessageCode>(code: C, object: string, params: ParamsOf<C>, path?: string): void {
    // Input text reaches messages (names, values, file names): never a control character to a terminal or a log.
    const m = message(code, object, params, { clean: escapeControl, ...(path !== undefined ? { path } : {}) });
    this.messages.push(m as Message);
    if (m.level === 'error') this.failed.add(object);
  }

  /** Re-reports messages recorded by an earlier run (a render cache hit). */
  replay(messages: readonly Message[]): void {
    for (const m of messages) {
      this.messages.push(m);
      if (m.level === 'error') this.failed.add(m.object);
    }
  }

  hasErrors(object: string): boolean {
    return this.failed.has(object);
  }

  /**
   * Messages sorted deterministically, causes before their consequences: documents that are not objects first,
   * then MeshClusters, MeshWorkloads (which refer to clusters), FailoverServices (which refer to both) and other
   * kinds; within a kind by object, then level, code and text.
   */
  sorted(): Message[] {
    // compareMessages' order, with each message's object rank and level found once, not per comparison.
    const keyed = this.messages.map((m) => ({ m, rank: kindRank(m.object), level: LEVEL_ORDER[m.level] }));
    keyed.sort((a, b) => a.rank - b.rank || cmp(a.m.object, b.m.object) || a.level - b.level || cmp(a.m.code, b.m.code) || cmp(a.m.message, b.m.message));
    return keyed.map((k) => k.m);
  }
}

/** The order of `Reporter.sorted`: by object (see `compareMessageObjects`), then level, code and text. */
export function compareMessages(a: Message, b: Message): number {
  return compareMessageObjects(a.object, b.object) || LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || cmp(a.code, b.code) || cmp(a.message, b.message);
}

/** Objects in message order: document positions, then MeshClusters, MeshWorkloads, FailoverServices, other kinds; then by name. */
export function compareMessageObjects(a: string, b: string): number {
  return kindRank(a) - kindRank(b) || cmp(a, b);
}

const KIND_RANK: Record<string, number> = { MeshCluster: 1, MeshWorkload: 2, FailoverService: 3 };

/** 0 for a document position (`file:line`), 1-3 for Spillway's kinds in dependency order, 4 for other kinds. */
function kindRank(object: string): number {
  const rank = KIND_RANK[object.slice(0, object.indexOf('/'))];
  if (rank !== undefined) return rank;
  return /:\d+$|^document #/.test(object) ? 0 : 4;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
