// A page of the app's frontend: Berth's cards from the installed frontend plugin (its dist, as
// published), talking to Berth through /berth (the test server's stand-in for Backstage's proxy).
import React from 'react';
import { createRoot } from 'react-dom/client';
import { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { EnvironmentsView, ScheduleView } from '@berth-platform/backstage-plugin-berth';

const params = new URLSearchParams(location.search);
const team = params.get('team') ?? '';
const service = params.get('service') ?? '';
const client = new BerthClient({ baseUrl: `${location.origin}/berth` });

createRoot(document.getElementById('root')).render(
  <div>
    <section data-testid="card-environments">
      <EnvironmentsView client={client} team={team} service={service} />
    </section>
    <section data-testid="card-schedule">
      <ScheduleView client={client} team={team} service={service} />
    </section>
  </div>,
);
