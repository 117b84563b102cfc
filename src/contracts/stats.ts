import { z } from 'zod';
import { IsoDate } from './common.js';

/** Hourly activity (SPEC §12, `stats_hourly`), for operators. */

export const StatsHour = z
  .object({
    hour: IsoDate.describe('Start of the hour (UTC)'),
    messages: z.number().int().describe('Messages sent in the hour, every type'),
    activeSenders: z.number().int().describe('Distinct users who sent a text message'),
    newUsers: z.number().int(),
    attachments: z
      .number()
      .int()
      .describe('Uploads in the hour (from the counters: uploads processed, ready or failed)'),
    autoMessages: z.number().int().describe('Automatic messages delivered in the hour'),
    source: z
      .enum(['counters', 'mongodb'])
      .describe("The stats consumer's live counters, or MongoDB when no worker runs that consumer"),
    computedAt: IsoDate,
  })
  .meta({ id: 'StatsHour' });
export type StatsHour = z.infer<typeof StatsHour>;

export const StatsQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe('Default: 24 hours before `to`'),
    to: z.iso.datetime({ offset: true }).optional().describe('Default: now'),
  })
  .refine((q) => !q.from || !q.to || new Date(q.from) <= new Date(q.to), {
    message: 'from must not be after to',
  });

export const StatsResult = z.object({ items: z.array(StatsHour) });

export const JobTriggerResult = z.object({
  runId: z.string(),
  counts: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
});
