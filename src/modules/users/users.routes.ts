import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { IdParams } from '../../contracts/common.js';
import {
  OnlineCount,
  OnlineUsers,
  UserListPage,
  UserListQuery,
  UserOnline,
} from '../../contracts/users.js';
import type { UsersService } from './users.service.js';

const tag = 'users';
const unauthorized = errorResponse('Not logged in');

export function usersRoutes(users: UsersService): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/api/user/list',
      summary: 'Users by username, optionally by username prefix',
      tag,
      access: 'user',
      query: UserListQuery,
      responses: {
        200: { description: 'A page of users', schema: UserListPage },
        400: errorResponse('Bad query'),
        401: unauthorized,
      },
      handler: async ({ query }) => ({ status: 200, body: await users.list(query) }),
    }),
    route({
      method: 'get',
      path: '/api/user/online',
      summary: 'Who is online now (from the Redis set online_users)',
      tag,
      access: 'user',
      responses: { 200: { description: 'Online users', schema: OnlineUsers }, 401: unauthorized },
      handler: async () => ({ status: 200, body: await users.online() }),
    }),
    route({
      method: 'get',
      path: '/api/user/online/count',
      summary: 'How many users are online',
      tag,
      access: 'user',
      responses: { 200: { description: 'Count', schema: OnlineCount }, 401: unauthorized },
      handler: async () => ({ status: 200, body: await users.onlineCount() }),
    }),
    route({
      method: 'get',
      path: '/api/user/:id/online',
      summary: 'Whether one user is online',
      tag,
      access: 'user',
      params: IdParams,
      responses: { 200: { description: 'Presence', schema: UserOnline }, 401: unauthorized },
      handler: async ({ params }) => ({ status: 200, body: await users.isOnline(params.id) }),
    }),
  ];
}
