// The backend of a Backstage app: Backstage's own plugins, then Berth's two modules, one line
// each, as the README's Backstage section says.
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@berth-platform/backstage-plugin-scaffolder-backend-module-berth'));
backend.add(import('@berth-platform/backstage-plugin-catalog-backend-module-berth'));
backend.start();
