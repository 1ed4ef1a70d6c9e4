import { ApiBlueprint, createApiRef, discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';

/** Berth's client in the Backstage app. */
export const berthApiRef = createApiRef<BerthClient>({ id: 'plugin.berth.client' });

/**
 * Berth is reached through Backstage's proxy (endpoint `berth`, `credentials: forward`), so
 * every call carries the signed-in user's Backstage token and Berth authorises that person.
 */
export const berthApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: berthApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new BerthClient({ baseUrl: async () => `${await discoveryApi.getBaseUrl('proxy')}/berth`, fetch: fetchApi.fetch }),
    }),
});
