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

export type ParleySocket = Socket<
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
  /**
   * Counts one event against every limit given, in one Redis call (RateLimits.consumeAll), as
   * HTTP's `admit` does for a request. With `auth`, the same call first checks that its session
   * was not revoked and, if it was, throws unauthorized counting nothing.
   */
  admit(auth: AuthContext | null, limits: readonly (readonly [LimitKind, string])[]): Promise<void>;
  /** Verifies a token and that its session lives and belongs to its user. */
  authenticate(token: string): Promise<AuthContext>;
}

/** setTimeout's largest delay; a longer wait is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A listener shared by every socket: Socket.IO calls it with the socket as `this`. */
type SharedListener = (this: ParleySocket, payload: unknown, ack: unknown) => void;

/**
 * Client events, each parse → service → ack like an HTTP route. The payload schema and the ack
 * shape come from the contract (`clientEvents`), so a handler returning the wrong ack does not
 * compile. Every event counts against the user's socket limit (shared through Redis); a refused
 * event gets an error ack and the socket stays connected.
 *
 * Built once per server: every socket gets the same listener functions and shares one expiry
 * clock, so an idle socket holds no closures or timer of its own (at 20,000 sockets those were
 * most of what Parley kept per socket beyond Socket.IO's own state). A socket's logger is made
 * only when something is logged.
 */
