/** Spillway's public, pure API. */
export { render, renderDetailed, hasErrors, compareObjects, RenderCache } from './core/render.ts';
export type { RenderResult, DetailedRenderResult, RenderBlock, ServiceOutcome } from './core/render.ts';
export type { Message, MessageOf, MessageCode, ParamsOf, ObjectRef, Level, Code, CheckCode, InputCode } from './api/messages.ts';
export { MESSAGES, CHECK_CODES, INPUT_CODES, codeTable, docsAnchor, message, renderMessage, isCode } from './api/messages.ts';
export type { SourcedDocument } from './analyze/snapshot.ts';
export type { Snapshot } from './model/snapshot.ts';
export { customResourceDefinitions } from './api/crds.ts';
export * from './api/types.ts';
export { outboundCluster } from './model/naming.ts';
