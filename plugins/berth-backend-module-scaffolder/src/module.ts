import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { berthAction, loadDefinitions } from './actions';

/**
 * The scaffolder module: registers every action Berth's GET /api/v1/actions describes.
 *
 *   berth:
 *     baseUrl: https://berth.example.com
 *     token: ${BERTH_TOKEN}   # a Berth service token, used only to read the definitions
 *
 * Actions call Berth with the Backstage token of the user running the template.
 */
export const scaffolderModuleBerth = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'berth',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ scaffolder, config, logger }) {
        const token = config.getOptionalString('berth.token');
        const client = new BerthClient({ baseUrl: config.getString('berth.baseUrl'), token: async () => token });
        const defs = await loadDefinitions(client, logger);
        scaffolder.addActions(...defs.map(d => berthAction(client, d)));
        logger.info(`Registered Berth's scaffolder actions: ${defs.map(d => d.id).join(', ')}`);
      },
    });
  },
});
