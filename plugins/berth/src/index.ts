/** Berth's Backstage frontend plugin (new frontend system). */
export { berthPlugin as default } from './plugin';
export { berthApiRef, berthApi } from './api';
export { argoCard, costCard, environmentsCard, healthCard, isBerthService, kubernetesCard, logsCard, scheduleCard, signalsCard, violationsCard } from './cards';
export { ArgoView } from './components/ArgoView';
export { EnvironmentsView } from './components/EnvironmentsView';
export { ViolationsView } from './components/ViolationsView';
export { HealthView } from './components/HealthView';
export { KubernetesView } from './components/KubernetesView';
export { LogsView } from './components/LogsView';
export { SignalsView } from './components/SignalsView';
export { CostView } from './components/CostView';
export { ScheduleView } from './components/ScheduleView';
