// Kubernetes `Status` failures, shaped like the ones kube-apiserver returns (metav1.Status).
import type { JsonObject } from './json.ts';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): JsonObject {
    const s: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      // metav1.Status omits an empty reason (a 500 from server-side apply has none).
      ...(this.reason ? { reason: this.reason } : {}),
      code: this.code,
    };
    if (this.details) s.details = JSON.parse(JSON.stringify(this.details)) as JsonObject;
    return s;
  }
}

/** The group-qualified resource name used in messages: `configmaps`, `widgets.example.com`. */
export function qualified(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export function notFound(group: string, plural: string, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(group, plural)} "${name}" not found`, { name, group: group || undefined, kind: plural });
}

export function alreadyExists(group: string, plural: string, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(group, plural)} "${name}" already exists`, { name, group: group || undefined, kind: plural });
}

export function conflict(group: string, plural: string, name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": ${why}`, {
    name,
    group: group || undefined,
    kind: plural,
  });
}

export const STALE = 'the object has been modified; please apply your changes to the latest version and try again';

/** 422: `Kind.group "name" is invalid: [cause, cause]` (no brackets for a single cause). */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): StatusError {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const gk = group ? `${kind}.${group}` : kind;
  return new StatusError(422, 'Invalid', `${gk} "${name}" is invalid: ${list}`, { name, group: group || undefined, kind, causes });
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function internal(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: '', message }] });
}

export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function methodNotAllowed(verb: string, what: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${what}"`);
}

export function pathNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function unsupportedMediaType(type: string): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${type})`);
}

/** A generic failure with a chosen code, as fault injection produces. */
export function injected(code: number, message?: string): StatusError {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    410: 'Expired',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  const reason = reasons[code] ?? 'Unknown';
  return new StatusError(code, reason, message ?? `injected failure (${code} ${reason})`);
}
