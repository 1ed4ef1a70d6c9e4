/** Berth's catalog module: Berth's teams, members, services, namespaces and databases as entities. */
export { catalogModuleBerth as default } from './module';
export { BerthEntityProvider, type RefreshResult } from './provider';
