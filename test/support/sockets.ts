import { once } from 'node:events';
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  ServerToClientEvents,
} from '../../src/contracts/socket.js';
import { atEnd } from './app.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A real socket.io-client connection; closed when the test file ends. */
export async function connectSocket(
  url: string,
  token: string,
  options: { transports?: ('websocket' | 'polling')[]; reconnection?: boolean } = {},
): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, {
    auth: { token },
    transports: options.transports ?? ['websocket'],
    reconnection: options.reconnection ?? false,
    forceNew: true,
  });
  atEnd(() => {
    socket.disconnect();
    return Promise.resolve();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
  return socket;
}

/** The connect_error message a token gets, or null if it connected. */
export async function connectError(url: string, token: string | undefined): Promise<string | null> {
  const socket: ClientSocket = io(url, {
    auth: token ? { token } : {},
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  try {
    return await new Promise<string | null>((resolve) => {
      socket.once('connect', () => resolve(null));
      socket.once('connect_error', (error) => resolve(error.message));
    });
  } finally {
    socket.disconnect();
  }
}

/** Emits with an acknowledgement and resolves with the ack envelope. */
export async function request(
  socket: ClientSocket,
  event: keyof ClientToServerEvents,
  payload: unknown,
  timeoutMs = 5000,
): Promise<Ack & Record<string, unknown>> {
  const untyped = socket as unknown as Socket;
  return (await untyped.timeout(timeoutMs).emitWithAck(event, payload)) as Ack &
    Record<string, unknown>;
}

/** Collects every payload of one event, so a test can assert "exactly once". */
export function record<E extends keyof ServerToClientEvents>(socket: ClientSocket, event: E) {
  const seen: Parameters<ServerToClientEvents[E]>[0][] = [];
  const listener = ((payload: Parameters<ServerToClientEvents[E]>[0]) =>
    seen.push(payload)) as never;
  socket.on(event, listener);
  return seen;
}

/** Resolves with the next payload of `event` that matches, or rejects after a deadline. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  match: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`no ${String(event)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(payload);
    };
    socket.on(event, listener as never);
  });
}

/**
 * Polls `check` until it returns true, or fails after `timeoutMs` saying `what` it waited for
 * (a string, or a function that explains the state it found). The one polling loop of the tests.
 */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  what: string | (() => Promise<string>) = 'condition',
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const detail = typeof what === 'string' ? `waiting for ${what}` : await what();
      throw new Error(`timed out after ${timeoutMs} ms ${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export { once };
