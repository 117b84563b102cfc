import type { z } from 'zod';
import type { ConversationView as ConversationSchema } from '../modules/conversations/conversations.schemas.js';

/**
 * The Socket.IO contract (SPEC §5), shared by the server, the worker's emitter and the tests.
 * Every client event is answered through its acknowledgement with an `Ack`.
 *
 * Typing: a `typing {isTyping: true}` is relayed, never stored. Clients should treat it as
 * expired after TYPING_EXPIRES_MS without a refresh (senders repeat it every ~3 s while typing).
 */
export const TYPING_EXPIRES_MS = 5000;

/** A conversation as its recipient sees it (unreadCount is theirs). */
export type ConversationView = z.output<typeof ConversationSchema>;

export interface ReactionView {
  emoji: string;
  count: number;
  /** The viewer is among those who reacted with this emoji. */
  me: boolean;
}

export interface SystemEventView {
  action: 'members_added' | 'member_removed' | 'member_left' | 'renamed' | 'role_changed';
  userIds?: string[];
  name?: string;
  role?: string;
}

export interface MessageView {
  id: string;
  conversationId: string;
  senderId: string;
  /** Empty for a deleted message (a tombstone). */
  content: string;
  type: 'text' | 'auto' | 'system';
  clientMessageId?: string;
  /** On `type: system` messages: what changed, for clients that render it themselves. */
  system?: SystemEventView;
  reactions: ReactionView[];
  editedAt?: string;
  deletedAt?: string;
  createdAt: string;
}

export type Ack<T extends object = object> =
  ({ ok: true } & T) | { ok: false; error: { code: string; message: string } };

export type AckFn<T extends object = object> = (response: Ack<T>) => void;

export interface ClientToServerEvents {
  join_room(payload: { conversationId: string }, ack?: AckFn): void;
  leave_room(payload: { conversationId: string }, ack?: AckFn): void;
  send_message(
    payload: { conversationId: string; content: string; clientMessageId?: string },
    ack?: AckFn<{ message: MessageView }>,
  ): void;
  typing(payload: { conversationId: string; isTyping: boolean }, ack?: AckFn): void;
  message_read(payload: { conversationId: string; messageId: string }, ack?: AckFn): void;
}

export interface ServerToClientEvents {
  message_received(payload: { message: MessageView }): void;
  typing(payload: { conversationId: string; userId: string; isTyping: boolean }): void;
  message_read(payload: {
    conversationId: string;
    userId: string;
    messageId: string;
    readAt: string;
  }): void;
  /** An edit; `reactions[].me` is the recipient's own. */
  message_updated(payload: { message: MessageView }): void;
  message_deleted(payload: { conversationId: string; messageId: string }): void;
  reaction_updated(payload: {
    conversationId: string;
    messageId: string;
    emoji: string;
    userId: string;
    added: boolean;
  }): void;
  /** Members, name or roles changed; also sent to members who were just removed. */
  conversation_updated(payload: { conversation: ConversationView }): void;
  user_online(payload: { userId: string }): void;
  user_offline(payload: { userId: string; lastSeenAt: string }): void;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InterServerEvents {}

export interface SocketData {
  userId: string;
  sessionId: string;
}

/** Rooms: every socket joins its user's and its session's room. */
export const rooms = {
  user: (userId: string) => `user:${userId}`,
  session: (sessionId: string) => `session:${sessionId}`,
  conversation: (conversationId: string) => `conversation:${conversationId}`,
};

/** Server-side fan-out, the same whether called from an api process or a worker. */
export interface Notifier {
  toUsers<E extends keyof ServerToClientEvents>(
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  /**
   * Announces at most once per `onceKey` (a message id), atomically with the claim, so a retried
   * or redelivered send announces exactly once even if an earlier attempt died mid-way.
   */
  toUsersOnce<E extends keyof ServerToClientEvents>(
    onceKey: string,
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): Promise<void>;
  disconnectSession(sessionId: string): void;
  /** Takes the users' sockets, on every instance, out of the conversation's room. */
  leaveConversation(userIds: readonly string[], conversationId: string): void;
}
