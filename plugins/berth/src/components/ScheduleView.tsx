import React, { useEffect, useState } from 'react';
import type { BerthClient, EnvironmentSchedule } from '@berth-platform/backstage-plugin-berth-common';
import { money } from './CostView';
import { Badge, State, cell, muted, table } from './styles';
import { useBerth } from './useBerth';

const when = (t: string) => new Date(t).toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit', month: 'short', day: 'numeric' });

const stateKind = { awake: 'good', asleep: 'idle', sleeping: 'warn', waking: 'warn' } as const;

function Row(props: { client: BerthClient; team: string; environment: string; schedule?: EnvironmentSchedule; onChange: () => void }) {
  const { client, team, environment, schedule: s, onChange } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const act = (f: () => Promise<unknown>) => async () => {
    setBusy(true);
    setError(undefined);
    try {
      await f();
      onChange();
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(false);
    }
  };
  if (!s) {
    return (
      <tr data-testid="berth-schedule" data-environment={environment} data-state="unscheduled">
        <td style={cell}>{environment}</td>
        <td style={cell} colSpan={2}>
          <span style={muted}>no schedule: always awake</span>
        </td>
      </tr>
    );
  }
  const windows = s.schedule.awake.map(w => `${w.days.join(' ')} ${w.from}–${w.to}`).join('; ');
  return (
    <tr data-testid="berth-schedule" data-environment={environment} data-state={s.state} data-wanted={s.wanted}>
      <td style={cell}>{environment}</td>
      <td style={cell}>
        <Badge kind={stateKind[s.state]}>{s.state}</Badge>
        {s.wanted !== s.state && (s.state === 'awake' || s.state === 'asleep') ? <span style={muted}> · the schedule wants it {s.wanted}</span> : null}
        {s.override ? (
          <div data-testid="berth-schedule-override">
            {s.override.state} until {s.override.until ? when(s.override.until) : '?'}
          </div>
        ) : null}
        {s.next ? (
          <div style={muted}>
            {s.next.state === 'awake' ? 'wakes' : 'sleeps'} {when(s.next.at)}
          </div>
        ) : null}
        <div style={muted}>
          awake {windows || 'never'} ({s.schedule.timeZone})
        </div>
        {s.lastTransition ? (
          <div style={muted}>
            last {s.lastTransition.state === 'asleep' ? 'slept' : 'woke'} {when(s.lastTransition.at)}: {s.lastTransition.changed.length} changed
            {s.lastTransition.left.length ? `, ${s.lastTransition.left.length} left as a person changed them` : ''}
          </div>
        ) : null}
        {s.savings ? (
          <div data-testid="berth-schedule-savings" data-per-hour={s.savings.perHour} data-asleep-hours={s.savings.asleepHours} data-next-30-days={s.savings.next30Days}>
            saves about {money(s.savings.next30Days)} in the next 30 days
            <span style={muted}>
              {' '}
              ({Math.round(s.savings.asleepHours)} h asleep at {money(s.savings.perHour)} an hour)
            </span>
          </div>
        ) : (
          <div style={muted}>savings are known after its first sleep</div>
        )}
        {s.problem ? <div role="alert">{s.problem}</div> : null}
        {error ? <div role="alert">Berth: {error.message}</div> : null}
      </td>
      <td style={cell}>
        {s.override ? (
          <button data-testid="berth-schedule-resume" disabled={busy} onClick={act(() => client.clearScheduleOverride(team, environment))}>
            Back to the schedule
          </button>
        ) : null}
        {!s.override && s.wanted === 'asleep' ? (
          <button data-testid="berth-schedule-wake" disabled={busy} onClick={act(() => client.overrideSchedule(team, environment, 'awake', 2))}>
            Wake for 2 hours
          </button>
        ) : null}
        {!s.override && s.wanted !== 'asleep' ? (
          <button data-testid="berth-schedule-sleep" disabled={busy} onClick={act(() => client.overrideSchedule(team, environment, 'asleep', 12))}>
            Sleep for 12 hours
          </button>
        ) : null}
      </td>
    </tr>
  );
}

/** Each environment of the service: its sleep schedule, what it is, its next change, and wake or sleep now. */
export function ScheduleView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const [tick, setTick] = useState(0);
  const state = useBerth(
    async signal => {
      const detail = await client.getService(team, service, { signal });
      const envs = detail.environments.map(e => e.name);
      const schedules = await Promise.all(envs.map(e => client.getSchedule(team, e, { signal })));
      return envs.map((e, i) => ({ environment: e, schedule: schedules[i] }));
    },
    [client, team, service, tick],
  );
  // While Berth is bringing an environment to what its schedule wants, look again shortly.
  const moving = !state.loading && !('error' in state) && state.value.some(r => r.schedule && r.schedule.state !== r.schedule.wanted);
  useEffect(() => {
    if (!moving) return undefined;
    const t = setTimeout(() => setTick(n => n + 1), 3000);
    return () => clearTimeout(t);
  }, [moving, state]);
  if (state.loading || 'error' in state) return <State loading={state.loading} error={'error' in state ? state.error : undefined} />;
  return (
    <table style={table} data-testid="berth-schedules">
      <tbody>
        {state.value.map(r => (
          <Row key={r.environment} client={client} team={team} environment={r.environment} schedule={r.schedule} onChange={() => setTick(n => n + 1)} />
        ))}
      </tbody>
    </table>
  );
}
