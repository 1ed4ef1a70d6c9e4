// The page the browser test opens: the card views, side by side as on an entity
// page, talking to Berth through /berth (the test server's stand-in for Backstage's proxy).
import React from 'react';
import { createRoot } from 'react-dom/client';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { Card } from './card';
import { ArgoView } from '../berth/src/components/ArgoView';
import { EnvironmentsView } from '../berth/src/components/EnvironmentsView';
import { HealthView } from '../berth/src/components/HealthView';
import { KubernetesView } from '../berth/src/components/KubernetesView';
import { ViolationsView } from '../berth/src/components/ViolationsView';

const params = new URLSearchParams(location.search);
const team = params.get('team') ?? '';
const service = params.get('service') ?? '';
const client = new BerthClient({ baseUrl: `${location.origin}/berth` });

createRoot(document.getElementById('root')!).render(
  <div style={{ display: 'flex', flexWrap: 'wrap', background: '#f5f5f5', padding: 8 }}>
    <Card title="Environments and runs">
      <EnvironmentsView client={client} team={team} service={service} />
    </Card>
    <Card title="Argo CD">
      <ArgoView client={client} team={team} service={service} />
    </Card>
    <Card title="Policy violations">
      <ViolationsView client={client} team={team} service={service} />
    </Card>
    <Card title="Kubernetes">
      <KubernetesView client={client} team={team} service={service} />
    </Card>
    <Card title="Health">
      <HealthView client={client} team={team} service={service} />
    </Card>
  </div>,
);
