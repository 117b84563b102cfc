import { errorResponse, route, type RouteDef } from '../../http/route.js';
import type { MessageChangesService } from './message-changes.service.js';
import {
  EditMessageBody,
  MessageParams,
  MessageResult,
  ReactionParams,
} from '../../contracts/messages.js';

const tag = 'messages';
const common = {
  400: errorResponse('Validation failed'),
  401: errorResponse('Not logged in'),
  404: errorResponse('No such conversation or message, or not a member'),
  429: errorResponse('Rate limited (counts against the message limit)'),
};
const messagePath = '/api/conversations/:id/messages/:messageId';
const reactionPath = `${messagePath}/reactions/:emoji`;
const refOf = (params: { id: string; messageId: string }) => ({
  conversationId: params.id,
  messageId: params.messageId,
});

/** Edit, delete and react (SPEC §9); each counts against the sender's message rate limit. */
export function messageChangeRoutes(changes: MessageChangesService): RouteDef[] {
  return [
    route({
      method: 'patch',
      path: messagePath,
      summary: 'Edit my message; members get message_updated',
      tag,
      access: 'user',
      limit: 'messages',
      params: MessageParams,
      body: EditMessageBody,
      responses: {
        200: { description: 'The edited message (gains editedAt)', schema: MessageResult },
        ...common,
        403: errorResponse('Not the sender, or a system message'),
        409: errorResponse('The message was deleted'),
      },
      handler: async ({ auth, params, body }) => ({
        status: 200,
        body: { message: await changes.edit(auth.userId, refOf(params), body.content) },
      }),
    }),
    route({
      method: 'delete',
      path: messagePath,
      summary: "Delete a message (the sender, or a group's owner/admin): a tombstone stays",
      tag,
      access: 'user',
      limit: 'messages',
      params: MessageParams,
      responses: {
        204: { description: 'Deleted (or already deleted); members get message_deleted' },
        ...common,
        403: errorResponse('Neither the sender nor a group owner/admin, or a system message'),
      },
      handler: async ({ auth, params }) => {
        await changes.delete(auth.userId, refOf(params));
        return { status: 204 };
      },
    }),
    route({
      method: 'put',
      path: reactionPath,
      summary: 'React with one emoji (idempotent); members get reaction_updated',
      tag,
      access: 'user',
      limit: 'messages',
      params: ReactionParams,
      responses: {
        204: { description: 'Reacted (or had already)' },
        ...common,
        409: errorResponse('The message was deleted, or already has 20 different emoji'),
      },
      handler: async ({ auth, params }) => {
        await changes.react(auth.userId, refOf(params), params.emoji);
        return { status: 204 };
      },
    }),
    route({
      method: 'delete',
      path: reactionPath,
      summary: 'Take my reaction back (idempotent); members get reaction_updated',
      tag,
      access: 'user',
      limit: 'messages',
      params: ReactionParams,
      responses: { 204: { description: 'Removed (or was not there)' }, ...common },
      handler: async ({ auth, params }) => {
        await changes.unreact(auth.userId, refOf(params), params.emoji);
        return { status: 204 };
      },
    }),
  ];
}
