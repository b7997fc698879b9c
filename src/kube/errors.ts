/** Errors from talking to a Kubernetes API server, classified the way the controller needs them. */

export class KubeApiError extends Error {
  /** HTTP status; 0 when no response arrived (connection refused, reset, timeout, aborted). */
  readonly status: number;
  /** The Status object's `reason` (Conflict, NotFound, Expired, ...), when the server sent one. */
  readonly reason: string;
  readonly verb: string;
  readonly path: string;

  constructor(opts: { status: number; reason?: string; message: string; verb: string; path: string }) {
    super(opts.message);
    this.name = 'KubeApiError';
    this.status = opts.status;
    this.reason = opts.reason ?? '';
    this.verb = opts.verb;
    this.path = opts.path;
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
  /** Worth retrying later unchanged: network failures, 429, 5xx. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export function isKubeApiError(e: unknown): e is KubeApiError {
  return e instanceof KubeApiError;
}

/** A one-line description of any error that is safe to log and to write into status (no headers, no bodies). */
export function describeError(e: unknown): string {
  if (e instanceof KubeApiError) return `${e.verb} ${e.path}: ${e.status === 0 ? '' : `${e.status} `}${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
