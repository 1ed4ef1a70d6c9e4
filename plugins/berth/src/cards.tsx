import React from 'react';
import type { Entity } from '@backstage/catalog-model';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { ANNOTATION_SERVICE, ANNOTATION_TEAM } from '@berth-platform/backstage-plugin-berth-common';

/** Cards show on Components that Berth emitted (they carry the team and service annotations). */
export function isBerthService(e: Entity): boolean {
  const a = e.metadata.annotations ?? {};
  return e.kind.toLowerCase() === 'component' && Boolean(a[ANNOTATION_TEAM] && a[ANNOTATION_SERVICE]);
}

export const environmentsCard = EntityCardBlueprint.make({
  name: 'environments',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.EnvironmentsCard />),
  },
});

export const argoCard = EntityCardBlueprint.make({
  name: 'argocd',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.ArgoCard />),
  },
});

export const violationsCard = EntityCardBlueprint.make({
  name: 'policy-violations',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.ViolationsCard />),
  },
});

export const healthCard = EntityCardBlueprint.make({
  name: 'health',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.HealthCard />),
  },
});

export const kubernetesCard = EntityCardBlueprint.make({
  name: 'kubernetes',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.KubernetesCard />),
  },
});

export const logsCard = EntityCardBlueprint.make({
  name: 'logs',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.LogsCard />),
  },
});

export const signalsCard = EntityCardBlueprint.make({
  name: 'signals',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.SignalsCard />),
  },
});

export const costCard = EntityCardBlueprint.make({
  name: 'cost',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.CostCard />),
  },
});

export const scheduleCard = EntityCardBlueprint.make({
  name: 'schedule',
  params: {
    filter: isBerthService,
    loader: async () => import('./components/Cards').then(m => <m.ScheduleCard />),
  },
});
