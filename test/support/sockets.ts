import { once } from 'node:events';
import { requestAck } from '@parley/client';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import {
  AckError,
  clientEvents,
  serverEvents,
  type Ack,
  type AckBody,
  type ClientEvent,
  type ClientPayload,
  type ClientToServerEvents,
  type ServerEvent,
  type ServerPayload,
  type ServerToClientEvents,
} from '../../src/contracts/socket.js';
import { atEnd } from './app.js';
import { patient } from './wait.js';

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

/**
 * The connect_error message a token gets, or null if it connected. `handshake` replaces the
 * `auth` object and adds headers, for handshakes shaped by hand.
 */
export async function connectError(
  url: string,
  token: string | undefined,
  handshake: { auth?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<string | null> {
  const socket: ClientSocket = io(url, {
    auth: handshake.auth ?? (token ? { token } : {}),
    extraHeaders: handshake.headers ?? {},
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

/**
 * Emits with an acknowledgement and resolves with the ack envelope, checked against the
 * contract: an ack whose shape drifted from `clientEvents` fails the test.
 */
export async function request<E extends ClientEvent>(
  socket: ClientSocket,
  event: E,
  payload: ClientPayload<E>,
  timeoutMs = 5000,
): Promise<Ack<AckBody<E>>> {
  return checkAck(event, await emitWithAck(socket, event, payload, timeoutMs));
}

/** `request` that must succeed: resolves with the ack's body, or rejects with the ParleyError. */
export async function requestOk<E extends ClientEvent>(
  socket: ClientSocket,
  event: E,
  payload: ClientPayload<E>,
  timeoutMs = 5000,
): Promise<AckBody<E>> {
  // The SDK's ack handling (a refusal or a timeout rejects with a ParleyError), then the
  // contract: an ack whose shape drifted fails the test.
  return contract[event].ack.parse(await requestAck(socket, event, payload, patient(timeoutMs)));
}

/** `request` with a payload the contract forbids: how tests send hostile input. */
export async function requestOffContract(
  socket: ClientSocket,
  event: ClientEvent,
  payload: unknown,
  timeoutMs = 5000,
): Promise<Ack<AckBody<ClientEvent>>> {
  return checkAck(event, await emitWithAck(socket, event, payload, timeoutMs));
}

/** The client events as they travel: any payload goes out, any ack comes back until checked. */
type WireEvents = {
  [E in ClientEvent]: (payload: unknown, ack: (response: unknown) => void) => void;
};

/** Emits any payload and resolves with whatever comes back as the ack, unchecked. */
export function emitWithAck(
  socket: Socket<ServerToClientEvents, WireEvents>,
  event: ClientEvent,
  payload: unknown,
  timeoutMs: number,
): Promise<unknown> {
  return socket.timeout(patient(timeoutMs)).emitWithAck(event, payload);
}

const contract: { [E in ClientEvent]: { ack: z.ZodType<AckBody<E>> } } = clientEvents;

function checkAck<E extends ClientEvent>(event: E, response: unknown): Ack<AckBody<E>> {
  const refused = AckError.safeParse(response);
  if (refused.success) return refused.data;
  const ok: { ok: true } = z.object({ ok: z.literal(true) }).parse(response);
  return { ...ok, ...contract[event].ack.parse(response) };
}

/** Collects every payload of one event, so a test can assert "exactly once". */
export function record<E extends ServerEvent>(socket: ClientSocket, event: E) {
  const seen: ServerPayload<E>[] = [];
  onEvent(socket, event, (payload) => seen.push(payload));
  return seen;
}

/** Resolves with the next payload of `event` that matches, or rejects after a deadline. */
export function nextEvent<E extends ServerEvent>(
  socket: ClientSocket,
  event: E,
  match: (payload: ServerPayload<E>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ServerPayload<E>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${event} within ${patient(timeoutMs)} ms`));
    }, patient(timeoutMs));
    const stop = onEvent(socket, event, (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      stop();
      resolve(payload);
    });
  });
}

/** The server events as they arrive: unchecked until parsed against the contract. */
type WireServerEvents = { [E in ServerEvent]: (payload: unknown) => void };

const serverContract: { [E in ServerEvent]: z.ZodType<ServerPayload<E>> } = serverEvents;

/**
 * Listens to `event`, each payload checked against the contract (one that drifted from
 * `serverEvents` fails the test). Returns the function that stops listening.
 */
function onEvent<E extends ServerEvent>(
  socket: Socket<WireServerEvents, WireEvents>,
  event: E,
  listener: (payload: ServerPayload<E>) => void,
): () => void {
  const checked = (payload: unknown) => listener(serverContract[event].parse(payload));
  const name: ServerEvent = event; // Socket.IO's listener types need a concrete event name
  socket.on(name, checked);
  return () => void socket.off(name, checked);
}

export { once };
export { eventually, patient } from './wait.js';
