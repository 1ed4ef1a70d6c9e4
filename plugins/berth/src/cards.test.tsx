// @vitest-environment jsdom
import React from 'react';
import type { Entity } from '@backstage/catalog-model';
import { createExtensionTester, renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from '../../testing/berth';
import { berthApiRef } from './api';
import { argoCard, costCard, environmentsCard, healthCard, isBerthService, kubernetesCard, logsCard, scheduleCard, signalsCard, violationsCard } from './cards';

let berth: RunningBerth;
let client: BerthClient;
let entity: Entity;

// Berth without a cluster: services are committed to Git, Argo CD and Kyverno are absent.
beforeAll(async () => {
  berth = await startBerth();
  client = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/jane') });
  await client.call('POST', '/api/v1/teams', { name: 'payments' });
  await client.call('POST', '/api/v1/teams/{team}/services', {
    team: 'payments', name: 'fraud-api', blueprint: 'go-api', image: 'registry.example.com/payments/fraud-api', tag: '1.4.2', environments: ['dev', 'prod'],
  });
  const admin = new BerthClient({ baseUrl: berth.url, token: async () => berth.serviceToken });
  const got = await admin.catalogEntities();
  entity = got!.entities.find(e => e.kind === 'Component' && e.metadata.name === 'fraud-api') as Entity;
});
afterAll(async () => {
  await berth?.stop();
});
afterEach(cleanup);

type Card = typeof environmentsCard | typeof argoCard | typeof violationsCard | typeof healthCard | typeof kubernetesCard | typeof logsCard | typeof signalsCard | typeof costCard | typeof scheduleCard;

function renderCard(card: Card) {
  const tester = createExtensionTester(card as typeof environmentsCard);
  return renderInTestApp(<EntityProvider entity={entity}>{tester.reactElement()}</EntityProvider>, { apis: [[berthApiRef, client]] });
}

describe('entity cards against a real Berth', () => {
  it('show only on services Berth emitted', () => {
    expect(isBerthService(entity)).toBe(true);
    expect(isBerthService({ ...entity, kind: 'Resource' })).toBe(false);
    expect(isBerthService({ ...entity, metadata: { name: 'other', annotations: {} } })).toBe(false);
  });

  it('environments and runs: each environment, the last run and who asked', async () => {
    renderCard(environmentsCard);
    expect(await screen.findByText('Environments and runs')).toBeTruthy();
    await waitFor(() => expect(screen.getAllByTestId('berth-run').length).toBeGreaterThan(0), { timeout: 10_000 });
    expect(screen.getByText('dev')).toBeTruthy();
    expect(screen.getByText('prod')).toBeTruthy();
    expect(screen.getByText(/go-api · registry.example.com\/payments\/fraud-api:1.4.2/)).toBeTruthy();
    expect(screen.getAllByText('user:default/jane').length).toBeGreaterThan(0);
    expect(screen.getAllByText('create').length).toBeGreaterThan(0);
  });

  it('Argo CD: sync and health are unknown without Argo CD, per environment', async () => {
    renderCard(argoCard);
    const table = await screen.findByTestId('berth-argocd', {}, { timeout: 10_000 });
    expect(table.textContent).toContain('dev');
    expect(table.textContent).toContain('payments-fraud-api-dev');
    expect(screen.getAllByText('unknown').length).toBe(4);
  });

  it('the environments and Argo CD cards of one page share one read of the service', async () => {
    let reads = 0;
    const counting = new BerthClient({
      baseUrl: berth.url,
      token: async () => berth.userToken('user:default/jane'),
      fetch: (input: any, init?: any) => {
        if (String(input.url ?? input).includes('/services/fraud-api')) reads++;
        return globalThis.fetch(input, init);
      },
    });
    const page = (
      <EntityProvider entity={entity}>
        {createExtensionTester(environmentsCard).reactElement()}
        {createExtensionTester(argoCard).reactElement()}
      </EntityProvider>
    );
    renderInTestApp(page, { apis: [[berthApiRef, counting]] });
    await screen.findByTestId('berth-argocd', {}, { timeout: 10_000 });
    await screen.findByTestId('berth-environments', {}, { timeout: 10_000 });
    expect(reads).toBe(1);
  });

  it('health and Kubernetes: say why Berth cannot tell without a cluster', async () => {
    for (const card of [healthCard, kubernetesCard]) {
      renderCard(card);
      const alert = await screen.findByRole('alert', {}, { timeout: 10_000 });
      expect(alert.textContent).toMatch(/Berth: .*workloads need a cluster/);
      cleanup();
    }
  });

  it('logs, signals and cost: say what Berth lacks, a cluster or Prometheus', async () => {
    for (const [card, why] of [
      [logsCard, /Berth: .*logs need a cluster/],
      [signalsCard, /Berth: .*signals need a cluster/],
      [costCard, /Berth: .*costs need a cluster/],
    ] as const) {
      renderCard(card);
      const alert = await screen.findByRole('alert', {}, { timeout: 10_000 });
      expect(alert.textContent).toMatch(why);
      cleanup();
    }
  });

  it('policy violations: says why Berth cannot tell', async () => {
    renderCard(violationsCard);
    const alert = await screen.findByRole('alert', {}, { timeout: 10_000 });
    expect(alert.textContent).toMatch(/Berth: .*no policy reports/);
  });
  it('sleep schedule: each environment, what the schedule wants, wake now and back', async () => {
    // Awake only an hour on a day three days from now: the schedule wants dev asleep (without a
    // cluster Berth keeps the schedule but sleeps nothing, so dev stays awake).
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][(new Date().getUTCDay() + 3) % 7];
    const set = await client.call('PUT', '/api/v1/teams/{team}/environments/{environment}/schedule', {
      team: 'payments', environment: 'dev', timeZone: 'UTC', awake: [{ days: [day], from: '00:00', to: '01:00' }],
    });
    expect(set.status).toBe(200);
    renderCard(scheduleCard);
    const row = () => screen.getAllByTestId('berth-schedule').find(r => r.getAttribute('data-environment') === 'dev')!;
    await waitFor(() => expect(screen.getAllByTestId('berth-schedule')).toHaveLength(2), { timeout: 10_000 });
    expect(row().getAttribute('data-wanted')).toBe('asleep');
    expect(row().textContent).toContain(`awake ${day} 00:00–01:00 (UTC)`);
    expect(screen.getAllByTestId('berth-schedule').find(r => r.getAttribute('data-environment') === 'prod')!.getAttribute('data-state')).toBe('unscheduled');
    fireEvent.click(screen.getByTestId('berth-schedule-wake'));
    await waitFor(() => expect(row().getAttribute('data-wanted')).toBe('awake'), { timeout: 10_000 });
    expect(screen.getByTestId('berth-schedule-override').textContent).toMatch(/^awake until /);
    const held = await client.getSchedule('payments', 'dev');
    expect(held?.override?.state).toBe('awake');
    expect(Date.parse(held!.override!.until!) - Date.now()).toBeGreaterThan(119 * 60_000);
    fireEvent.click(screen.getByTestId('berth-schedule-resume'));
    await waitFor(() => expect(row().getAttribute('data-wanted')).toBe('asleep'), { timeout: 10_000 });
    expect(screen.queryByTestId('berth-schedule-override')).toBeNull();
    expect((await client.getSchedule('payments', 'prod'))).toBeUndefined();
  });
});
