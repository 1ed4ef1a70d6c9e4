import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from '../../testing/berth';
import { runTemplate } from '../../testing/template';
import { loadDefinitions } from './actions';
import { scaffolderModuleBerth } from './module';

let berth: RunningBerth;
let actions: TemplateAction<any, any, any>[];

// The module, started in a Backstage test backend, registers what Berth serves.
beforeAll(async () => {
  berth = await startBerth({ platformAdmins: ['user:default/root'] });
  const registered: TemplateAction<any, any, any>[] = [];
  const backend = await startTestBackend({
    extensionPoints: [[scaffolderActionsExtensionPoint, { addActions: (...a: TemplateAction<any, any, any>[]) => registered.push(...a) }]],
    features: [scaffolderModuleBerth, mockServices.rootConfig.factory({ data: { berth: { baseUrl: berth.url, token: berth.serviceToken } } })],
  });
  await backend.stop();
  actions = registered;
});
afterAll(async () => {
  await berth?.stop();
});

const admin = () => new BerthClient({ baseUrl: berth.url, token: async () => berth.serviceToken });
const action = (id: string) => {
  const a = actions.find(x => x.id === id);
  if (!a) throw new Error(`${id} is not registered`);
  return a;
};

describe('scaffolder module', () => {
  it('registers every action Berth describes, with its schemas and dry-run support', async () => {
    const defs = await admin().listActions();
    expect(actions.map(a => a.id).sort()).toEqual(defs.map(d => d.id).sort());
    const team = action('berth:team:create');
    expect(team.supportsDryRun).toBe(true);
    expect((team.schema?.input as any).required).toEqual(['name']);
    expect((team.schema?.input as any).properties.name.pattern).toBe('^[a-z]([-a-z0-9]*[a-z0-9])?$');
    expect(action('berth:policy:set').supportsDryRun).toBe(false);
  });

  it('gives up at once when Berth refuses its token, and retries while Berth is away', async () => {
    const refused = new BerthClient({ baseUrl: berth.url, token: async () => 'not-a-token' });
    const quiet = mockServices.logger.mock();
    await expect(loadDefinitions(refused, quiet, 5, 1000)).rejects.toThrow(/cannot read Berth's scaffolder actions/);
    expect(quiet.warn).not.toHaveBeenCalled();
    const away = new BerthClient({ baseUrl: 'http://127.0.0.1:9', token: async () => berth.serviceToken });
    const patient = mockServices.logger.mock();
    await expect(loadDefinitions(away, patient, 3, 10)).rejects.toThrow(/cannot read/);
    expect(patient.warn).toHaveBeenCalledTimes(2);
  });

  it('creates a team as the user running the template, once however often the step is retried', async () => {
    const jane = berth.userToken('user:default/jane');
    const outputs: Record<string, unknown> = {};
    const ctx = createMockActionContext({ input: { name: 'orders', displayName: 'Orders' }, secrets: { backstageToken: jane }, task: { id: 'task-1' } as any });
    ctx.output = ((k: string, v: unknown) => (outputs[k] = v)) as any;
    await action('berth:team:create').handler(ctx as any);
    expect(outputs.name).toBe('orders');
    expect(outputs.id).toBeTruthy();
    // The scaffolder retries a step after a crash: the same task and step replay Berth's answer.
    const again = createMockActionContext({ input: { name: 'orders', displayName: 'Orders' }, secrets: { backstageToken: jane }, task: { id: 'task-1' } as any });
    const replayed: Record<string, unknown> = {};
    again.output = ((k: string, v: unknown) => (replayed[k] = v)) as any;
    await action('berth:team:create').handler(again as any);
    expect(replayed.id).toBe(outputs.id);
    const team = await admin().call('GET', '/api/v1/teams/{team}', { team: 'orders' });
    expect((team.body as any).createdBy).toBe('user:default/jane');
  });

  it('refuses to act without the user, and reports Berth’s refusal with the field', async () => {
    const noUser = createMockActionContext({ input: { name: 'nobody' } });
    await expect(action('berth:team:create').handler(noUser as any)).rejects.toThrow(/no Backstage token/);
    const bad = createMockActionContext({ input: { name: 'x' }, secrets: { backstageToken: berth.userToken('user:default/jane') }, task: { id: 'task-2' } as any });
    await expect(action('berth:team:create').handler(bad as any)).rejects.toThrow(/\/name/);
    // Only platform admins toggle policies: Berth says so to the person.
    const toggle = createMockActionContext({
      input: { policy: 'require-limits', mode: 'audit' },
      secrets: { backstageToken: berth.userToken('user:default/jane') },
    });
    await expect(action('berth:policy:set').handler(toggle as any)).rejects.toThrow(/403|platform admin|Forbidden/i);
  });

  it('changes nothing in a dry run, and lets Berth check where it can', async () => {
    const jane = berth.userToken('user:default/jane');
    const ctx = { ...createMockActionContext({ input: { name: 'dry' }, secrets: { backstageToken: jane } }), isDryRun: true };
    await action('berth:team:create').handler(ctx as any);
    await expect(admin().call('GET', '/api/v1/teams/{team}', { team: 'dry' })).rejects.toMatchObject({ status: 404 });

    // berth:service:create has Berth's dry run: the policy preflight speaks before any commit.
    expect(action('berth:service:create').supportsDryRun).toBe(true);
    const svc = { team: 'orders', name: 'cart', blueprint: 'go-api', image: 'registry.example.com/orders/cart', environments: ['dev'] };
    const latest = { ...createMockActionContext({ input: { ...svc, tag: 'latest' }, secrets: { backstageToken: jane } }), isDryRun: true };
    await expect(action('berth:service:create').handler(latest as any)).rejects.toThrow(/dry run.*disallow-latest-tag.*Fix:/);
    const outputs: Record<string, unknown> = {};
    const ok = { ...createMockActionContext({ input: { ...svc, tag: '1.0.0' }, secrets: { backstageToken: jane } }), isDryRun: true };
    ok.output = ((k: string, v: unknown) => (outputs[k] = v)) as any;
    await action('berth:service:create').handler(ok as any);
    await expect(admin().getService('orders', 'cart')).rejects.toMatchObject({ status: 404 });
  });

  // Every action's documented example, run through the registered handler as a platform
  // admin (the policy actions need one), does what it says in Berth.
  it('runs every documented example through the registered handler', async () => {
    // The team comes first (the others use it), and a schedule before its override.
    const rank = (id: string) => ({ 'berth:team:create': -2, 'berth:environment:schedule': -1 })[id] ?? 0;
    const defs = (await admin().listActions()).sort((a, b) => rank(a.id) - rank(b.id));
    const root = berth.userToken('user:default/root');
    for (const def of defs) {
      for (const ex of def.examples) {
        // Examples may show the steps around the action (publish:github): run only its own.
        for (const step of (load(ex.example) as any).steps.filter((s: any) => s.action === def.id)) {
          const outputs: Record<string, unknown> = {};
          const ctx = createMockActionContext({ input: step.input, secrets: { backstageToken: root }, task: { id: `examples-${def.id}` } as any });
          ctx.output = ((k: string, v: unknown) => (outputs[k] = v)) as any;
          await action(def.id).handler(ctx as any);
          for (const k of ((def.output as any).required ?? []) as string[]) expect(outputs, `${def.id}: output ${k}`).toHaveProperty(k);
        }
      }
    }
    const payments = admin();
    expect(((await payments.call('GET', '/api/v1/teams/{team}/environments', { team: 'payments' })).body as any).items.map((e: any) => e.name)).toContain('qa');
    const members = ((await payments.call('GET', '/api/v1/teams/{team}/members', { team: 'payments' })).body as any).items;
    expect(members.some((m: any) => m.name === 'group:default/payments' && m.role === 'editor')).toBe(true);
    expect((await payments.getService('payments', 'fraud-api')).service.blueprint).toBe('nodejs-api');
    const policies = ((await payments.call('GET', '/api/v1/teams/{team}/policies', { team: 'payments' })).body as any).items;
    expect(policies.find((p: any) => p.name === 'restrict-image-registries')).toMatchObject({ mode: 'audit', source: 'team' });
    const schedule = (await payments.call('GET', '/api/v1/teams/{team}/environments/{environment}/schedule', { team: 'payments', environment: 'dev' })).body as any;
    expect(schedule.schedule.timeZone).toBe('Europe/Berlin');
    expect(schedule.override).toMatchObject({ state: 'awake' });
  });

  it('runs the onboarding and a blueprint template end to end', async () => {
    const root = join(__dirname, '..', '..', '..', 'catalog', 'templates');
    const secrets = { backstageToken: berth.userToken('user:default/maria') };
    const team = await runTemplate(load(readFileSync(join(root, 'team.yaml'), 'utf8')), { name: 'checkout', description: 'Carts and payments' }, actions, secrets);
    expect(team.outputs.team.name).toBe('checkout');
    const svc = await runTemplate(
      load(readFileSync(join(root, 'go-api.yaml'), 'utf8')),
      { owner: 'group:default/checkout', name: 'cart-api', image: 'registry.example.com/checkout/cart-api', tag: '1.2.0', environments: ['dev'], replicas: 2, public: false },
      actions,
      secrets,
    );
    expect(svc.outputs.service.status).toBeTruthy();
    expect(JSON.stringify(svc.output)).toContain('component:checkout/cart-api');
    const detail = await admin().getService('checkout', 'cart-api');
    expect(detail.service.blueprint).toBe('go-api');
    expect(detail.service.parameters).toMatchObject({ replicas: 2 });
    expect(detail.runs[0].requestedBy).toBe('user:default/maria');
    // The workspace holds what the repository starts with; no repository was picked, so
    // nothing was published.
    const ws = (p: string) => readFileSync(join(svc.workspace, p), 'utf8');
    expect(ws('Dockerfile')).toMatch(/^FROM golang:.* AS build$/m);
    const ci = load(ws('.github/workflows/berth.yaml')) as any;
    expect(ci.jobs.release.env).toMatchObject({ BERTH_TEAM: 'checkout', BERTH_SERVICE: 'cart-api' });
    expect(ci.jobs.release.permissions).toEqual({});
    expect(ws('.github/workflows/berth.yaml')).not.toContain('GITOPS_TOKEN');
    const component = load(ws('catalog-info.yaml')) as any;
    expect(component).toMatchObject({ kind: 'Component', metadata: { name: 'cart-api', namespace: 'checkout' } });
    expect(component.metadata.annotations['backstage.io/kubernetes-id']).toBe('checkout-cart-api');
    expect(svc.outputs.publish).toBeUndefined();
  });

  it('writes workspace files only inside the workspace, and in a dry run too', async () => {
    const maria = berth.userToken('user:default/maria');
    const input = { team: 'checkout', name: 'basket', blueprint: 'worker', image: 'registry.example.com/checkout/basket', tag: '1.0.0', targetPath: 'app' };
    const ctx = createMockActionContext({ input, secrets: { backstageToken: maria }, task: { id: 'task-files' } as any });
    (ctx as any).isDryRun = true;
    await action('berth:service:app-files').handler(ctx as any);
    expect(readFileSync(join(ctx.workspacePath, 'app', 'Dockerfile'), 'utf8')).toContain('FROM node:');
    // Nothing was created in Berth by rendering the files.
    await expect(admin().getService('checkout', 'basket')).rejects.toMatchObject({ status: 404 });
    const escape = createMockActionContext({ input: { ...input, targetPath: '../outside' }, secrets: { backstageToken: maria }, task: { id: 'task-esc' } as any });
    await expect(action('berth:service:app-files').handler(escape as any)).rejects.toThrow(/outside of the base path|Relative path is not allowed/);
  });
});
