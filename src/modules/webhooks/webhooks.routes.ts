import { IdParams } from '../../contracts/common.js';
import {
  CreateWebhookBody,
  DeliveriesQuery,
  DeliveryList,
  WebhookList,
  WebhookResult,
} from '../../contracts/webhooks.js';
import { errorResponse, route, type RouteDef } from '../../http/route.js';
import type { WebhooksService } from './webhooks.service.js';

const tag = 'admin';
const guarded = { 401: errorResponse('Not logged in'), 403: errorResponse('Administrators only') };

export function webhookRoutes(webhooks: WebhooksService): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/api/admin/webhooks',
      summary: 'Register an outgoing webhook (its secret is shown once, here)',
      tag,
      access: 'admin',
      body: CreateWebhookBody,
      responses: {
        201: { description: 'Registered', schema: WebhookResult },
        400: errorResponse('Invalid, or a private target in production'),
        ...guarded,
      },
      handler: async ({ auth, body }) => ({
        status: 201,
        body: { webhook: await webhooks.create(auth.userId, body) },
      }),
    }),
    route({
      method: 'get',
      path: '/api/admin/webhooks',
      summary: 'Registered webhooks',
      tag,
      access: 'admin',
      responses: { 200: { description: 'Webhooks', schema: WebhookList }, ...guarded },
      handler: async () => ({ status: 200, body: { items: await webhooks.list() } }),
    }),
    route({
      method: 'delete',
      path: '/api/admin/webhooks/:id',
      summary: 'Remove a webhook and its delivery log',
      tag,
      access: 'admin',
      params: IdParams,
      responses: {
        204: { description: 'Removed' },
        404: errorResponse('No such webhook'),
        ...guarded,
      },
      handler: async ({ params }) => {
        await webhooks.remove(params.id);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/api/admin/webhooks/:id/deliveries',
      summary: 'Recent delivery attempts, newest first',
      tag,
      access: 'admin',
      params: IdParams,
      query: DeliveriesQuery,
      responses: {
        200: { description: 'Deliveries', schema: DeliveryList },
        404: errorResponse('No such webhook'),
        ...guarded,
      },
      handler: async ({ params, query }) => ({
        status: 200,
        body: { items: await webhooks.deliveries(params.id, query.limit) },
      }),
    }),
  ];
}
