import type { BerthClient, ServiceDetail } from '@berth-platform/backstage-plugin-berth-common';

const inflight = new WeakMap<BerthClient, Map<string, Promise<unknown>>>();

/**
 * The cards of one entity page ask for the same service at the same moment: they share one
 * request. It carries no abort signal, since one card going away must not cancel another's
 * read; useBerth drops answers for cards that are gone.
 */
export function serviceDetail(client: BerthClient, team: string, service: string): Promise<ServiceDetail> {
  let byKey = inflight.get(client);
  if (!byKey) inflight.set(client, (byKey = new Map()));
  const key = `${team}/${service}`;
  let p = byKey.get(key) as Promise<ServiceDetail> | undefined;
  if (!p) {
    p = client.getService(team, service).finally(() => byKey!.delete(key));
    byKey.set(key, p);
  }
  return p;
}
