import { z } from 'zod';
import { IsoDate, Limit } from './common.js';

/** Background work a user started (SPEC §12): one shape for every kind of task. */

export const TaskState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type TaskState = z.infer<typeof TaskState>;

/** States a task never leaves. */
export const FINISHED_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled'];

export const TaskView = z
  .object({
    id: z.string(),
    type: z.string().describe('What the task does, e.g. `media.process`'),
    state: TaskState,
    progress: z.number().min(0).max(1),
    ownerId: z.string(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.string().optional(),
    cancelRequested: z
      .boolean()
      .optional()
      .describe('A cancel reached a running task; it stops within 2 s'),
    createdAt: IsoDate,
    startedAt: IsoDate.optional(),
    finishedAt: IsoDate.optional(),
  })
  .meta({ id: 'Task' });
export type TaskView = z.infer<typeof TaskView>;

export const TaskResult = z.object({ task: TaskView });

export const TaskListQuery = z.object({
  state: z
    .enum(['active', ...TaskState.options])
    .optional()
    .describe('`active` = queued or running; all states when absent'),
  all: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe("Administrators only: every user's tasks"),
  limit: Limit,
  cursor: z
    .string()
    .regex(/^[0-9a-f]{24}$/, 'a nextCursor from the previous page')
    .optional(),
});
export type TaskListQuery = z.output<typeof TaskListQuery>;

export const TaskPage = z
  .object({ items: z.array(TaskView), nextCursor: z.string().nullable() })
  .meta({ id: 'TaskPage' });
