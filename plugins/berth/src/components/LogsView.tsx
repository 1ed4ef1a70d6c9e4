import React, { useEffect, useRef, useState } from 'react';
import type { BerthClient, LogEvent } from '@berth-platform/backstage-plugin-berth-common';
import { Badge, State, logLines, muted } from './styles';
import { useBerth } from './useBerth';

/** Lines a card keeps; older ones scroll away. */
const keep = 2000;

type Shown = { n: number; text: string; kind: LogEvent['kind'] };

/** How the card shows one event of the stream. */
function lineOf(e: LogEvent): string {
  switch (e.kind) {
    case 'line':
      return `${e.pod}/${e.container} ${e.line}`;
    case 'gap':
      return `— ${e.dropped} lines dropped (this page read too slowly)`;
    case 'reconnecting':
      return '— connection lost; resuming where it was';
    default:
      return `— ${e.kind}${e.pod ? ` ${e.pod}` : ''}${e.container ? `/${e.container}` : ''}${e.restarts ? ` (restart ${e.restarts})` : ''}${e.message ? `: ${e.message}` : ''}`;
  }
}

/**
 * The service's logs, live: every pod of one environment (or one pod), filtered and searched on
 * the server, paused and resumed without losing lines, and downloaded. The stream resumes by
 * itself when the connection drops, from the last line it showed.
 */
export function LogsView(props: { client: BerthClient; team: string; service: string }) {
  const { client, team, service } = props;
  const detail = useBerth(signal => client.getService(team, service, { signal }), [client, team, service]);
  const envs = detail.loading || 'error' in detail ? [] : detail.value.environments.map(e => e.name);
  const [env, setEnv] = useState('');
  const environment = env || envs[0] || '';
  const [pod, setPod] = useState('');
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState({ search: '', regex: false });
  const [regex, setRegex] = useState(false);
  const [paused, setPaused] = useState(false);
  const [lines, setLines] = useState<Shown[]>([]);
  const [held, setHeld] = useState(0);
  const [problem, setProblem] = useState<Error | undefined>();
  const pausedRef = useRef(false);
  const buffer = useRef<Shown[]>([]);
  const counter = useRef(0);
  const flushRef = useRef<() => void>(() => undefined);
  const pods = useBerth(
    async signal => (environment ? (await client.getWorkloads(team, service, { signal })).environments.find(e => e.name === environment)?.pods.map(p => p.name) ?? [] : []),
    [client, team, service, environment],
  );

  useEffect(() => {
    if (!environment) return undefined;
    const ctl = new AbortController();
    setLines([]);
    setProblem(undefined);
    buffer.current = [];
    const flush = () => {
      const add = buffer.current;
      buffer.current = [];
      setHeld(0);
      if (add.length) setLines(prev => [...prev, ...add].slice(-keep));
    };
    const show = (e: LogEvent) => {
      buffer.current.push({ n: counter.current++, text: lineOf(e), kind: e.kind });
      if (!pausedRef.current) flush();
      else setHeld(buffer.current.length);
    };
    flushRef.current = flush;
    client
      .streamLogs(team, service, { environment, pod: pod || undefined, search: applied.search || undefined, regex: applied.regex || undefined, tail: 200 }, show, { signal: ctl.signal })
      .catch(err => !ctl.signal.aborted && setProblem(err instanceof Error ? err : new Error(String(err))));
    return () => ctl.abort();
  }, [client, team, service, environment, pod, applied]);

  const download = async () => {
    const blob = await client.downloadLogs(team, service, { environment, pod: pod || undefined, search: applied.search || undefined, regex: applied.regex || undefined });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${team}-${service}-${environment}-logs.txt`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  if (detail.loading || 'error' in detail) return <State loading={detail.loading} error={'error' in detail ? detail.error : undefined} />;
  return (
    <div data-testid="berth-logs">
      <form
        style={{ display: 'flex', gap: 8, flexWrap: 'wrap', alignItems: 'center', marginBottom: 8 }}
        onSubmit={e => {
          e.preventDefault();
          setApplied({ search, regex });
        }}
      >
        <select aria-label="environment" value={environment} onChange={e => setEnv(e.target.value)}>
          {envs.map(n => (
            <option key={n}>{n}</option>
          ))}
        </select>
        <select aria-label="pod" data-testid="berth-logs-pod" value={pod} onChange={e => setPod(e.target.value)}>
          <option value="">all pods</option>
          {(pods.loading || 'error' in pods ? [] : pods.value).map(p => (
            <option key={p}>{p}</option>
          ))}
        </select>
        <input aria-label="search" data-testid="berth-logs-search" placeholder="search" value={search} onChange={e => setSearch(e.target.value)} />
        <label style={muted}>
          <input type="checkbox" checked={regex} onChange={e => setRegex(e.target.checked)} /> regex
        </label>
        <button type="submit" data-testid="berth-logs-apply">
          Filter
        </button>
        <button
          type="button"
          data-testid="berth-logs-pause"
          onClick={() => {
            pausedRef.current = !paused;
            setPaused(!paused);
            if (paused) flushRef.current();
          }}
        >
          {paused ? `Resume${held ? ` (${held} new)` : ''}` : 'Pause'}
        </button>
        <button type="button" data-testid="berth-logs-download" onClick={() => download().catch(err => setProblem(err))}>
          Download
        </button>
        {paused ? <Badge kind="warn">paused</Badge> : <Badge kind="good">live</Badge>}
      </form>
      <State error={problem} />
      <pre style={{ ...logLines, maxHeight: 360 }} data-testid="berth-log-view">
        {lines.map(l => (
          <div key={l.n} data-testid={l.kind === 'line' ? 'berth-log-line' : 'berth-log-event'} style={l.kind === 'line' ? undefined : muted}>
            {l.text}
          </div>
        ))}
      </pre>
    </div>
  );
}
