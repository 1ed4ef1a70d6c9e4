import { useEffect, useState } from 'react';

/** The state of one read from Berth. */
export type Loaded<T> = { loading: true } | { loading: false; value: T } | { loading: false; error: Error };

/** Reads once per change of deps; a newer read wins over an older one still in flight. */
export function useBerth<T>(read: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: true });
  useEffect(() => {
    const ctl = new AbortController();
    setState({ loading: true });
    read(ctl.signal).then(
      value => !ctl.signal.aborted && setState({ loading: false, value }),
      error => !ctl.signal.aborted && setState({ loading: false, error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return state;
}
