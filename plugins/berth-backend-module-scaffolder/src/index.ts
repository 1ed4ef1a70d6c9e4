/** Berth's scaffolder module: Berth's actions for Backstage software templates. */
export { scaffolderModuleBerth as default } from './module';
export { berthAction, loadDefinitions } from './actions';
export { toZod, type JsonSchema } from './schema';
