/** Single-object operations the controller performs: get, server-side apply, guarded delete, status patch. */
import type { KubeObject } from '../api/types.ts';
import type { KubeClient } from './client.ts';
import { isKubeApiError } from './errors.ts';
import type { ResourceType } from './resources.ts';
import { objectPath, typeOfObject } from './resources.ts';

export async function getObject(client: KubeClient, type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return (await client.request({ method: 'GET', path: objectPath(type, name, namespace) })) as KubeObject;
  } catch (e) {
    if (isKubeApiError(e) && e.notFound) return undefined;
    throw e;
  }
}

/**
 * Server-side apply of `obj` (which carries apiVersion, kind, metadata.name/namespace) with `fieldManager`.
 * `force` takes over fields another manager set: only used on objects that carry our owner labels.
 */
export async function applyObject(client: KubeClient, obj: KubeObject, opts: { fieldManager: string; force: boolean }): Promise<KubeObject> {
  const type = typeOfObject(obj);
  return (await client.request({
    method: 'PATCH',
    path: objectPath(type, obj.metadata.name, obj.metadata.namespace),
    query: { fieldManager: opts.fieldManager, force: opts.force ? true : undefined },
    contentType: 'application/apply-patch+yaml',
    body: obj,
  })) as KubeObject;
}

export type DeleteResult = 'deleted' | 'gone' | 'changed';

/**
 * Deletes an object only if it is still exactly the version we decided on (uid + resourceVersion
 * preconditions): a concurrent change (someone removed our labels, recreated it) makes the delete fail.
 */
export async function deleteObject(client: KubeClient, obj: KubeObject): Promise<DeleteResult> {
  const type = typeOfObject(obj);
  try {
    await client.request({
      method: 'DELETE',
      path: objectPath(type, obj.metadata.name, obj.metadata.namespace),
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
        preconditions: { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
      },
    });
    return 'deleted';
  } catch (e) {
    if (isKubeApiError(e) && e.notFound) return 'gone';
    if (isKubeApiError(e) && e.conflict) return 'changed';
    throw e;
  }
}

/**
 * Replaces `.status` through the status subresource with a JSON merge patch; top-level status keys that
 * `prev` had and `next` lacks are sent as null so they are removed.
 */
export async function patchStatus(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  next: Record<string, unknown>,
  prev: Record<string, unknown> | undefined,
): Promise<KubeObject> {
  const status: Record<string, unknown> = { ...next };
  for (const k of Object.keys(prev ?? {})) if (!(k in next)) status[k] = null;
  return (await client.request({
    method: 'PATCH',
    path: objectPath(type, name, namespace, 'status'),
    contentType: 'application/merge-patch+json',
    body: { status },
  })) as KubeObject;
}

/** Records a core/v1 Event (the caller fills involvedObject, reason, message, type and timestamps). */
export async function createEvent(client: KubeClient, namespace: string, event: Record<string, unknown>): Promise<void> {
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, body: event });
}

/** Annotation keys an Event of Spillway carries its code and typed params in (Events have no field for them). */
export const EVENT_CODE_ANNOTATION = 'spillway.dev/code';
export const EVENT_PARAMS_ANNOTATION = 'spillway.dev/params';

/** The annotations that give an Event its code and params as data (the message is rendered from them by the table). */
export function eventAnnotations(code: string, params: unknown): Record<string, string> {
  return { [EVENT_CODE_ANNOTATION]: code, [EVENT_PARAMS_ANNOTATION]: JSON.stringify(params) };
}
