import { createClient, ParleyError, type ParleyClient } from '@parley/client';
import { useEffect, useState } from 'preact/hooks';

/**
 * One SDK client per page: it holds the tokens in memory only (its default storage), refreshes
 * them before they expire, and is the one source of truth for the session and the socket.
 */
export const parley: ParleyClient = createClient();

export interface Me {
  id: string;
  username: string;
  displayName?: string | null;
  role: string;
}

/** What a failed call tells a person: the server's message, or that the network failed. */
export function errorText(error: unknown): string {
  if (error instanceof ParleyError)
    return error.status === 0 ? 'Network error: retrying' : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** Re-runs `load` every `ms` while mounted (and at once); the latest result or error. */
export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[] = []) {
  const [state, setState] = useState<{ value: T | null; error: string | null }>({
    value: null,
    error: null,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    const run = () =>
      load().then(
        (value) => !stopped && setState({ value, error: null }),
        (error: unknown) => !stopped && setState((s) => ({ ...s, error: errorText(error) })),
      );
    void run();
    const timer = setInterval(() => void run(), ms);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [tick, ...deps]);
  return { ...state, refresh: () => setTick((t) => t + 1) };
}
