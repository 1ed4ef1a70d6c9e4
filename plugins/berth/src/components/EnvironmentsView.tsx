import React from 'react';
import type { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, State, cell, muted, runKind, table, when } from './styles';
import { serviceDetail } from './shared';
import { useBerth } from './useBerth';

/** A service's environments (namespace, deployed revision) and its last provisioning runs. */
export function EnvironmentsView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const s = useBerth(() => serviceDetail(client, team, service), [client, team, service]);
  if (s.loading || 'error' in s) return <State loading={s.loading} error={'error' in s ? s.error : undefined} />;
  const d = s.value;
  return (
    <div data-testid="berth-environments">
      <p style={muted}>
        {d.service.blueprint} · {d.service.image}:{d.service.tag}
      </p>
      <table style={table}>
        <thead>
          <tr>
            <th style={cell}>Environment</th>
            <th style={cell}>Namespace</th>
            <th style={cell}>Revision</th>
          </tr>
        </thead>
        <tbody>
          {d.environments.map(e => (
            <tr key={e.name}>
              <td style={cell}>{e.name}</td>
              <td style={cell}>{e.namespace ?? ''}</td>
              <td style={cell}>{e.revision ? e.revision.slice(0, 7) : <span style={muted}>not deployed yet</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4 style={{ margin: '16px 0 4px' }}>Last runs</h4>
      {d.runs.length === 0 ? (
        <p style={muted}>No runs yet.</p>
      ) : (
        <table style={table}>
          <tbody>
            {d.runs.map(r => (
              <tr key={r.id} data-testid="berth-run">
                <td style={cell}>
                  <Badge kind={runKind(r.status)}>{r.status}</Badge>
                </td>
                <td style={cell}>{r.action}</td>
                <td style={cell}>
                  {r.requestedBy}
                  <div style={muted}>{when(r.createdAt)}</div>
                </td>
                <td style={cell}>{r.error ? <span role="alert">{r.error}</span> : (r.commit ?? '').slice(0, 7)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
