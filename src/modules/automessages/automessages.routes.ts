import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { IdParams } from '../../contracts/common.js';
import type { JobRunner } from '../../jobs/job-runner.js';
import {
  AutoMessageLifecycle,
  PlanBody,
  PlanResult,
  QueueResult,
} from '../../contracts/automessages.js';
import { RunsQuery, RunsResult } from '../../contracts/jobs.js';
import type { AutoMessagesService } from './automessages.service.js';

const tag = 'admin';
const guarded = { 401: errorResponse('Not logged in'), 403: errorResponse('Administrators only') };

export interface AdminDeps {
  autoMessages: AutoMessagesService;
  jobs: JobRunner;
}

export function adminRoutes(deps: AdminDeps): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/api/admin/auto-messages/plan',
      summary: 'Run the nightly pairing now; sendDateTo <= now makes every message due at once',
      tag,
      access: 'admin',
      body: PlanBody,
      responses: {
        200: { description: 'Planned', schema: PlanResult },
        400: errorResponse('Bad window'),
        ...guarded,
      },
      handler: async ({ body }) => ({
        status: 200,
        body: await deps.autoMessages.planNow({
          ...(body?.sendDateFrom ? { from: new Date(body.sendDateFrom) } : {}),
          ...(body?.sendDateTo ? { to: new Date(body.sendDateTo) } : {}),
        }),
      }),
    }),
    route({
      method: 'post',
      path: '/api/admin/auto-messages/queue',
      summary: 'Publish every due auto message to message_sending_queue now',
      tag,
      access: 'admin',
      responses: { 200: { description: 'Queued', schema: QueueResult }, ...guarded },
      handler: async () => ({ status: 200, body: await deps.autoMessages.queueNow() }),
    }),
    route({
      method: 'get',
      path: '/api/admin/auto-messages/:id',
      summary: 'An auto message and its lifecycle',
      tag,
      access: 'admin',
      params: IdParams,
      responses: {
        200: { description: 'Lifecycle', schema: AutoMessageLifecycle },
        404: errorResponse('Not found'),
        ...guarded,
      },
      handler: async ({ params }) => ({
        status: 200,
        body: await deps.autoMessages.lifecycle(params.id),
      }),
    }),
    route({
      method: 'get',
      path: '/api/admin/jobs/runs',
      summary: 'Recent runs of scheduled jobs',
      tag,
      access: 'admin',
      query: RunsQuery,
      responses: { 200: { description: 'Runs, newest first', schema: RunsResult }, ...guarded },
      handler: async ({ query }) => ({
        status: 200,
        body: { items: await deps.jobs.recent(query.limit, query.name) },
      }),
    }),
  ];
}