export function createHandlers(
  deps: HandlerDeps,
  logger: Logger,
): { attach(socket: ParleySocket): void } {
  const credentials = credentialsGuard(deps);
  const listeners: [ClientEvent, SharedListener][] = [];

  const run = async <E extends ClientEvent>(
    socket: ParleySocket,
    event: E,
    payload: unknown,
    handle: (socket: ParleySocket, p: ParsedPayload<E>) => Promise<AckBody<E>>,
    limits: readonly LimitKind[],
  ) => {
    const key = userKey(socket.data.userId);
    const counted = limits.map((kind) => [kind, key] as const);
    // `auth` brings its own token, checked whole by `renew`; every other event is admitted by the
    // socket's credentials, checked in the same script call that counts the limits.
    await (event === 'auth' ? deps.admit(null, counted) : credentials.admit(socket, counted));
    const parsed = contract[event].payload.safeParse(payload);
    if (!parsed.success) {
      throw errors.validation(
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    return handle(socket, parsed.data);
  };

  const on = <E extends ClientEvent>(
    event: E,
    handle: (socket: ParleySocket, payload: ParsedPayload<E>) => Promise<AckBody<E>>,
    limits: readonly LimitKind[] = ['socket'],
  ) => {
    listeners.push([
      event,
      function (payload, ack) {
        // A client may emit without an ack, or put anything in its place.
        const reply = isAck<E>(ack) ? ack : () => undefined;
        run(this, event, payload, handle, limits).then(
          (result) => reply({ ok: true, ...result }),
          (error: unknown) => {
            if (!isAppError(error))
              socketLogger(logger, this).error({ err: error, event }, 'socket handler failed');
            const { code, message } = toClientError(error);
            reply({ ok: false, error: { code, message } });
          },
        );
      },
    ]);
  };

  on('auth', async (socket, { token }) => ({ expiresAt: await credentials.renew(socket, token) }));

  on('join_room', async (socket, { conversationId }) => {
    const { userId } = socket.data;
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

  on('leave_room', async (socket, { conversationId }) => {
    await socket.leave(rooms.conversation(conversationId));
    return {};
  });

  on(
    'send_message',
    async (socket, input) => {
      const { message } = await deps.messages.send(socket.data.userId, input);
      return { message };
    },
    ['socket', 'messages'],
  );

  on('typing', async (socket, { conversationId, isTyping }) => {
    const { userId } = socket.data;
    const participants = await deps.conversations.requireMember(conversationId, userId);
    const others = participants.filter((id) => id !== userId);
    deps.notifier.toUsers(others, 'typing', { conversationId, userId, isTyping });
    return {};
  });

  on('message_read', async (socket, input) => {
    await deps.messages.markRead(socket.data.userId, input);
    return {};
  });

  return {
    attach(socket) {
      for (const [event, listener] of listeners) listen(socket, event, listener);
      credentials.watch(socket);
    },
  };
}

/** The socket's child logger, made when something is logged (rarely), not per connection. */
export function socketLogger(logger: Logger, socket: ParleySocket): Logger {
  return logger.child({ socketId: socket.id, userId: socket.data.userId });
}

/**
 * A socket lives only as long as its credentials (SPEC §5 asks it of the handshake; this keeps
 * it true afterwards): at the access token's expiry, unless renewed with `auth`, and at the first
 * event after its session ended, the server sends `auth_expired` and disconnects. Sessions
 * revoked through the API also disconnect their sockets at once (`disconnectSession`).
 */
function credentialsGuard(deps: HandlerDeps) {
  const end = (socket: ParleySocket, reason: 'expired' | 'revoked') => {
    clock.remove(socket);
    if (!socket.connected) return;
    socket.emit('auth_expired', { reason });
    socket.disconnect(true);
  };
  const clock = new ExpiryClock((socket) => end(socket, 'expired'));
  const isExpired = (socket: ParleySocket) => socket.data.expiresAt * 1000 <= Date.now();
  // After the refusing ack has gone out, so the client learns why its event failed.
  const endAfterAck = (socket: ParleySocket, reason: 'expired' | 'revoked') =>
    setImmediate(() => end(socket, reason));
  function forget(this: ParleySocket) {
    clock.remove(this);
  }
  return {
    watch(socket: ParleySocket): void {
      clock.add(socket);
      socket.on('disconnect', forget);
    },
    /** Checks the socket's credentials and counts its event against `limits`, in one call. */
    async admit(
      socket: ParleySocket,
      limits: readonly (readonly [LimitKind, string])[],
    ): Promise<void> {
      if (isExpired(socket)) {
        endAfterAck(socket, 'expired');
        throw errors.unauthorized('Access token expired');
      }
      try {
        await deps.admit(socket.data, limits);
      } catch (error) {
        // Only a definite "no" ends the socket; an outage answers this event with an error.
        if (isAppError(error) && error.code === 'unauthorized') endAfterAck(socket, 'revoked');
        throw error;
      }
    },
    /** Switches to a fresh token of the same user and session; returns its expiry. */
    async renew(socket: ParleySocket, token: string): Promise<string> {
      const next = await deps.authenticate(token);
      if (next.userId !== socket.data.userId || next.sessionId !== socket.data.sessionId) {
        throw errors.forbidden('That token belongs to another session: reconnect with it');
      }
      clock.remove(socket);
      socket.data = next;
      clock.add(socket);
      return new Date(next.expiresAt * 1000).toISOString();
    },
  };
}

/**
 * One timer for every socket of a server instead of one each: sockets are kept in buckets by
 * their token's expiry second (`socket.data.expiresAt`), and the timer is armed for the
 * earliest bucket. A socket must be removed (disconnect, renewal) before its expiry changes.
 */
export class ExpiryClock {
  private readonly buckets = new Map<number, Set<ParleySocket>>();
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  constructor(private readonly expire: (socket: ParleySocket) => void) {}

  add(socket: ParleySocket): void {
    const at = socket.data.expiresAt;
    let bucket = this.buckets.get(at);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(at, bucket);
    }
    bucket.add(socket);
    if (at < this.armedFor) this.arm(at);
  }

  remove(socket: ParleySocket): void {
    const at = socket.data.expiresAt;
    const bucket = this.buckets.get(at);
    if (!bucket?.delete(socket) || bucket.size > 0) return;
    this.buckets.delete(at);
    // The timer may stay armed for an empty second: it then only re-arms for the next one.
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = at;
    const wait = Math.max(0, Math.min(at * 1000 - Date.now(), MAX_TIMER_MS));
    this.timer = setTimeout(() => this.fire(), wait);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [at, bucket] of [...this.buckets]) {
      if (at * 1000 > now) {
        next = Math.min(next, at);
        continue;
      }
      this.buckets.delete(at);
      for (const socket of bucket) this.expire(socket);
    }
    if (next < Infinity) this.arm(next);
  }
}

/** Listens with the payload and ack unknown: both come from the client and are checked first. */
function listen(socket: ParleySocket, event: ClientEvent, listener: SharedListener): void {
  socket.on(event, listener);
}

function isAck<E extends ClientEvent>(ack: unknown): ack is AckFn<E> {
  return typeof ack === 'function';
}
