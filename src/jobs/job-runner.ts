import { randomUUID } from 'node:crypto';
import type { JobRunView } from '../contracts/jobs.js';
import type { Logger } from '../logger.js';
import { errorMessage } from '../errors.js';
import type { JobRun, JobRunsRepository } from './job-runs.repository.js';

export type JobCounts = JobRun['counts'];

/**
 * Runs a job at most once per (name, scheduled time) across every scheduler process, and records
 * start, end, outcome and counts. Manual runs (operators) get a unique id of their own.
 */
export class JobRunner {
  constructor(
    private readonly runs: JobRunsRepository,
    private readonly logger: Logger,
    /** Told each run's outcome (metrics). */
    private readonly onFinished: (job: string, outcome: 'succeeded' | 'failed') => void = () =>
      undefined,
  ) {}

  /** Returns the run's counts, or null when another process owns this tick. */
  async runOnce<C extends JobCounts>(
    name: string,
    scheduledAt: Date,
    job: (runId: string) => Promise<C>,
  ): Promise<{ runId: string; counts: C } | null> {
    const runId = `${name}@${scheduledAt.toISOString()}`;
    const run = await this.runs.tryStart(runId, name, scheduledAt, 'cron');
    if (!run) return null;
    if (run.takeovers > 0)
      this.logger.warn({ jobId: runId }, 'took over a run whose lease expired');
    return { runId, counts: await this.execute(run, job) };
  }

  get leaseMs(): number {
    return this.runs.leaseMs;
  }

  /** Scheduled runs of these jobs left `running` by an owner whose lease has passed. */
  expiredRuns(names: readonly string[]): Promise<JobRun[]> {
    return this.runs.expired(names, new Date());
  }

  async runManually<C extends JobCounts>(
    name: string,
    job: (runId: string) => Promise<C>,
  ): Promise<{ runId: string; counts: C }> {
    const runId = `${name}@manual:${randomUUID()}`;
    const run = await this.runs.tryStart(runId, name, new Date(), 'manual');
    if (!run) throw new Error(`manual run ${runId} already exists`);
    return { runId, counts: await this.execute(run, job) };
  }

  /** Recent runs, newest first, for operators. */
  async recent(limit: number, name?: string): Promise<JobRunView[]> {
    const runs = await this.runs.recent(limit, name);
    return runs.map((r) => ({
      ...r,
      scheduledAt: r.scheduledAt.toISOString(),
      startedAt: r.startedAt.toISOString(),
      finishedAt: r.finishedAt?.toISOString() ?? null,
    }));
  }

  private async execute<C extends JobCounts>(
    run: JobRun,
    job: (runId: string) => Promise<C>,
  ): Promise<C> {
    const log = this.logger.child({ jobId: run.id, job: run.name });
    const heartbeat = this.keepLease(run, log);
    try {
      const counts = await job(run.id);
      await this.runs.finish(run.id, run.owner, 'succeeded', counts, null);
      log.info({ counts }, 'job succeeded');
      this.onFinished(run.name, 'succeeded');
      return counts;
    } catch (error) {
      log.error({ err: error }, 'job failed');
      this.onFinished(run.name, 'failed');
      await this.runs.finish(run.id, run.owner, 'failed', {}, errorMessage(error));
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Renews the run's lease every third of it while the job runs. */
  private keepLease(run: JobRun, log: Logger): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.runs.renew(run.id, run.owner).then(
        (held) => {
          if (!held) log.warn('lost the lease of this run: another scheduler took it over');
        },
        (error: unknown) => log.warn({ err: error }, 'could not renew the run lease'),
      );
    }, this.runs.leaseMs / 3);
    timer.unref();
    return timer;
  }
}
