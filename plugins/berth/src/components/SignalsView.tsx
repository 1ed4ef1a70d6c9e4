import React, { useEffect, useState } from 'react';
import type { BerthClient, ServiceSignals, SignalName, SignalRange } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, Shown, State, muted } from './styles';
import { useBerth } from './useBerth';

const cellStyle: React.CSSProperties = { padding: '4px 8px', verticalAlign: 'middle' };

const titles: Record<SignalName, string> = {
  latencyP50: 'Latency p50',
  latencyP95: 'Latency p95',
  latencyP99: 'Latency p99',
  requestRate: 'Traffic',
  errorRatio: 'Errors',
  cpu: 'CPU',
  memory: 'Memory',
};

/** A value in its unit, for people. */
export function format(v: number, unit: string): string {
  switch (unit) {
    case 'seconds':
      return v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(2)} s`;
    case 'requests/s':
      return `${v.toFixed(v < 10 ? 2 : 0)} req/s`;
    case 'ratio':
      return `${(v * 100).toFixed(2)} %`;
    case 'cores':
      return `${v.toFixed(3)} cores`;
    case 'bytes':
      return `${(v / (1 << 20)).toFixed(0)} MiB`;
    default:
      return String(v);
  }
}

/** A line chart of a range, in SVG, scaled to its own maximum. */
function Chart(props: { range?: SignalRange }) {
  const pts = props.range?.points ?? [];
  if (pts.length < 2) return <span style={muted}>no history yet</span>;
  const t0 = Date.parse(pts[0].t);
  const t1 = Date.parse(pts[pts.length - 1].t);
  const top = Math.max(...pts.map(p => p.v)) || 1;
  const path = pts.map(p => `${(((Date.parse(p.t) - t0) / (t1 - t0 || 1)) * 200).toFixed(1)},${(38 - (p.v / top) * 36).toFixed(1)}`).join(' ');
  return (
    <svg data-testid="berth-signal-chart" width="200" height="40" viewBox="0 0 200 40" role="img" aria-label={`${pts.length} points`}>
      <polyline points={path} fill="none" stroke="#1a73e8" strokeWidth="1.5" />
    </svg>
  );
}

/** The four golden signals of the service in an environment, from Prometheus through Berth, with the last hour of each. */
export function SignalsView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const detail = useBerth(signal => client.getService(team, service, { signal }), [client, team, service]);
  const [env, setEnv] = useState('');
  const envs = detail.loading || 'error' in detail ? [] : detail.value.environments.map(e => e.name);
  const environment = env || envs[0] || '';
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick(n => n + 1), 30_000);
    return () => clearInterval(t);
  }, []);
  const now = useBerth<{ signals: ServiceSignals; ranges: Partial<Record<SignalName, SignalRange>> } | undefined>(
    async signal => {
      if (!environment) return undefined;
      const signals = await client.getSignals(team, service, environment, { signal });
      const ranges: Partial<Record<SignalName, SignalRange>> = {};
      await Promise.all(
        signals.signals
          .filter(s => !s.missing)
          .map(async s => {
            ranges[s.name] = await client.getSignalRange(team, service, s.name, environment, 3600, { signal });
          }),
      );
      return { signals, ranges };
    },
    [client, team, service, environment, tick],
  );
  if (detail.loading || 'error' in detail) return <State loading={detail.loading} error={'error' in detail ? detail.error : undefined} />;
  return (
    <div data-testid="berth-signals">
      <select aria-label="environment" value={environment} onChange={e => setEnv(e.target.value)}>
        {envs.map(n => (
          <option key={n}>{n}</option>
        ))}
      </select>
      <Shown state={now}>
        {v => (
        <table style={{ width: '100%', fontSize: 14 }}>
          <tbody>
            {v.signals.signals.map(s => {
              const use = ({ cpu: v.signals.cpu, memory: v.signals.memory } as Record<string, typeof v.signals.cpu | undefined>)[s.name];
              return (
                <tr key={s.name} data-testid="berth-signal" data-signal={s.name}>
                  <td style={cellStyle}>{titles[s.name]}</td>
                  <td style={cellStyle}>
                    {s.missing || s.value === undefined || s.value === null ? (
                      <Badge kind="idle">{s.problem ?? 'no data'}</Badge>
                    ) : (
                      <strong>{format(s.value, s.unit)}</strong>
                    )}
                    {use && (
                      <div style={muted}>
                        requested {format(use.requested, s.unit)}
                        {use.limit !== undefined ? ` · limit ${format(use.limit, s.unit)}` : ' · no limit'}
                      </div>
                    )}
                  </td>
                  <td style={cellStyle}>
                    <Chart range={v.ranges[s.name]} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        )}
      </Shown>
      {now.loading || 'error' in now || !now.value ? null : <p style={muted}>rates over {now.value.signals.window}</p>}
    </div>
  );
}
