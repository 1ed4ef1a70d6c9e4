/**
 * Reading Berth's log streams: server-sent events over fetch (EventSource cannot send the
 * caller's token), resumed with Last-Event-ID whenever the connection drops, so a reader sees
 * every line once.
 */

/** A query of a service's logs (the stream's and the download's parameters). */
export interface LogQuery {
  environment: string;
  pod?: string;
  container?: string;
  sinceSeconds?: number;
  tail?: number;
  previous?: boolean;
  search?: string;
  regex?: boolean;
  include?: string[];
  exclude?: string[];
}

/** One event of a stream: a line, or what happened to the pods and the stream. */
export interface LogEvent {
  kind: 'line' | 'pod-added' | 'pod-gone' | 'restarted' | 'gap' | 'error' | 'reconnecting';
  pod?: string;
  container?: string;
  time?: string;
  line?: string;
  restarts?: number;
  dropped?: number;
  message?: string;
}

export function logParams(q: LogQuery, extra: Record<string, string> = {}): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '' || v === false) continue;
    if (Array.isArray(v)) v.forEach(x => p.append(k, x));
    else p.set(k, String(v));
  }
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

/** Reads SSE frames from a response body: each frame's event, id and data. */
export async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; id?: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = '';
        let id: string | undefined;
        let data = '';
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (event) yield { event, id, data };
      }
    }
  } finally {
    reader.releaseLock();
  }
}
