// Backstage's lint rules for a package's role, as each package's .eslintrc.js asks for them
// with its own folder. The tests run on Vitest (whose API the jest rules read as Jest 29's)
// with the workspace's shared harness (plugins/testing), the workspace root's dev dependencies
// and the classic JSX transform; openapi-fetch's methods are named GET, PUT, ...
module.exports = dir =>
  require('@backstage/cli/config/eslint-factory')(dir, {
    settings: { jest: { version: 29 } },
    rules: { 'new-cap': ['error', { capIsNewExceptions: ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'] }] },
    overrides: [
      {
        files: ['**/*.test.ts', '**/*.test.tsx'],
        rules: {
          '@backstage/no-undeclared-imports': 'off',
          '@backstage/no-relative-monorepo-imports': 'off',
          'no-restricted-syntax': 'off',
        },
      },
    ],
  });
