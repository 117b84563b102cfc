import { z } from 'zod';
import { IsoDate, Limit } from './common.js';
import { EventPattern } from './events.js';

/** Outgoing webhooks (SPEC §10), managed by admins. */

export const CreateWebhookBody = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
    .max(2000)
    .describe('Receives a POST of each matching event'),
  events: z
    .array(EventPattern)
    .min(1)
    .max(20)
    .describe('Topic patterns over event types: message.*, #, user.registered'),
  secret: z
    .string()
    .min(16, 'at least 16 characters')
    .max(200)
    .optional()
    .describe('HMAC-SHA256 key for X-Parley-Signature; generated (and shown once) when absent'),
});

export const WebhookView = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    createdAt: IsoDate,
    secret: z.string().optional().describe('Only in the answer to its creation'),
  })
  .meta({ id: 'Webhook' });
export type WebhookView = z.infer<typeof WebhookView>;

export const WebhookResult = z.object({ webhook: WebhookView });
export const WebhookList = z.object({ items: z.array(WebhookView) });

export const DeliveryView = z
  .object({
    eventId: z.string(),
    type: z.string(),
    status: z.enum(['delivered', 'failing', 'parked', 'refused']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    deliveredAt: IsoDate.nullable(),
    updatedAt: IsoDate,
  })
  .meta({ id: 'WebhookDelivery' });
export type DeliveryView = z.infer<typeof DeliveryView>;

export const DeliveriesQuery = z.object({ limit: Limit });
export const DeliveryList = z.object({ items: z.array(DeliveryView) });
