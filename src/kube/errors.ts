/** Errors from talking to a Kubernetes API server, classified the way the controller needs them. */

export class KubeApiError extends Error {
  /** HTTP status; 0 when no response arrived (connection refused, reset, timeout, aborted). */
  readonly status: number;
  /** The Status object's `reason` (Conflict, NotFound, Expired, ...), when the server sent one; `Timeout` when our own request timeout fired. */
  readonly reason: string;
  readonly verb: string;
  readonly path: string;
  /** The server's Retry-After (429, 503), in ms: do not try again sooner. */
  readonly retryAfterMs: number | undefined;

  constructor(opts: { status: number; reason?: string; message: string; verb: string; path: string; retryAfterMs?: number }) {
    super(opts.message);
    this.name = 'KubeApiError';
    this.status = opts.status;
    this.reason = opts.reason ?? '';
    this.verb = opts.verb;
    this.path = opts.path;
    this.retryAfterMs = opts.retryAfterMs;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
  /** 410 Gone / Expired: the resourceVersion is too old; re-list. */
  get gone(): boolean {
    return this.status === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
  /** No answer within the request's timeout (reason `Timeout`, as kube-apiserver's own 504 says), or a 408. */
  get timedOut(): boolean {
    return this.reason === 'Timeout' || this.status === 408;
  }
  /** Worth retrying later unchanged: network failures, 429, 5xx. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export function isKubeApiError(e: unknown): e is KubeApiError {
  return e instanceof KubeApiError;
}

/** The Retry-After an error asks for, in ms (0 when none). */
export function retryAfterOf(e: unknown): number {
  return e instanceof KubeApiError && e.retryAfterMs !== undefined ? e.retryAfterMs : 0;
}

/** Parses a Retry-After header: delay-seconds (what kube-apiserver sends) or an HTTP date; undefined if unusable. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** A one-line description of any error that is safe to log and to write into status (no headers, no bodies). */
export function describeError(e: unknown): string {
  if (e instanceof KubeApiError) return `${e.verb} ${e.path}: ${e.status === 0 ? '' : `${e.status} `}${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
