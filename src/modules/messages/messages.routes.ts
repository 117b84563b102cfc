import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { IdParams } from '../../contracts/common.js';
import { memberErrors } from '../conversations/conversations.routes.js';
import {
  HistoryQuery,
  MessagePage,
  MessageResult,
  ReadBody,
  SendMessageBody,
  SyncQuery,
} from '../../contracts/messages.js';
import type { MessagesService } from './messages.service.js';

const tag = 'conversations';

/** History, sending, read pointers and catch-up: the routes under a conversation's messages. */
export function messageRoutes(messages: MessagesService): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/api/conversations/:id/messages',
      summary: 'History: `before` pages newest-first; `after` (catch-up) pages oldest-first',
      tag,
      access: 'user',
      params: IdParams,
      query: HistoryQuery,
      responses: {
        200: { description: 'A page of messages', schema: MessagePage },
        ...memberErrors,
      },
      handler: async ({ auth, params, query }) => ({
        status: 200,
        body: await messages.history(auth.userId, params.id, query),
      }),
    }),
    route({
      method: 'post',
      path: '/api/conversations/:id/messages',
      summary:
        'Send a message (201); a retry with the same clientMessageId returns the original (200)',
      tag,
      access: 'user',
      limit: 'messages',
      params: IdParams,
      body: SendMessageBody,
      responses: {
        200: { description: 'Already sent with this clientMessageId', schema: MessageResult },
        201: { description: 'Sent', schema: MessageResult },
        ...memberErrors,
        409: errorResponse('clientMessageId already used in another conversation'),
        429: errorResponse('Rate limited'),
      },
      handler: async ({ auth, params, body }) => {
        const { message, created } = await messages.send(auth.userId, {
          conversationId: params.id,
          ...body,
        });
        return { status: created ? 201 : 200, body: { message } };
      },
    }),
    route({
      method: 'post',
      path: '/api/conversations/:id/read',
      summary: 'Mark read up to a message; members get a message_read event',
      tag,
      access: 'user',
      params: IdParams,
      body: ReadBody,
      responses: {
        204: { description: 'Read pointer moved (or already past it)' },
        ...memberErrors,
      },
      handler: async ({ auth, params, body }) => {
        await messages.markRead(auth.userId, {
          conversationId: params.id,
          messageId: body.messageId,
        });
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/api/sync',
      summary:
        'Catch-up after a reconnect: messages newer than `since` in all my conversations, oldest first',
      tag,
      access: 'user',
      query: SyncQuery,
      responses: {
        200: { description: 'A page of messages', schema: MessagePage },
        400: memberErrors[400],
        401: memberErrors[401],
      },
      handler: async ({ auth, query }) => ({
        status: 200,
        body: await messages.sync(auth.userId, query),
      }),
    }),
  ];
}
