import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { IdParams } from '../../contracts/common.js';
import {
  AddMembersBody,
  ConversationResult,
  MemberParams,
  RenameBody,
  RoleBody,
} from '../../contracts/conversations.js';
import type { GroupsService } from './groups.service.js';

const tag = 'groups';
const common = {
  400: errorResponse('Validation failed, or a direct conversation (always exactly two members)'),
  401: errorResponse('Not logged in'),
  403: errorResponse('Your role in the group does not allow it'),
  404: errorResponse('No such conversation (or not a member), or no such member'),
  429: errorResponse('Rate limited (counts against the message limit)'),
};
const announced = 'members (old and new) get conversation_updated, and a system message is posted';

/** Group membership, roles and name (SPEC §9). Each change posts a `type: system` message. */
export function groupRoutes(groups: GroupsService): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/api/conversations/:id/members',
      summary: `Add members (owner/admin; at most 100 in all); ${announced}`,
      tag,
      access: 'user',
      limit: 'messages',
      params: IdParams,
      body: AddMembersBody,
      responses: { 200: { description: 'The group', schema: ConversationResult }, ...common },
      handler: async ({ auth, params, body }) => ({
        status: 200,
        body: { conversation: await groups.addMembers(auth.userId, params.id, body.userIds) },
      }),
    }),
    route({
      method: 'delete',
      path: '/api/conversations/:id/members/:userId',
      summary: `Remove a member (owner, or admin for members), or yourself (leave); ${announced}`,
      tag,
      access: 'user',
      limit: 'messages',
      params: MemberParams,
      responses: { 204: { description: 'Removed: their access ends at once' }, ...common },
      handler: async ({ auth, params }) => {
        await groups.removeMember(auth.userId, params.id, params.userId);
        return { status: 204 };
      },
    }),
    route({
      method: 'patch',
      path: '/api/conversations/:id',
      summary: `Rename a group (owner/admin); ${announced}`,
      tag,
      access: 'user',
      limit: 'messages',
      params: IdParams,
      body: RenameBody,
      responses: { 200: { description: 'The group', schema: ConversationResult }, ...common },
      handler: async ({ auth, params, body }) => ({
        status: 200,
        body: { conversation: await groups.rename(auth.userId, params.id, body.name) },
      }),
    }),
    route({
      method: 'patch',
      path: '/api/conversations/:id/members/:userId',
      summary: `Make a member an admin or an admin a member (owner); ${announced}`,
      tag,
      access: 'user',
      limit: 'messages',
      params: MemberParams,
      body: RoleBody,
      responses: { 200: { description: 'The group', schema: ConversationResult }, ...common },
      handler: async ({ auth, params, body }) => ({
        status: 200,
        body: {
          conversation: await groups.setRole(auth.userId, params.id, params.userId, body.role),
        },
      }),
    }),
  ];
}
