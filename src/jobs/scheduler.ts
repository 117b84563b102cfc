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
  const fire = async (job: ScheduledJob, scheduledAt: Date) => {
    const run = runner.runOnce(job.name, scheduledAt, (runId) => job.run(runId));
    running.add(run);
    try {
      const result = await run;
      if (!result) logger.debug({ job: job.name, scheduledAt }, 'tick taken by another scheduler');
    } catch (error) {
      logger.error({ err: error, job: job.name }, 'scheduled job failed');
    } finally {
      running.delete(run);
    }
  };
  const crons = jobs.map(
    (job) =>
      new Cron(job.cron, { timezone, protect: true }, async (self: Cron) => {
        // Scheduled instants are whole seconds; rounding removes the firing jitter so every
        // scheduler computes the same run key for the same tick.
        const fired = (self.currentRun() ?? new Date()).getTime();
        await fire(job, new Date(Math.round(fired / 1000) * 1000));
      }),
  );
  // A tick fires once: when the process running it dies, nothing would fire it again. Every
  // scheduler looks for runs of its jobs whose lease expired and resumes them (the jobs are
  // idempotent per run id); the run record still lets only one of them do it.
  const byName = new Map(jobs.map((job) => [job.name, job]));
  const sweep = async () => {
    try {
      for (const dead of await runner.expiredRuns([...byName.keys()])) {
        const job = byName.get(dead.name);
        if (job) await fire(job, dead.scheduledAt);
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not look for expired runs');
    }
  };
  const sweeper = setInterval(() => void sweep(), runner.leaseMs / 2);
  sweeper.unref();
  logger.info({ jobs: jobs.map((j) => `${j.name} "${j.cron}"`), timezone }, 'scheduler started');
  return {
    /** Stops ticking and waits for runs in progress, so none is cut off mid-publish. */
    async stop() {
      clearInterval(sweeper);
      for (const cron of crons) cron.stop();
      await Promise.allSettled([...running]);
    },
  };
}
