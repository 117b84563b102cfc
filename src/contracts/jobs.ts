import { z } from 'zod';
import { IsoDate } from './common.js';

/** The operators' view of scheduled job runs (GET /api/admin/jobs/runs). */

export const RunsQuery = z.object({
  name: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const JobRunView = z
  .object({
    id: z.string(),
    name: z.string(),
    trigger: z.enum(['cron', 'manual']),
    scheduledAt: IsoDate,
    startedAt: IsoDate,
    finishedAt: IsoDate.nullable(),
    outcome: z.enum(['running', 'succeeded', 'failed']),
    counts: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
    error: z.string().nullable(),
  })
  .meta({ id: 'JobRun' });
export type JobRunView = z.infer<typeof JobRunView>;

export const RunsResult = z.object({ items: z.array(JobRunView) });
