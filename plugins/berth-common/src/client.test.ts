import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type RunningBerth } from '../../testing/berth';
import { BerthClient, BerthError } from './client';

let berth: RunningBerth;
beforeAll(async () => {
  berth = await startBerth();
});
afterAll(async () => {
  await berth?.stop();
});

describe('BerthClient against a real Berth', () => {
  it('reads the action definitions with their operations', async () => {
    const c = new BerthClient({ baseUrl: berth.url, token: async () => berth.serviceToken });
    const ids = (await c.listActions()).map(a => a.id);
    expect(ids).toContain('berth:team:create');
    expect(ids).toContain('berth:service:create');
  });

  it('calls operations as the user whose token it carries, with idempotency', async () => {
    const c = new BerthClient({ baseUrl: `${berth.url}/` });
    const token = berth.userToken('user:default/jane');
    const first = await c.call('POST', '/api/v1/teams', { name: 'client-team' }, { token, idempotencyKey: 'k-1' });
    expect(first.status).toBe(201);
    const again = await c.call('POST', '/api/v1/teams', { name: 'client-team' }, { token, idempotencyKey: 'k-1' });
    expect(again.body).toEqual(first.body);
    const team = await c.call('GET', '/api/v1/teams/{team}', { team: 'client-team' }, { token });
    expect((team.body as any).createdBy).toBe('user:default/jane');
  });

  it('throws BerthError with the problem naming the field', async () => {
    const c = new BerthClient({ baseUrl: berth.url, token: async () => berth.userToken('user:default/jane') });
    const err = await c.call('POST', '/api/v1/teams', { name: 'Not A Name' }).catch(e => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err.status).toBe(422);
    expect(err.message).toContain('/name');
    const anon = await new BerthClient({ baseUrl: berth.url }).listActions().catch(e => e);
    expect(anon.status).toBe(401);
  });

  it('resolves the base URL per call when given a function', async () => {
    const c = new BerthClient({ baseUrl: async () => berth.url, token: async () => berth.serviceToken });
    expect((await c.listActions()).length).toBeGreaterThan(3);
    expect(() => c.baseUrl).toThrow();
  });

  it('answers undefined for an unchanged catalog (304)', async () => {
    const c = new BerthClient({ baseUrl: berth.url, token: async () => berth.serviceToken });
    const first = await c.catalogEntities();
    expect(first?.etag).toBeTruthy();
    expect(await c.catalogEntities(first!.etag)).toBeUndefined();
  });
});
