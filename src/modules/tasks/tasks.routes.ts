import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { IdParams } from '../../contracts/common.js';
import { TaskListQuery, TaskPage, TaskResult } from '../../contracts/tasks.js';
import type { TasksService } from './tasks.service.js';

const tag = 'tasks';
const loggedIn = { 401: errorResponse('Not logged in') };

export function taskRoutes(tasks: TasksService): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/api/tasks',
      summary: 'My tasks, newest first (admins: all=true for everyone’s)',
      tag,
      access: 'user',
      query: TaskListQuery,
      responses: {
        200: { description: 'A page of tasks', schema: TaskPage },
        400: errorResponse('Bad query'),
        403: errorResponse('all=true is for administrators'),
        ...loggedIn,
      },
      handler: async ({ auth, query }) => ({
        status: 200,
        body: await tasks.list(auth.userId, query),
      }),
    }),
    route({
      method: 'get',
      path: '/api/tasks/:id',
      summary: 'A task (its owner or an admin)',
      tag,
      access: 'user',
      params: IdParams,
      responses: {
        200: { description: 'The task', schema: TaskResult },
        404: errorResponse('No such task of yours'),
        ...loggedIn,
      },
      handler: async ({ auth, params }) => ({
        status: 200,
        body: { task: await tasks.get(auth.userId, params.id) },
      }),
    }),
    route({
      method: 'post',
      path: '/api/tasks/:id/cancel',
      summary: 'Cancel: a queued task at once, a running one within 2 s',
      tag,
      access: 'user',
      params: IdParams,
      responses: {
        200: { description: 'Cancelled, or cancel requested', schema: TaskResult },
        404: errorResponse('No such task of yours'),
        409: errorResponse('The task has finished'),
        ...loggedIn,
      },
      handler: async ({ auth, params }) => ({
        status: 200,
        body: { task: await tasks.cancel(auth.userId, params.id) },
      }),
    }),
  ];
}
