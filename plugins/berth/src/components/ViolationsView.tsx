import React from 'react';
import type { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, State, cell, muted, table } from './styles';
import { useBerth } from './useBerth';

const severityKind = (s?: string) => {
  if (s === 'critical' || s === 'high') return 'bad';
  return s === 'medium' ? 'warn' : 'idle';
};

/** What Kyverno reports failing for the service, most severe first, with how to fix it. */
export function ViolationsView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const s = useBerth(signal => client.listViolations(team, { service, limit: 20 }, { signal }), [client, team, service]);
  if (s.loading || 'error' in s) return <State loading={s.loading} error={'error' in s ? s.error : undefined} />;
  const r = s.value;
  const incomplete = Object.entries(r.incomplete);
  return (
    <div data-testid="berth-violations">
      {r.total === 0 ? (
        <p>
          <Badge kind="good">no violations</Badge>
        </p>
      ) : (
        <p>
          {r.total} violation{r.total === 1 ? '' : 's'}:{' '}
          {r.byPolicy.map(p => (
            <span key={p.key} style={{ marginRight: 8 }}>
              <Badge kind={severityKind(p.severity)}>
                {p.title ?? p.key} × {p.count}
              </Badge>
            </span>
          ))}
        </p>
      )}
      {r.items.length > 0 && (
        <table style={table}>
          <tbody>
            {r.items.map(v => (
              <tr key={`${v.namespace}/${v.kind}/${v.name}/${v.policy}`} data-testid="berth-violation">
                <td style={cell}>
                  <Badge kind={severityKind(v.severity)}>{v.severity ?? v.result}</Badge>
                </td>
                <td style={cell}>
                  {v.kind} {v.name}
                  <div style={muted}>{v.environment}</div>
                </td>
                <td style={cell}>
                  {v.message}
                  {v.remediation && <div style={muted}>Fix: {v.remediation}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r.truncated && <p style={muted}>Showing the {r.items.length} most severe.</p>}
      {incomplete.map(([cluster, why]) => (
        <p key={cluster} style={muted}>
          Cluster {cluster}: {why}
        </p>
      ))}
    </div>
  );
}
