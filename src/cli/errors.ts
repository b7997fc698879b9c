import { escapeControl } from '../api/text.ts';
import type { InputCode } from '../api/messages.ts';

/** An unusable invocation or unreadable input: printed as one line, exit status 2, never a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(escapeControl(message));
    this.name = 'CliError';
  }
}

/**
 * Codes of the input errors (each exit status 2, one line). Append only; never renumber or reuse a code.
 * Every code, with its level, name and docs anchor, is in the table in src/api/messages.ts.
 */
export const INPUT_ERRORS = {
  Unreadable: 'SPW001',
  NotARegularFile: 'SPW002',
  TooLarge: 'SPW003',
  TooManyDocuments: 'SPW004',
  TooDeep: 'SPW005',
  AliasExpansion: 'SPW006',
  Syntax: 'SPW007',
  NoObjects: 'SPW008',
  OutDir: 'SPW009',
  TooMuchOutput: 'SPW010',
} as const satisfies Record<string, InputCode>;

export type InputErrorCode = (typeof INPUT_ERRORS)[keyof typeof INPUT_ERRORS];

/** A coded input error: `SPW003 big.yaml: ...`. */
export class InputError extends CliError {
  constructor(readonly code: InputErrorCode, message: string) {
    super(`${code} ${message}`);
    this.name = 'InputError';
  }
}
