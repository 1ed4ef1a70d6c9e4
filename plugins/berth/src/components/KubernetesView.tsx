import React from 'react';
import type { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, State, cell, muted, table, when } from './styles';
import { useBerth } from './useBerth';

const phaseKind = (phase: string, ready: boolean) => {
  if (ready) return 'good';
  return phase === 'Failed' ? 'bad' : 'warn';
};

/** The service's pods per environment, live from Berth's informers: phase, readiness, restarts and each container's state. */
export function KubernetesView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const s = useBerth(signal => client.getWorkloads(team, service, { signal }), [client, team, service]);
  if (s.loading || 'error' in s) return <State loading={s.loading} error={'error' in s ? s.error : undefined} />;
  return (
    <div data-testid="berth-kubernetes">
      {s.value.environments.map(e => (
        <div key={e.name}>
          <p>
            <strong>{e.name}</strong> <span style={muted}>{e.namespace}</span>{' '}
            {e.deployment && (
              <span style={muted}>
                revision {e.deployment.revision} · {e.deployment.readyReplicas}/{e.deployment.replicas} ready
              </span>
            )}
            {e.hpa && (
              <span style={muted}>
                {' '}
                · autoscaler {e.hpa.current} ({e.hpa.min}–{e.hpa.max})
              </span>
            )}
            {!e.synced && <Badge kind="idle">not known yet</Badge>}
          </p>
          <table style={table}>
            <tbody>
              {e.pods.map(p => (
                <tr key={p.name} data-testid="berth-pod">
                  <td style={cell}>
                    <Badge kind={phaseKind(p.phase, p.ready)}>{p.ready ? 'Ready' : p.phase}</Badge>
                  </td>
                  <td style={cell}>
                    {p.name}
                    <div style={muted}>
                      {p.node ?? 'not scheduled'} · {p.restarts} restarts · since {when(p.createdAt)}
                    </div>
                    {p.containers.map(c => (
                      <div key={c.name} style={muted}>
                        {c.init ? 'init ' : ''}
                        {c.name}: {c.state}
                        {c.reason ? ` (${c.reason})` : ''}
                        {c.lastReason ? ` · last ${c.lastReason} exit ${c.lastExitCode}` : ''}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}
