/** Spillway's public, pure API. */
export { render, renderDetailed, hasErrors, compareObjects, RenderCache } from './core/render.ts';
export type { RenderResult, DetailedRenderResult, RenderBlock, ServiceOutcome } from './core/render.ts';
export type { Message, Level } from './analyze/messages.ts';
export { MSG } from './analyze/messages.ts';
export type { SourcedDocument } from './analyze/snapshot.ts';
export type { Snapshot } from './model/snapshot.ts';
export { customResourceDefinitions } from './api/crds.ts';
export * from './api/types.ts';
export { outboundCluster } from './model/naming.ts';
