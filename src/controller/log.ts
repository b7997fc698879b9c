/**
 * Structured JSON logs, one object per line. Values under keys that look like credentials are replaced, and the
 * controller never passes kubeconfig contents, headers or Secret data to a logger in the first place.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const SENSITIVE = /(token|password|passwd|authorization|bearer|kubeconfig|credential|client-key|client-certificate|certificate-authority-data|private)/i;

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SENSITIVE.test(k)) out[k] = '[redacted]';
    else if (typeof v === 'string') out[k] = v.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer [redacted]');
    else out[k] = v;
  }
  return out;
}

export function jsonLogger(write: (line: string) => void, level: LogLevel = 'info', base: Record<string, unknown> = {}, now: () => Date = () => new Date()): Logger {
  const emit = (l: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[l] < ORDER[level]) return;
    write(`${JSON.stringify({ ts: now().toISOString(), level: l, msg, ...redact({ ...base, ...fields }) })}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => jsonLogger(write, level, { ...base, ...fields }, now),
  };
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
