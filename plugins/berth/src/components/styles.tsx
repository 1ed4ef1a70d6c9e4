import React from 'react';
import type { Loaded } from './useBerth';

const tone: Record<string, string> = {
  good: '#1b7f3b',
  warn: '#a15c00',
  bad: '#b3261e',
  idle: '#5f6368',
};

/** A status word with its colour: good, warn, bad or idle. */
export function Badge(props: { kind: keyof typeof tone; children: React.ReactNode }) {
  return (
    <span
      data-kind={props.kind}
      style={{ color: tone[props.kind], border: `1px solid ${tone[props.kind]}`, borderRadius: 10, padding: '0 8px', fontSize: 12, whiteSpace: 'nowrap' }}
    >
      {props.children}
    </span>
  );
}

export const table: React.CSSProperties = { width: '100%', borderCollapse: 'collapse', fontSize: 14 };
export const cell: React.CSSProperties = { textAlign: 'left', padding: '6px 8px', borderBottom: '1px solid #e0e0e0', verticalAlign: 'top' };
export const muted: React.CSSProperties = { color: '#5f6368', fontSize: 12 };
export const logLines: React.CSSProperties = {
  margin: '4px 0',
  padding: '4px 8px',
  background: '#f6f8fa',
  fontSize: 12,
  whiteSpace: 'pre-wrap',
  wordBreak: 'break-all',
  maxHeight: 240,
  overflow: 'auto',
};

/** What a card shows while loading or when Berth refused. */
export function State(props: { loading?: boolean; error?: Error }) {
  if (props.loading) return <p style={muted}>Loading from Berth…</p>;
  if (props.error) return <p role="alert" style={{ color: tone.bad }}>Berth: {props.error.message}</p>;
  return null;
}

/** A read's value drawn by children once it is there (nothing for none), or its State. */
export function Shown<T>(props: { state: Loaded<T>; children: (value: NonNullable<T>) => React.ReactNode }) {
  const s = props.state;
  if (s.loading || 'error' in s) return <State loading={s.loading} error={'error' in s ? s.error : undefined} />;
  return s.value === undefined || s.value === null ? null : <>{props.children(s.value as NonNullable<T>)}</>;
}

export function syncKind(s?: string): keyof typeof tone {
  if (s === 'Synced') return 'good';
  if (s === 'OutOfSync') return 'warn';
  return s ? 'bad' : 'idle';
}

export function healthKind(h?: string): keyof typeof tone {
  switch (h) {
    case 'Healthy':
      return 'good';
    case 'Progressing':
    case 'Suspended':
      return 'warn';
    case undefined:
    case '':
    case 'Missing':
      return 'idle';
    default:
      return 'bad';
  }
}

export function runKind(s: string): keyof typeof tone {
  if (s === 'succeeded') return 'good';
  return s === 'failed' ? 'bad' : 'warn';
}

export function when(t?: string): string {
  return t ? new Date(t).toLocaleString() : '';
}
