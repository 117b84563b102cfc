import { z } from 'zod';
import type { AuthContext } from './auth.js';
import { IsoDate, ObjectIdString } from './common.js';
import { ConversationView } from './conversations.js';
import {
  MessageResult,
  ReadBody,
  requireContentOrAttachments,
  SendMessageFields,
} from './messages.js';
import { TaskResult } from './tasks.js';

/**
 * The Socket.IO contract (SPEC §5), shared by the server, the worker's emitter, the tests and the
 * benches. Each event is one entry below; the Socket.IO event maps are derived from them, so a
 * payload or ack that drifts from its schema does not compile. Add an event by adding an entry.
 *
 * Typing: a `typing {isTyping: true}` is relayed, never stored. Clients should treat it as
 * expired after TYPING_EXPIRES_MS without a refresh (senders repeat it every ~3 s while typing).
 */
export const TYPING_EXPIRES_MS = 5000;

/** The handshake's `auth` object; the token may also come as an `Authorization: Bearer` header. */
export const HandshakeAuth = z.object({ token: z.string() });

const ConversationPayload = z.strictObject({ conversationId: ObjectIdString });
/** The body of an ack that carries nothing but `ok: true`. */
const Done = z.object({});

/** Client → server: what the client sends, and what a successful ack carries besides `ok`. */
export const clientEvents = {
  /**
   * Renews the socket's credentials with a fresh access token of the same session (from
   * `POST /api/auth/refresh`), before the current one expires; otherwise the server sends
   * `auth_expired` and disconnects at expiry.
   */
  auth: {
    payload: z.strictObject({ token: z.string().min(1).max(4096) }),
    ack: z.object({ expiresAt: IsoDate }),
  },
  join_room: { payload: ConversationPayload, ack: Done },
  leave_room: { payload: ConversationPayload, ack: Done },
  send_message: {
    payload: requireContentOrAttachments(
      SendMessageFields.extend({ conversationId: ObjectIdString }),
    ),
    ack: MessageResult,
  },
  typing: {
    payload: z.strictObject({ conversationId: ObjectIdString, isTyping: z.boolean() }),
    ack: Done,
  },
  message_read: { payload: ReadBody.extend({ conversationId: ObjectIdString }), ack: Done },
} satisfies Record<string, { payload: z.ZodType; ack: z.ZodObject }>;

/** Server → client: each event's payload. */
export const serverEvents = {
  message_received: MessageResult,
  typing: z.object({ conversationId: z.string(), userId: z.string(), isTyping: z.boolean() }),
  message_read: z.object({
    conversationId: z.string(),
    userId: z.string(),
    messageId: z.string(),
    readAt: IsoDate,
  }),
  /** An edit; `reactions[].me` is the recipient's own. */
  message_updated: MessageResult,
  message_deleted: z.object({ conversationId: z.string(), messageId: z.string() }),
  reaction_updated: z.object({
    conversationId: z.string(),
    messageId: z.string(),
    emoji: z.string(),
    userId: z.string(),
    added: z.boolean(),
  }),
  /** Members, name or roles changed; also sent to members who were just removed. */
  conversation_updated: z.object({ conversation: ConversationView }),
  /**
   * Sent just before the server disconnects a socket whose access token expired unrenewed
   * (`expired`) or whose session ended — logout, password change, reuse of a refresh token, a
   * disabled account (`revoked`). The client refreshes or logs in, then reconnects.
   */
  auth_expired: z.object({ reason: z.enum(['expired', 'revoked']) }),
  user_online: z.object({ userId: z.string() }),
  /** A task of the recipient changed state, or progressed (at most 4 a second per task). */
  task_updated: TaskResult,
  user_offline: z.object({ userId: z.string(), lastSeenAt: IsoDate }),
} satisfies Record<string, z.ZodType>;

export type ClientEvent = keyof typeof clientEvents;
export type ServerEvent = keyof typeof serverEvents;
/** What a client sends for `E` (before the server's parsing trims and checks it). */
export type ClientPayload<E extends ClientEvent> = z.input<(typeof clientEvents)[E]['payload']>;
/** What a handler of `E` receives: the payload after parsing. */
export type ParsedPayload<E extends ClientEvent> = z.output<(typeof clientEvents)[E]['payload']>;
/** What a successful ack of `E` carries besides `ok: true`. */
export type AckBody<E extends ClientEvent> = z.output<(typeof clientEvents)[E]['ack']>;
export type ServerPayload<E extends ServerEvent> = z.output<(typeof serverEvents)[E]>;

export const AckError = z.object({
  ok: z.literal(false),
  error: z.object({ code: z.string(), message: z.string() }),
});
export type Ack<T extends object = object> = ({ ok: true } & T) | z.output<typeof AckError>;
export type AckFn<E extends ClientEvent> = (response: Ack<AckBody<E>>) => void;

export type ClientToServerEvents = {
  [E in ClientEvent]: (payload: ClientPayload<E>, ack: AckFn<E>) => void;
};

export type ServerToClientEvents = {
  [E in ServerEvent]: (payload: ServerPayload<E>) => void;
};

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InterServerEvents {}

/** A socket's credentials: those of the access token it connected or last renewed with. */
export type SocketData = AuthContext;

/** Rooms: every socket joins its user's and its session's room. */
export const rooms = {
  user: (userId: string) => `user:${userId}`,
  session: (sessionId: string) => `session:${sessionId}`,
  conversation: (conversationId: string) => `conversation:${conversationId}`,
};

/** Server-side fan-out, the same whether called from an api process or a worker. */
export interface Notifier {
  toUsers<E extends ServerEvent>(
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  /**
   * Announces at most once per `onceKey` (a message id), atomically with the claim, so a retried
   * or redelivered send announces exactly once even if an earlier attempt died mid-way.
   */
  toUsersOnce<E extends ServerEvent>(
    onceKey: string,
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): Promise<void>;
  disconnectSession(sessionId: string): void;
  /** Takes the users' sockets, on every instance, out of the conversation's room. */
  leaveConversation(userIds: readonly string[], conversationId: string): void;
}
