import { coreServices, createBackendModule, readSchedulerServiceTaskScheduleDefinitionFromConfig } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { BerthEntityProvider } from './provider';

/**
 * The catalog module: adds Berth's entity provider. Configuration:
 *
 *   berth:
 *     baseUrl: https://berth.example.com
 *     token: ${BERTH_TOKEN}            # a Berth service token that is a platform admin
 *     catalog:
 *       schedule: { frequency: { minutes: 5 }, timeout: { minutes: 3 } }
 */
export const catalogModuleBerth = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'berth',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
      },
      async init({ catalog, config, logger, scheduler }) {
        const token = config.getString('berth.token');
        const client = new BerthClient({ baseUrl: config.getString('berth.baseUrl'), token: async () => token });
        const schedule = config.has('berth.catalog.schedule')
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(config.getConfig('berth.catalog.schedule'))
          : { frequency: { minutes: 5 }, timeout: { minutes: 3 }, initialDelay: { seconds: 15 } };
        catalog.addEntityProvider(new BerthEntityProvider(client, logger, scheduler.createScheduledTaskRunner(schedule)));
      },
    });
  },
});
