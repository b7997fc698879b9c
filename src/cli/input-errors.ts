/**
 * The CLI's coded input errors (SPW0xx). Apart from errors.ts so that `--version` and usage errors do not load the
 * table of codes.
 */
import { renderInput } from '../api/messages.ts';
import type { InputCode, InputParams } from '../api/messages.ts';
import { CliError } from './errors.ts';

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

/** A coded input error: `SPW003 big.yaml: ...`, its text rendered from `params` by the table in src/api/messages.ts. */
export class InputError<C extends InputErrorCode = InputErrorCode> extends CliError {
  constructor(readonly code: C, readonly params: InputParams<C>) {
    super(`${code} ${renderInput(code, params)}`);
    this.name = 'InputError';
  }
}
