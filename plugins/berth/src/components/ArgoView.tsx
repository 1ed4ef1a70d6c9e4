import React from 'react';
import type { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, State, cell, healthKind, muted, syncKind, table, when } from './styles';
import { serviceDetail } from './shared';
import { useBerth } from './useBerth';

/** Argo CD's sync and health per environment, with the last operation and its conditions. */
export function ArgoView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const s = useBerth(() => serviceDetail(client, team, service), [client, team, service]);
  if (s.loading || 'error' in s) return <State loading={s.loading} error={'error' in s ? s.error : undefined} />;
  return (
    <table style={table} data-testid="berth-argocd">
      <thead>
        <tr>
          <th style={cell}>Environment</th>
          <th style={cell}>Sync</th>
          <th style={cell}>Health</th>
          <th style={cell}>Last operation</th>
        </tr>
      </thead>
      <tbody>
        {s.value.environments.map(e => (
          <tr key={e.name}>
            <td style={cell}>
              {e.name}
              <div style={muted}>{e.application}</div>
            </td>
            <td style={cell}>
              <Badge kind={syncKind(e.sync)}>{e.sync || 'unknown'}</Badge>
            </td>
            <td style={cell}>
              <Badge kind={healthKind(e.health)}>{e.health || 'unknown'}</Badge>
            </td>
            <td style={cell}>
              {e.operationState ? (
                <>
                  {e.operationState.phase} by {e.operationState.initiatedBy ?? 'Argo CD'}
                  <div style={muted}>{when(e.operationState.finishedAt ?? e.operationState.startedAt)}</div>
                </>
              ) : (
                <span style={muted}>{e.message || 'none yet'}</span>
              )}
              {(e.conditions ?? []).map(c => (
                <div key={c.type + c.message} role="alert" style={muted}>
                  {c.type}: {c.message}
                </div>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
