import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { QueuesResult } from '../../contracts/automessages.js';
import {
  DiscardResult,
  ParkedList,
  ParkedQuery,
  ParkedSelection,
  QueueParams,
  RequeueResult,
} from '../../contracts/queues.js';
import type { QueuesService } from './queues.service.js';

const tag = 'admin';
const guarded = { 401: errorResponse('Not logged in'), 403: errorResponse('Administrators only') };
const badQueue = { 400: errorResponse('Unknown queue or bad selection') };

export function queueRoutes(queues: QueuesService): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/api/admin/queues',
      summary: 'Every queue Parley owns: ready, unacknowledged, consumers, parked',
      tag,
      access: 'admin',
      responses: { 200: { description: 'Depths', schema: QueuesResult }, ...guarded },
      handler: async () => ({ status: 200, body: await queues.overview() }),
    }),
    route({
      method: 'get',
      path: '/api/admin/queues/:queue/parked',
      summary: 'Parked jobs of a queue (left where they are)',
      tag,
      access: 'admin',
      params: QueueParams,
      query: ParkedQuery,
      responses: {
        200: { description: 'Oldest first', schema: ParkedList },
        ...badQueue,
        ...guarded,
      },
      handler: async ({ params, query }) => ({
        status: 200,
        body: { items: await queues.parked(params.queue, query.limit) },
      }),
    }),
    route({
      method: 'post',
      path: '/api/admin/queues/:queue/parked/requeue',
      summary: 'Move parked jobs (all, or `ids`) back to the queue as first attempts',
      tag,
      access: 'admin',
      params: QueueParams,
      body: ParkedSelection,
      responses: {
        200: { description: 'Requeued', schema: RequeueResult },
        ...badQueue,
        ...guarded,
      },
      handler: async ({ params, body }) => ({
        status: 200,
        body: { requeued: await queues.requeue(params.queue, body?.ids) },
      }),
    }),
    route({
      method: 'delete',
      path: '/api/admin/queues/:queue/parked',
      summary: 'Drop parked jobs (all, or `ids`)',
      tag,
      access: 'admin',
      params: QueueParams,
      body: ParkedSelection,
      responses: {
        200: { description: 'Discarded', schema: DiscardResult },
        ...badQueue,
        ...guarded,
      },
      handler: async ({ params, body }) => ({
        status: 200,
        body: { discarded: await queues.discard(params.queue, body?.ids) },
      }),
    }),
  ];
}
