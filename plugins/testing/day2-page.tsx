// The page the logs, signals, cost and schedule browser test opens: the card views, talking to Berth
// through /berth (the test server's stand-in for Backstage's proxy).
import React from 'react';
import { createRoot } from 'react-dom/client';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { Card } from './card';
import { CostView } from '../berth/src/components/CostView';
import { LogsView } from '../berth/src/components/LogsView';
import { ScheduleView } from '../berth/src/components/ScheduleView';
import { SignalsView } from '../berth/src/components/SignalsView';

const params = new URLSearchParams(location.search);
const team = params.get('team') ?? '';
const service = params.get('service') ?? '';
const client = new BerthClient({ baseUrl: `${location.origin}/berth` });

createRoot(document.getElementById('root')!).render(
  <div style={{ display: 'flex', flexWrap: 'wrap', background: '#f5f5f5', padding: 8 }}>
    <Card title="Logs" width={560}>
      <LogsView client={client} team={team} service={service} />
    </Card>
    <Card title="Golden signals" width={560}>
      <SignalsView client={client} team={team} service={service} />
    </Card>
    <Card title="Cost" width={560}>
      <CostView client={client} team={team} service={service} />
    </Card>
    <Card title="Sleep schedule" width={560}>
      <ScheduleView client={client} team={team} service={service} />
    </Card>
  </div>,
);
