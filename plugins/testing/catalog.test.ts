import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  type Entity,
  EntityPolicies,
  FieldFormatEntityPolicy,
  locationEntityV1alpha1Validator,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  systemEntityV1alpha1Validator,
  DefaultNamespaceEntityPolicy,
} from '@backstage/catalog-model';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { loadAll, load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from './berth';

const catalogDir = join(__dirname, '..', '..', 'catalog');
const policy = EntityPolicies.allOf([new DefaultNamespaceEntityPolicy(), new NoForeignRootFieldsEntityPolicy(), new FieldFormatEntityPolicy(), new SchemaValidEntityPolicy()]);

let berth: RunningBerth;
beforeAll(async () => {
  berth = await startBerth();
});
afterAll(async () => {
  await berth?.stop();
});

describe('catalog/ descriptors', () => {
  const entities = loadAll(readFileSync(join(catalogDir, 'catalog-info.yaml'), 'utf8')) as Entity[];

  it("Berth's own entities are valid, and its API's definition is the spec", async () => {
    expect(entities.map(e => e.kind).sort()).toEqual(['API', 'Component', 'Location', 'System']);
    for (const raw of entities) {
      // The catalog replaces $text placeholders with the file's content before validating.
      const e = JSON.parse(JSON.stringify(raw), (_, v) => (v && typeof v === 'object' && typeof v.$text === 'string' ? readFileSync(join(catalogDir, v.$text), 'utf8') : v));
      expect(await policy.enforce(e)).toBeTruthy();
      const ok = await Promise.all([apiEntityV1alpha1Validator, componentEntityV1alpha1Validator, systemEntityV1alpha1Validator, locationEntityV1alpha1Validator].map(v => v.check(e)));
      expect(ok.some(Boolean), `${e.kind} ${e.metadata.name}`).toBe(true);
    }
    const api = entities.find(e => e.kind === 'API')!;
    expect((api.spec as any).definition.$text).toBe('../openapi/berth.yaml');
  });

  const location = entities.find(e => e.kind === 'Location')!;
  const targets = (location.spec as any).targets as string[];

  it('every template is a valid Template v1beta3 and uses only actions Berth registers (or Backstage ships)', async () => {
    // publish:github comes with Backstage's scaffolder (its GitHub module).
    const actions = new Set([
      ...(await new BerthClient({ baseUrl: berth.url, token: async () => berth.serviceToken }).listActions()).map(a => a.id),
      'publish:github',
    ]);
    expect(targets.length).toBeGreaterThanOrEqual(4);
    for (const t of targets) {
      const template = load(readFileSync(join(catalogDir, t), 'utf8')) as Entity;
      expect(await policy.enforce(template)).toBeTruthy();
      expect(await templateEntityV1beta3Validator.check(template), t).toBe(true);
      for (const step of (template.spec as any).steps) expect(actions, `${t}: ${step.action}`).toContain(step.action);
    }
  });

  it("each blueprint's template asks the parameters Berth serves for it", async () => {
    const client = new BerthClient({ baseUrl: berth.url, token: async () => berth.serviceToken });
    const blueprints = (await client.call('GET', '/api/v1/blueprints', {})).body as { items: { name: string }[] };
    expect(blueprints.items.length).toBeGreaterThan(0);
    for (const bp of blueprints.items) {
      const file = `./templates/${bp.name}.yaml`;
      expect(targets, `no template for blueprint ${bp.name}`).toContain(file);
      const template = load(readFileSync(join(catalogDir, file), 'utf8')) as any;
      const served = (await client.call('GET', '/api/v1/blueprints/{name}', { name: bp.name })).body as any;
      const page = template.spec.parameters[1];
      expect(page.properties).toEqual(served.parametersSchema.properties);
      expect(page.required ?? []).toEqual(served.parametersSchema.required ?? []);
      expect(template.spec.steps[0].input.blueprint).toBe(bp.name);
      expect(Object.keys(template.spec.steps[0].input.parameters).sort()).toEqual(Object.keys(served.parametersSchema.properties).sort());
    }
  });
});
