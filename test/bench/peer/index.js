// The peer of Berth's workloads read in make bench: Backstage's backend with the catalog and
// the Kubernetes backend only, configured by the benchmark (--config).
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
backend.add(require('@backstage/plugin-kubernetes-backend'));
backend.start();
