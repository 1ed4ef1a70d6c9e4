import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { berthApi } from './api';
import { argoCard, costCard, environmentsCard, healthCard, kubernetesCard, logsCard, scheduleCard, signalsCard, violationsCard } from './cards';

/** Berth's frontend plugin: entity cards for the services Berth runs. */
export const berthPlugin = createFrontendPlugin({
  pluginId: 'berth',
  extensions: [berthApi, environmentsCard, argoCard, violationsCard, kubernetesCard, healthCard, logsCard, signalsCard, costCard, scheduleCard],
});
