import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  componentEntityV1alpha1Validator,
  type Entity,
  EntityPolicies,
  FieldFormatEntityPolicy,
  groupEntityV1alpha1Validator,
  NoForeignRootFieldsEntityPolicy,
  resourceEntityV1alpha1Validator,
  SchemaValidEntityPolicy,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  DefaultNamespaceEntityPolicy,
} from '@backstage/catalog-model';
import { catalogProcessingExtensionPoint, type EntityProvider, type EntityProviderConnection, type EntityProviderMutation } from '@backstage/plugin-catalog-node';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from '../../testing/berth';
import { catalogModuleBerth } from './module';
import { BerthEntityProvider } from './provider';

let berth: RunningBerth;
beforeAll(async () => {
  berth = await startBerth();
  const jane = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/jane') });
  await jane.call('POST', '/api/v1/teams', { name: 'payments', displayName: 'Payments' });
  await jane.call('POST', '/api/v1/teams/{team}/members', { team: 'payments', kind: 'user', name: 'user:default/ola', role: 'editor' });
  await jane.call('POST', '/api/v1/teams/{team}/services', {
    team: 'payments', name: 'ledger', blueprint: 'nodejs-api', image: 'registry.example.com/payments/ledger', tag: '1.0.0',
    repo: 'https://github.com/acme/ledger', parameters: { database: true, public: true, host: 'ledger.apps.example.com' }, environments: ['dev', 'prod'],
  });
});
afterAll(async () => {
  await berth?.stop();
});

/** A connection that keeps every mutation, as the catalog would receive it. */
class RecordingConnection implements EntityProviderConnection {
  mutations: EntityProviderMutation[] = [];
  async applyMutation(m: EntityProviderMutation) {
    this.mutations.push(m);
  }
  async refresh() {}
  entities(): Entity[] {
    const last = this.mutations[this.mutations.length - 1];
    return last.type === 'full' ? last.entities.map(e => e.entity) : [];
  }
}

const kindValidators = [groupEntityV1alpha1Validator, userEntityV1alpha1Validator, systemEntityV1alpha1Validator, componentEntityV1alpha1Validator, resourceEntityV1alpha1Validator];
const policy = EntityPolicies.allOf([new DefaultNamespaceEntityPolicy(), new NoForeignRootFieldsEntityPolicy(), new FieldFormatEntityPolicy(), new SchemaValidEntityPolicy()]);

async function validate(e: Entity) {
  const checked = await policy.enforce(e);
  expect(checked, `${e.kind} ${e.metadata.name}`).toBeTruthy();
  const results = await Promise.all(kindValidators.map(v => v.check(e)));
  expect(results.some(Boolean), `no kind validator accepts ${e.kind} ${e.metadata.name}`).toBe(true);
}

const refOf = (e: Entity) => `${e.kind.toLowerCase()}:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`;

describe('BerthEntityProvider', () => {
  const client = () => new BerthClient({ baseUrl: berth.url, token: async () => berth.serviceToken });

  it('emits valid entities with correct relations and managed-by annotations', async () => {
    const provider = new BerthEntityProvider(client(), mockServices.logger.mock());
    const conn = new RecordingConnection();
    await provider.connect(conn);
    expect(await provider.refresh()).toMatchObject({ changed: true });
    const entities = conn.entities();
    for (const e of entities) {
      await validate(e);
      expect(e.metadata.annotations?.[ANNOTATION_LOCATION]).toBe(`url:${berth.url}/api/v1/catalog/entities`);
      expect(e.metadata.annotations?.[ANNOTATION_ORIGIN_LOCATION]).toBe(`url:${berth.url}/api/v1/catalog/entities`);
    }
    const refs = new Set(entities.map(refOf));
    const ledger = entities.find(e => e.kind === 'Component' && e.metadata.name === 'ledger')!;
    expect(ledger.spec).toMatchObject({ owner: 'group:default/payments', system: 'system:default/payments' });
    expect(ledger.metadata.annotations).toMatchObject({ 'berth.dev/team': 'payments', 'berth.dev/service': 'ledger' });
    // Every relation points at an entity the provider emits.
    for (const target of [ledger.spec!.owner, ledger.spec!.system, ...((ledger.spec!.dependsOn as string[]) ?? [])] as string[]) {
      expect(refs, `${target} is not emitted`).toContain(target.includes(':') ? target : `component:default/${target}`);
    }
    expect((ledger.spec!.dependsOn as string[]).some(d => d.startsWith('resource:'))).toBe(true);
    const group = entities.find(e => e.kind === 'Group' && e.metadata.name === 'payments')!;
    expect(group.spec).toMatchObject({ type: 'team' });
    const users = entities.filter(e => e.kind === 'User').map(e => e.metadata.name).sort();
    expect(users).toEqual(['jane', 'ola']);
    for (const u of entities.filter(e => e.kind === 'User')) expect(u.spec!.memberOf).toContain('group:default/payments');
  });

  it('does nothing while Berth has nothing new, and a full mutation when it has', async () => {
    const provider = new BerthEntityProvider(client(), mockServices.logger.mock());
    const conn = new RecordingConnection();
    await provider.connect(conn);
    await provider.refresh();
    expect(await provider.refresh()).toEqual({ changed: false, entities: 0 });
    expect(conn.mutations).toHaveLength(1);
    const before = conn.entities().length;
    await client().call('POST', '/api/v1/teams', { name: 'search' });
    expect(await provider.refresh()).toMatchObject({ changed: true });
    expect(conn.mutations).toHaveLength(2);
    expect(conn.mutations[1].type).toBe('full');
    expect(conn.entities().length).toBeGreaterThan(before);
    expect(conn.entities().map(refOf)).toContain('group:default/search');
  });

  it('keeps the last entities when Berth refuses, and tries in full again', async () => {
    const bad = new BerthEntityProvider(new BerthClient({ baseUrl: berth.url, token: async () => 'not-a-token' }), mockServices.logger.mock());
    const conn = new RecordingConnection();
    await bad.connect(conn);
    await expect(bad.refresh()).rejects.toMatchObject({ status: 401 });
    expect(conn.mutations).toHaveLength(0);
  });

  it('registers with the catalog from a Backstage backend', async () => {
    const providers: EntityProvider[] = [];
    const backend = await startTestBackend({
      extensionPoints: [[catalogProcessingExtensionPoint, { addEntityProvider: (...p: any[]) => providers.push(...p.flat()) }]],
      features: [catalogModuleBerth, mockServices.rootConfig.factory({ data: { berth: { baseUrl: berth.url, token: berth.serviceToken } } })],
    });
    await backend.stop();
    expect(providers).toHaveLength(1);
    expect(providers[0].getProviderName()).toBe(`berth:${new URL(berth.url).host}`);
  });
});
