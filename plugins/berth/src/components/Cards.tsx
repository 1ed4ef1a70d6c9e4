import React from 'react';
import { InfoCard } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { ANNOTATION_SERVICE, ANNOTATION_TEAM } from '@berth-platform/backstage-plugin-berth-common';
import { berthApiRef } from '../api';
import { ArgoView } from './ArgoView';
import { CostView } from './CostView';
import { EnvironmentsView } from './EnvironmentsView';
import { HealthView } from './HealthView';
import { KubernetesView } from './KubernetesView';
import { LogsView } from './LogsView';
import { ScheduleView } from './ScheduleView';
import { SignalsView } from './SignalsView';
import { ViolationsView } from './ViolationsView';

function useService() {
  const { entity } = useEntity();
  const a = entity.metadata.annotations ?? {};
  return { client: useApi(berthApiRef), team: a[ANNOTATION_TEAM], service: a[ANNOTATION_SERVICE] };
}

export function EnvironmentsCard() {
  const s = useService();
  return (
    <InfoCard title="Environments and runs" subheader="Berth">
      <EnvironmentsView {...s} />
    </InfoCard>
  );
}

export function ArgoCard() {
  const s = useService();
  return (
    <InfoCard title="Argo CD" subheader="Sync and health per environment">
      <ArgoView {...s} />
    </InfoCard>
  );
}

export function ViolationsCard() {
  const s = useService();
  return (
    <InfoCard title="Policy violations" subheader="Kyverno PolicyReports, via Berth">
      <ViolationsView {...s} />
    </InfoCard>
  );
}

export function HealthCard() {
  const s = useService();
  return (
    <InfoCard title="Health" subheader="Why it fails, with evidence and the fix">
      <HealthView {...s} />
    </InfoCard>
  );
}

export function KubernetesCard() {
  const s = useService();
  return (
    <InfoCard title="Kubernetes" subheader="Pods per environment, live">
      <KubernetesView {...s} />
    </InfoCard>
  );
}

export function LogsCard() {
  const s = useService();
  return (
    <InfoCard title="Logs" subheader="Every pod, live; searched on the server">
      <LogsView {...s} />
    </InfoCard>
  );
}

export function SignalsCard() {
  const s = useService();
  return (
    <InfoCard title="Golden signals" subheader="Latency, traffic, errors and saturation, from Prometheus">
      <SignalsView {...s} />
    </InfoCard>
  );
}

export function CostCard() {
  const s = useService();
  return (
    <InfoCard title="Cost" subheader="Per environment and day, budgets, and what to request">
      <CostView {...s} />
    </InfoCard>
  );
}

export function ScheduleCard() {
  const s = useService();
  return (
    <InfoCard title="Sleep schedule" subheader="When each environment sleeps, and wake it now">
      <ScheduleView {...s} />
    </InfoCard>
  );
}
