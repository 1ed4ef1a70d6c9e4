import React, { useState } from 'react';
import type { BerthClient, CostReport, CostWindow, Rightsizing } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, Shown, State, cell, muted, table } from './styles';
import { useBerth } from './useBerth';

/** Money for people: cents where they count, three significant digits below a cent. */
/** What a change of requests saves a month, or what it costs more. */
const saving = (v: number) => (v >= 0 ? `saves ${money(v)}` : `costs ${money(-v)} more`);

export function money(v: number): string {
  if (v === 0) return '$0';
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  let digits = a.toPrecision(3);
  if (a >= 1) digits = a.toFixed(2);
  else if (a >= 0.01) digits = a.toFixed(3);
  return `${sign}$${digits}`;
}

const mib = (b: number) => `${Math.round(b / (1 << 20))} MiB`;
const millicores = (c: number) => `${Math.round(c * 1000)}m`;

/** Bars of the cost per day, scaled to the dearest day. */
function DayChart(props: { days: CostReport['days'] }) {
  const { days } = props;
  if (days.length === 0) return <span style={muted}>nothing counted yet</span>;
  const top = Math.max(...days.map(d => d.cost)) || 1;
  const w = Math.max(4, Math.floor(280 / days.length) - 2);
  return (
    <svg data-testid="berth-cost-chart" width={days.length * (w + 2)} height="60" viewBox={`0 0 ${days.length * (w + 2)} 60`} role="img" aria-label={`${days.length} days`}>
      {days.map((d, i) => {
        const h = Math.max(1, (d.cost / top) * 56);
        return (
          <rect key={d.day} x={i * (w + 2)} y={58 - h} width={w} height={h} fill="#1a73e8">
            <title>{`${d.day}: ${money(d.cost)}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}

const stateKind = { 'over-provisioned': 'warn', 'under-provisioned': 'bad', 'right-sized': 'good', 'no-usage': 'idle' } as const;

function RightsizingTable(props: { r: Rightsizing }) {
  const { r } = props;
  if (r.containers.length === 0) return <p style={muted}>no running pods to size</p>;
  return (
    <table style={table} data-testid="berth-rightsizing">
      <thead>
        <tr>
          <th style={cell}>Container</th>
          <th style={cell}>Used (p95 CPU, p99 memory)</th>
          <th style={cell}>Requests now → proposed</th>
          <th style={cell}>A month</th>
        </tr>
      </thead>
      <tbody>
        {r.containers.map(c => (
          <tr key={c.container} data-testid="berth-rightsizing-row" data-container={c.container} data-state={c.state}
            data-cpu={c.recommended.cpuRequest} data-memory={c.recommended.memoryRequest} data-savings={c.monthlySavings} data-used-cpu={c.usage.cpu}>
            <td style={cell}>
              {c.container} <span style={muted}>×{c.pods}</span>
            </td>
            <td style={cell}>
              {c.usage.cpu !== undefined ? millicores(c.usage.cpu) : '?'} · {c.usage.memory !== undefined ? mib(c.usage.memory) : '?'}
            </td>
            <td style={cell}>
              {millicores(c.current.cpuRequest)} → <strong>{millicores(c.recommended.cpuRequest)}</strong>, {mib(c.current.memoryRequest)} →{' '}
              <strong>{mib(c.recommended.memoryRequest)}</strong>
              {c.recommended.memoryLimit !== undefined && <div style={muted}>memory limit {mib(c.recommended.memoryLimit)}</div>}
            </td>
            <td style={cell}>
              <Badge kind={stateKind[c.state]}>{c.state}</Badge>{' '}
              {c.state === 'no-usage' ? null : saving(c.monthlySavings)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What the service costs per environment and day, its team's budgets, and each container's proposed size. */
export function CostView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const [window, setWindow] = useState<CostWindow>('month');
  const report = useBerth(signal => client.getServiceCosts(team, service, window, { signal }), [client, team, service, window]);
  // The budgets are the team's month, whatever the window: read once, not at every change of it.
  const month = useBerth(signal => client.getTeamCosts(team, 'month', { signal }), [client, team]);
  const budgets = month.loading || 'error' in month ? [] : (month.value.budgets ?? []);
  const envs = report.loading || 'error' in report ? [] : [...new Set(report.value.lines.map(l => l.environment))];
  const [env, setEnv] = useState('');
  const environment = env || envs[0] || '';
  const [hours, setHours] = useState(168);
  const sizing = useBerth<Rightsizing | undefined>(
    async signal => (environment ? client.getRightsizing(team, service, environment, hours, { signal }) : undefined),
    [client, team, service, environment, hours],
  );
  if (report.loading || 'error' in report) return <State loading={report.loading} error={'error' in report ? report.error : undefined} />;
  const r = report.value;
  return (
    <div data-testid="berth-cost" data-total={r.total}>
      <select aria-label="window" data-testid="berth-cost-window" value={window} onChange={e => setWindow(e.target.value as CostWindow)}>
        <option value="today">today</option>
        <option value="7d">7 days</option>
        <option value="month">month to date</option>
      </select>{' '}
      <strong data-testid="berth-cost-total">{money(r.total)}</strong> <span style={muted}>{r.currency}</span>
      <div>
        <DayChart days={r.days} />
      </div>
      <table style={table}>
        <thead>
          <tr>
            <th style={cell}>Environment</th>
            <th style={cell}>Core-hours</th>
            <th style={cell}>GiB-hours</th>
            <th style={cell}>Cost</th>
          </tr>
        </thead>
        <tbody>
          {r.lines.map(l => (
            <tr key={l.environment} data-testid="berth-cost-line" data-environment={l.environment} data-cost={l.cost} data-core-hours={l.coreHours}
              data-gib-hours={l.gibHours} data-pv-gib-hours={l.pvGibHours} data-lb-hours={l.loadBalancerHours}>
              <td style={cell}>
                {l.environment} <span style={muted}>{l.source}</span>
              </td>
              <td style={cell}>{l.coreHours.toPrecision(3)}</td>
              <td style={cell}>{l.gibHours.toPrecision(3)}</td>
              <td style={cell}>{money(l.cost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {budgets.filter(b => envs.includes(b.environment)).map(b => (
        <p key={b.environment} data-testid="berth-cost-budget" data-over={b.over}>
          Budget {b.environment}: {money(b.monthly)} a month; {money(b.monthToDate)} so far, {money(b.forecast)} forecast{' '}
          <Badge kind={b.over ? 'bad' : 'good'}>{b.over ? 'over budget' : 'within budget'}</Badge>
        </p>
      ))}
      <p style={muted}>
        at ${r.prices.cpuCoreHour} a core-hour, ${r.prices.ramGiBHour} a GiB-hour of memory, ${r.prices.pvGiBMonth} a GiB-month of volumes
      </p>
      <p>
        Requests sized from the usage of the last{' '}
        <select aria-label="usage window" data-testid="berth-rightsizing-window" value={hours} onChange={e => setHours(Number(e.target.value))}>
          <option value={1}>hour</option>
          <option value={24}>day</option>
          <option value={168}>week</option>
        </select>
        {envs.length > 1 && (
          <>
            {' in '}
            <select aria-label="environment" value={environment} onChange={e => setEnv(e.target.value)}>
              {envs.map(n => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </>
        )}
      </p>
      <Shown state={sizing}>{sized => <RightsizingTable r={sized} />}</Shown>
    </div>
  );
}
