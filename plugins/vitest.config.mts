import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/src/**/*.test.{ts,tsx}', 'testing/**/*.test.ts'],
    // Each file starts its own Berth; they share the machine's two cores.
    fileParallelism: false,
    setupFiles: ['testing/setup.ts'],
    // Some of Backstage's UI dependencies import directories (ESM that only bundlers resolve):
    // let Vite transform them instead of Node loading them.
    server: { deps: { inline: [/material-ui-popup-state/, /@backstage\/ui/, /@backstage\/core-components/] } },
    css: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
