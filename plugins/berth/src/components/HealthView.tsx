import React from 'react';
import type { BerthClient } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, State, cell, logLines, muted, table, when } from './styles';
import { useBerth } from './useBerth';

/** What Berth found in one environment, in a word. */
function Verdict(props: { synced: boolean; findings: { severity: string }[] }) {
  const { synced, findings } = props;
  if (!synced) return <Badge kind="idle">not known yet</Badge>;
  if (findings.length === 0) return <Badge kind="good">nothing wrong found</Badge>;
  return (
    <Badge kind={findings.some(f => f.severity === 'error') ? 'bad' : 'warn'}>
      {findings.length} finding{findings.length === 1 ? '' : 's'}
    </Badge>
  );
}

/** Why the service is failing, per environment: each finding in plain words, its evidence and the fix. */
export function HealthView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const s = useBerth(signal => client.diagnose(team, service, { signal }), [client, team, service]);
  if (s.loading || 'error' in s) return <State loading={s.loading} error={'error' in s ? s.error : undefined} />;
  return (
    <div data-testid="berth-health">
      {s.value.environments.map(e => (
        <div key={e.name}>
          <p>
            <strong>{e.name}</strong> <span style={muted}>{e.namespace}</span>{' '}
            <Verdict synced={e.synced} findings={e.findings} />
          </p>
          {e.findings.length > 0 && (
            <table style={table}>
              <tbody>
                {e.findings.map(f => (
                  <tr key={`${f.code}/${f.resource.kind}/${f.resource.name}/${f.resource.container ?? ''}`} data-testid="berth-finding">
                    <td style={cell}>
                      <Badge kind={f.severity === 'error' ? 'bad' : 'warn'}>{f.code}</Badge>
                    </td>
                    <td style={cell}>
                      {f.summary}
                      <div style={muted}>
                        {f.resource.kind} {f.resource.name}
                        {f.resource.container ? ` · container ${f.resource.container}` : ''}
                        {f.lastSeen ? ` · last seen ${when(f.lastSeen)}` : ''}
                      </div>
                      {f.evidence.map((ev, i) => (
                        <div key={i} style={muted}>
                          {ev.source} {ev.field}: {ev.value}
                          {ev.reason ? ` (${ev.reason})` : ''}
                          {ev.count && ev.count > 1 ? ` ×${ev.count}` : ''}
                          {ev.lines?.length ? (
                            <pre data-testid="berth-log-lines" style={logLines}>
                              {ev.lines.join('\n')}
                            </pre>
                          ) : null}
                        </div>
                      ))}
                      <div>Fix: {f.recommendation}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {e.resolved?.length ? (
            <div data-testid="berth-resolved" style={{ ...muted, marginTop: 8 }}>
              Resolved in the last 24 hours:
              {e.resolved.map(r => (
                <div key={`${r.code}/${r.resource.kind}/${r.resource.name}/${r.resource.container ?? ''}/${r.resolvedAt}`}>
                  <Badge kind="idle">{r.code}</Badge> {r.resource.kind} {r.resource.name}
                  {r.resource.container ? ` · container ${r.resource.container}` : ''} · {when(r.firstSeen)} to {when(r.resolvedAt)}: {r.summary}
                </div>
              ))}
            </div>
          ) : null}
        </div>
      ))}
    </div>
  );
}
