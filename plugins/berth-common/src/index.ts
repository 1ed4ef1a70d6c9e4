export * from './client';
export * from './logs';
export type { components, paths, operations } from './schema.gen';

/** Annotations Berth puts on the catalog entities it emits. */
export const ANNOTATION_TEAM = 'berth.dev/team';
export const ANNOTATION_SERVICE = 'berth.dev/service';
