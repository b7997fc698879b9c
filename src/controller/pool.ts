/** Runs tasks with at most `n` in flight, in order of the list. */
export async function pool(tasks: (() => Promise<void>)[], n: number): Promise<void> {
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < tasks.length) await tasks[i++]!();
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
}

/** Thrown by a write attempted by a replica that is not (or no longer) the leader: aborts the reconcile. */
export class NotLeaderError extends Error {
  constructor() {
    super('not the leader');
  }
}

/** What every writer needs: may this replica write now (throws NotLeaderError if not), and how many writes at once. */
export interface WriteGate {
  guard(): void;
  concurrency: number;
}
