import type { Socket } from 'socket.io';
import type { z } from 'zod';
import {
  rooms,
  type Ack,
  type ClientToServerEvents,
  type InterServerEvents,
  type Notifier,
  type ServerToClientEvents,
  type SocketData,
} from '../../contracts/socket.js';
import { errors, isAppError, toClientError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ConversationsService } from '../conversations/conversations.service.js';
import type { MessagesService } from '../messages/messages.service.js';
import {
  ConversationPayload,
  ReadPayload,
  SendMessagePayload,
  TypingPayload,
} from '../messages/messages.schemas.js';

type ParleySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

export interface HandlerDeps {
  notifier: Notifier;
  conversations: ConversationsService;
  messages: MessagesService;
  rateLimit(kind: 'socket' | 'messages', key: string): Promise<void>;
}

/**
 * Client events, each parse → service → ack like an HTTP route. Every event counts against
 * the user's socket limit (shared through Redis); a refused event gets an error ack and the
 * socket stays connected.
 */
export function registerHandlers(socket: ParleySocket, deps: HandlerDeps, log: Logger): void {
  const { userId } = socket.data;
  const on = <S extends z.ZodType>(
    event: keyof ClientToServerEvents,
    schema: S,
    handle: (payload: z.output<S>) => Promise<object>,
    limits: readonly ('socket' | 'messages')[] = ['socket'],
  ) => {
    socket.on(event, (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: Ack) => void) : () => undefined;
      run(schema, payload, handle, limits).then(
        (result) => reply({ ok: true, ...result }),
        (error: unknown) => {
          if (!isAppError(error)) log.error({ err: error, event }, 'socket handler failed');
          const { code, message } = toClientError(error);
          reply({ ok: false, error: { code, message } });
        },
      );
    });
  };

  const run = async <S extends z.ZodType>(
    schema: S,
    payload: unknown,
    handle: (p: z.output<S>) => Promise<object>,
    limits: readonly ('socket' | 'messages')[],
  ) => {
    // Counted together: one pipelined Redis round trip, whatever the number of limits.
    await Promise.all(limits.map((kind) => deps.rateLimit(kind, `u:${userId}`)));
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      throw errors.validation(
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    return handle(parsed.data);
  };

  on('join_room', ConversationPayload, async ({ conversationId }) => {
    await deps.conversations.requireMember(conversationId, userId);
    await socket.join(rooms.conversation(conversationId));
    return {};
  });

  on('leave_room', ConversationPayload, async ({ conversationId }) => {
    await socket.leave(rooms.conversation(conversationId));
    return {};
  });

  on(
    'send_message',
    SendMessagePayload,
    async (input) => {
      const { message } = await deps.messages.send(userId, input);
      return { message };
    },
    ['socket', 'messages'],
  );

  on('typing', TypingPayload, async ({ conversationId, isTyping }) => {
    const participants = await deps.conversations.requireMember(conversationId, userId);
    const others = participants.filter((id) => id !== userId);
    deps.notifier.toUsers(others, 'typing', { conversationId, userId, isTyping });
    return {};
  });

  on('message_read', ReadPayload, async (input) => {
    await deps.messages.markRead(userId, input);
    return {};
  });
}
