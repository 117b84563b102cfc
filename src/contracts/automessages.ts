import { z } from 'zod';
import { IsoDate } from './common.js';
import { QueueSummary } from './queues.js';

/** What travels on `message_sending_queue`: everything delivery needs, so it reads nothing first. */
export const AutoMessageJob = z.strictObject({
  autoMessageId: z.string().regex(/^[0-9a-f]{24}$/),
  senderId: z.string().regex(/^[0-9a-f]{24}$/),
  receiverId: z.string().regex(/^[0-9a-f]{24}$/),
  content: z.string().min(1).max(4000),
});
export type AutoMessageJob = z.infer<typeof AutoMessageJob>;

export const PlanBody = z
  .strictObject({
    sendDateFrom: z.iso.datetime({ offset: true }).optional(),
    sendDateTo: z.iso.datetime({ offset: true }).optional(),
  })
  .optional();

export const PlanResult = z.object({
  runId: z.string(),
  pairs: z.number().int(),
  unpairedUserId: z.string().nullable(),
  durationMs: z.number(),
});

export const QueueResult = z.object({
  runId: z.string(),
  queued: z.number().int(),
  failed: z.number().int(),
});

export const AutoMessageView = z
  .object({
    id: z.string(),
    senderId: z.string(),
    receiverId: z.string(),
    content: z.string(),
    sendDate: IsoDate,
    isQueued: z.boolean(),
    queuedAt: IsoDate.nullable(),
    isSent: z.boolean(),
    sentAt: IsoDate.nullable(),
    messageId: z.string().nullable(),
    runId: z.string().describe('The planning run that made it'),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: IsoDate,
  })
  .meta({ id: 'AutoMessage' });

export const AutoMessageLifecycle = z.object({
  autoMessage: AutoMessageView,
  lifecycle: z.object({
    state: z.enum(['planned', 'queued', 'delivered']),
    planned: z.string(),
    due: z.string(),
    queued: z.string().nullable(),
    delivered: z.string().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
  }),
});
export type AutoMessageLifecycle = z.infer<typeof AutoMessageLifecycle>;

export const QueueDepth = z
  .object({
    queue: z.string(),
    ready: z.number().int(),
    unacknowledged: z
      .number()
      .int()
      .nullable()
      .describe(
        "Deliveries held by this process's consumer; null when it does not consume the queue " +
          "(AMQP cannot report other processes' unacknowledged counts)",
      ),
    consumers: z.number().int(),
  })
  .meta({ id: 'QueueDepth' });
export type QueueDepth = z.infer<typeof QueueDepth>;

export const QueuesResult = z.object({
  main: QueueDepth,
  dead: QueueDepth,
  media: z
    .object({ main: QueueDepth, dead: QueueDepth })
    .optional()
    .describe('media_processing_queue and its parking queue'),
  queues: z
    .array(QueueSummary)
    .optional()
    .describe('Every queue Parley owns, parked counts included'),
});
export type QueuesResult = z.infer<typeof QueuesResult>;
