/** Berth's Backstage frontend plugin (new frontend system). */
export { berthPlugin as default } from './plugin';
export { berthApiRef, berthApi } from './api';
export { argoCard, environmentsCard, isBerthService, violationsCard } from './cards';
export { ArgoView } from './components/ArgoView';
export { EnvironmentsView } from './components/EnvironmentsView';
export { ViolationsView } from './components/ViolationsView';
