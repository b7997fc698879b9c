import type { FailoverContext } from '../../model/context.ts';
import type { Reporter } from '../messages.ts';

/** One check: reads one FailoverService in context and reports problems against it. Never throws for bad input. */
export interface Check {
  name: string;
  run(ctx: FailoverContext, r: Reporter): void;
}
