import { z } from 'zod';

/**
 * A queue Parley owns, by the name operators use (no test or deployment prefix): the job queues
 * `message_sending_queue`, `media_processing_queue`, and each event consumer's
 * `parley.events.<consumer>`. Which ones exist is known at run time (an unknown name is a 400).
 */
export const QueueName = z
  .string()
  .describe('message_sending_queue, media_processing_queue or parley.events.<consumer>');
export type QueueName = z.infer<typeof QueueName>;

export const QueueParams = z.strictObject({ queue: QueueName });

export const QueueSummary = z
  .object({
    name: QueueName,
    ready: z.number().int(),
    unacknowledged: z
      .number()
      .int()
      .nullable()
      .describe("Held by this process's consumer; null when it does not consume the queue"),
    consumers: z.number().int(),
    parked: z.number().int().describe('Jobs waiting in its parking queue'),
  })
  .meta({ id: 'QueueSummary' });
export type QueueSummary = z.infer<typeof QueueSummary>;

export const ParkedQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const ParkedJob = z
  .object({
    id: z.string().describe("The job's message id (an auto message's or task's id)"),
    payload: z.unknown().describe('The job body (JSON; text when it was not JSON)'),
    error: z.string().nullable().describe('Why it was parked'),
    attempts: z.number().int(),
    parkedAt: z.string().nullable(),
  })
  .meta({ id: 'ParkedJob' });

export const ParkedList = z.object({ items: z.array(ParkedJob) });

/** Which parked jobs to act on; without `ids`, all of them. */
export const ParkedSelection = z
  .strictObject({ ids: z.array(z.string().min(1).max(200)).min(1).max(1000).optional() })
  .optional();

export const RequeueResult = z.object({ requeued: z.number().int() });
export const DiscardResult = z.object({ discarded: z.number().int() });
