import { escapeControl } from '../api/text.ts';

/** An unusable invocation or unreadable input: printed as one line, exit status 2, never a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(escapeControl(message));
    this.name = 'CliError';
  }
}
