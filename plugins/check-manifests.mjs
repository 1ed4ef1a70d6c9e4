// The workspace's manifests point at src (what the tests and the typecheck read); only a
// packed tarball points at dist, which `backstage-cli package prepack` writes and postpack
// takes back. A pack cut off between the two leaves a manifest pointing at a dist that a
// fresh clone does not have: refuse it here, where it is cheap to see, not in CI's typecheck.
import { readFileSync } from 'node:fs';

const root = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8'));
const wrong = [];
for (const ws of root.workspaces) {
  const m = JSON.parse(readFileSync(new URL(`${ws}/package.json`, import.meta.url), 'utf8'));
  for (const field of ['main', 'types', 'module']) {
    if (m[field] !== undefined && m[field] !== 'src/index.ts') wrong.push(`${ws}/package.json: "${field}" is "${m[field]}", want "src/index.ts"`);
  }
  if (m.typesVersions) wrong.push(`${ws}/package.json: "typesVersions" is prepack's; remove it`);
  if (!m.publishConfig?.main?.startsWith('dist/')) wrong.push(`${ws}/package.json: publishConfig.main should point at dist`);
}
if (wrong.length) {
  console.error(`${wrong.join('\n')}\n(an interrupted npm pack leaves these; run "npm run postpack --workspaces" or restore the manifests)`);
  process.exit(1);
}
