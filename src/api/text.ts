/** Text that came from input, made safe to show: every message and error line goes through here. */

/**
 * Makes text safe to print on a terminal as one line: C0 and C1 control characters (newlines included), DEL,
 * line/paragraph separators and the bidirectional overrides become visible escapes (`\n`, `\x1b`, `\u202e`).
 */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
