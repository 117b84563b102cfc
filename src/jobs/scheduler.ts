import { Cron } from 'croner';
import type { Logger } from '../logger.js';
import type { JobCounts, JobRunner } from './job-runner.js';

export interface ScheduledJob {
  name: string;
  cron: string;
  /** One service call; scheduling never does the work itself. */
  run(runId: string): Promise<JobCounts>;
}

/**
 * Cron ticks in `timezone`. Every scheduler process fires every tick, and the JobRunner's run
 * record lets exactly one of them run it.
 */
export function startScheduler(
  jobs: ScheduledJob[],
  timezone: string,
  runner: JobRunner,
  logger: Logger,
) {
  const running = new Set<Promise<unknown>>();
  const crons = jobs.map(
    (job) =>
      new Cron(job.cron, { timezone, protect: true }, async (self: Cron) => {
        // Scheduled instants are whole seconds; rounding removes the firing jitter so every
        // scheduler computes the same run key for the same tick.
        const fired = (self.currentRun() ?? new Date()).getTime();
        const scheduledAt = new Date(Math.round(fired / 1000) * 1000);
        const run = runner.runOnce(job.name, scheduledAt, (runId) => job.run(runId));
        running.add(run);
        try {
          const result = await run;
          if (!result)
            logger.debug({ job: job.name, scheduledAt }, 'tick taken by another scheduler');
        } catch (error) {
          logger.error({ err: error, job: job.name }, 'scheduled job failed');
        } finally {
          running.delete(run);
        }
      }),
  );
  logger.info({ jobs: jobs.map((j) => `${j.name} "${j.cron}"`), timezone }, 'scheduler started');
  return {
    /** Stops ticking and waits for runs in progress, so none is cut off mid-publish. */
    async stop() {
      for (const cron of crons) cron.stop();
      await Promise.allSettled([...running]);
    },
  };
}
