import type { Socket } from 'socket.io';
import type { z } from 'zod';
import {
  clientEvents,
  rooms,
  type AckBody,
  type AckFn,
  type ClientEvent,
  type ClientToServerEvents,
  type InterServerEvents,
  type Notifier,
  type ParsedPayload,
  type ServerToClientEvents,
  type SocketData,
} from '../../contracts/socket.js';
import { errors, isAppError, toClientError } from '../../errors.js';
import type { AuthContext } from '../../contracts/auth.js';
import { userKey } from '../../infra/rate-limits.js';
import type { Logger } from '../../logger.js';
import type { ConversationsService } from '../conversations/conversations.service.js';
import type { MessagesService } from '../messages/messages.service.js';

type ParleySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/** The contract, indexed so that a generic event name keeps its own payload type. */
const contract: { [E in ClientEvent]: { payload: z.ZodType<ParsedPayload<E>> } } = clientEvents;

type LimitKind = 'socket' | 'messages';

export interface HandlerDeps {
  notifier: Notifier;
  conversations: ConversationsService;
  messages: MessagesService;
  rateLimit(kind: LimitKind, key: string): Promise<void>;
  /** Verifies a token and that its session lives and belongs to its user. */
  authenticate(token: string): Promise<AuthContext>;
  /** The revocation half of `authenticate`, for credentials already verified. */
  assertNotRevoked(auth: AuthContext): Promise<void>;
}

/** setTimeout's largest delay; a longer token lifetime is re-checked when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Client events, each parse → service → ack like an HTTP route. The payload schema and the ack
 * shape come from the contract (`clientEvents`), so a handler returning the wrong ack does not
 * compile. Every event counts against the user's socket limit (shared through Redis); a refused
 * event gets an error ack and the socket stays connected.
 */
export function registerHandlers(socket: ParleySocket, deps: HandlerDeps, log: Logger): void {
  const { userId } = socket.data;
  const credentials = guardCredentials(socket, deps);
  const on = <E extends ClientEvent>(
    event: E,
    handle: (payload: ParsedPayload<E>) => Promise<AckBody<E>>,
    limits: readonly LimitKind[] = ['socket'],
  ) => {
    listen(socket, event, (payload, ack) => {
      // A client may emit without an ack, or put anything in its place.
      const reply = isAck<E>(ack) ? ack : () => undefined;
      run(event, payload, handle, limits).then(
        (result) => reply({ ok: true, ...result }),
        (error: unknown) => {
          if (!isAppError(error)) log.error({ err: error, event }, 'socket handler failed');
          const { code, message } = toClientError(error);
          reply({ ok: false, error: { code, message } });
        },
      );
    });
  };

  const run = async <E extends ClientEvent>(
    event: E,
    payload: unknown,
    handle: (p: ParsedPayload<E>) => Promise<AckBody<E>>,
    limits: readonly LimitKind[],
  ) => {
    // Limits and the credentials check go together: one pipelined Redis round trip.
    await Promise.all([
      ...limits.map((kind) => deps.rateLimit(kind, userKey(userId))),
      event === 'auth' ? null : credentials.check(),
    ]);
    const parsed = contract[event].payload.safeParse(payload);
    if (!parsed.success) {
      throw errors.validation(
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    return handle(parsed.data);
  };

  on('auth', async ({ token }) => ({ expiresAt: await credentials.renew(token) }));

  on('join_room', async ({ conversationId }) => {
    await deps.conversations.requireMember(conversationId, userId);
    const room = rooms.conversation(conversationId);
    await socket.join(room);
    // A removal that landed between the check and the join emptied the room before this socket
    // entered it: check again, so a removed member never stays in.
    await deps.conversations.requireMember(conversationId, userId).catch(async (error: unknown) => {
      await socket.leave(room);
      throw error;
    });
    return {};
  });

  on('leave_room', async ({ conversationId }) => {
    await socket.leave(rooms.conversation(conversationId));
    return {};
  });

  on(
    'send_message',
    async (input) => {
      const { message } = await deps.messages.send(userId, input);
      return { message };
    },
    ['socket', 'messages'],
  );

  on('typing', async ({ conversationId, isTyping }) => {
    const participants = await deps.conversations.requireMember(conversationId, userId);
    const others = participants.filter((id) => id !== userId);
    deps.notifier.toUsers(others, 'typing', { conversationId, userId, isTyping });
    return {};
  });

  on('message_read', async (input) => {
    await deps.messages.markRead(userId, input);
    return {};
  });
}

/**
 * A socket lives only as long as its credentials (SPEC §5 asks it of the handshake; this keeps
 * it true afterwards): at the access token's expiry, unless renewed with `auth`, and at the first
 * event after its session ended, the server sends `auth_expired` and disconnects. Sessions
 * revoked through the API also disconnect their sockets at once (`disconnectSession`).
 */
function guardCredentials(socket: ParleySocket, deps: HandlerDeps) {
  let timer: NodeJS.Timeout | undefined;
  const end = (reason: 'expired' | 'revoked') => {
    clearTimeout(timer);
    if (!socket.connected) return;
    socket.emit('auth_expired', { reason });
    socket.disconnect(true);
  };
  const schedule = () => {
    clearTimeout(timer);
    const left = socket.data.expiresAt * 1000 - Date.now();
    timer = setTimeout(
      () => (isExpired() ? end('expired') : schedule()),
      Math.min(left, MAX_TIMER_MS),
    );
  };
  const isExpired = () => socket.data.expiresAt * 1000 <= Date.now();
  // After the refusing ack has gone out, so the client learns why its event failed.
  const endAfterAck = (reason: 'expired' | 'revoked') => setImmediate(() => end(reason));
  schedule();
  socket.on('disconnect', () => clearTimeout(timer));
  return {
    async check(): Promise<void> {
      if (isExpired()) {
        endAfterAck('expired');
        throw errors.unauthorized('Access token expired');
      }
      try {
        await deps.assertNotRevoked(socket.data);
      } catch (error) {
        // Only a definite "no" ends the socket; an outage answers this event with an error.
        if (isAppError(error) && error.code === 'unauthorized') endAfterAck('revoked');
        throw error;
      }
    },
    /** Switches to a fresh token of the same user and session; returns its expiry. */
    async renew(token: string): Promise<string> {
      const next = await deps.authenticate(token);
      if (next.userId !== socket.data.userId || next.sessionId !== socket.data.sessionId) {
        throw errors.forbidden('That token belongs to another session: reconnect with it');
      }
      socket.data = next;
      schedule();
      return new Date(next.expiresAt * 1000).toISOString();
    },
  };
}

/** Listens with the payload and ack unknown: both come from the client and are checked first. */
function listen(
  socket: ParleySocket,
  event: ClientEvent,
  listener: (payload: unknown, ack: unknown) => void,
): void {
  socket.on(event, listener);
}

function isAck<E extends ClientEvent>(ack: unknown): ack is AckFn<E> {
  return typeof ack === 'function';
}
