import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Task, TaskData, TasksRepository } from './tasks.repository.js';

/** The work cannot succeed however often it is tried (bad input): the task fails at once. */
export class TaskFailedError extends Error {
  override readonly name = 'TaskFailedError';
}

/** The reason a cancelled task's signal carries. */
export class TaskCancelledError extends Error {
  override readonly name = 'TaskCancelledError';
  constructor() {
    super('cancelled by request');
  }
}

export interface TaskContext {
  readonly task: Task;
  /**
   * Aborts when the owner cancels (reason: TaskCancelledError) or the job can no longer be
   * acknowledged. Work stops soon after and removes what it wrote so far.
   */
  readonly signal: AbortSignal;
  /** 0..1; sent to the owner at most 4 times a second, the last value always. */
  readonly progress: (fraction: number) => void;
}

export type TaskWork = (ctx: TaskContext) => Promise<TaskData>;

export interface TaskDelivery {
  readonly attempt: number;
  /** The broker delivered this job before: the previous run's process may have died mid-way. */
  readonly redelivered: boolean;
  /** No retry follows a failure of this attempt. */
  readonly finalAttempt: boolean;
}

export interface TaskRunnerOptions {
  retentionMs: number;
  /** How often running tasks are checked for cancel requests (well under the 2 s promise). */
  cancelPollMs?: number;
  /** Minimum time between two progress reports of one task. */
  progressIntervalMs?: number;
}

/** What happened to a task when its run ended; `announce` tells the owner. */
export interface TaskHooks {
  announce(task: Task): void;
  finished?(task: Task): void;
}

/**
 * Runs tasks inside queue jobs, for any kind of work. A run claims the task (so a cancelled or
 * finished task is skipped and a redelivered job takes over a dead run), passes the work an
 * AbortSignal tied to cancel requests, throttles progress, and records the outcome with one
 * conditional write, so a task finishes exactly once however often its job is delivered.
 */
export class TaskRunner {
  private readonly running = new Map<string, AbortController>();
  private watch: NodeJS.Timeout | null = null;
  private readonly cancelPollMs: number;
  private readonly progressIntervalMs: number;

  constructor(
    private readonly tasks: TasksRepository,
    private readonly hooks: TaskHooks,
    private readonly logger: Logger,
    private readonly options: TaskRunnerOptions,
  ) {
    this.cancelPollMs = options.cancelPollMs ?? 500;
    this.progressIntervalMs = options.progressIntervalMs ?? 250;
  }

  /**
   * Resolves when the job is done with (ack): with the task, or null when `work` never ran
   * (cancelled while queued, already finished, running elsewhere, or gone) — the caller may
   * clean up after a task cancelled before it started. Rejects when the job should be retried
   * or parked (the task is back to `queued`, or `failed` on the final attempt).
   */
  async run(
    taskId: string,
    work: TaskWork,
    delivery: TaskDelivery,
    jobSignal: AbortSignal,
  ): Promise<Task | null> {
    const token = randomUUID();
    const takeOver = delivery.redelivered || delivery.attempt > 1;
    const task = await this.tasks.claim(taskId, token, takeOver);
    if (!task) return null;
    const log = this.logger.child({ taskId, type: task.type, attempt: delivery.attempt });
    if (task.cancelRequested) {
      await this.finish(task, token, 'cancelled', {});
      return null;
    }
    this.hooks.announce(task);
    const cancel = new AbortController();
    this.track(taskId, cancel);
    const progress = new ProgressReporter(this.progressIntervalMs, (fraction) =>
      this.reportProgress(taskId, token, fraction, log),
    );
    try {
      const result = await work({
        task,
        signal: AbortSignal.any([cancel.signal, jobSignal]),
        progress: (fraction) => progress.report(fraction),
      });
      await progress.stop();
      await this.finish(task, token, 'succeeded', { result });
      return task;
    } catch (error) {
      await progress.stop();
      await this.settleFailure(task, token, error, { cancel, jobSignal, delivery, log });
      return task;
    } finally {
      this.untrack(taskId);
    }
  }

  private async settleFailure(
    task: Task,
    token: string,
    error: unknown,
    ctx: { cancel: AbortController; jobSignal: AbortSignal; delivery: TaskDelivery; log: Logger },
  ): Promise<void> {
    if (ctx.cancel.signal.aborted) {
      ctx.log.info('task cancelled');
      await this.finish(task, token, 'cancelled', {});
      return;
    }
    // The job goes back to the queue untouched; its redelivery takes the run over.
    if (ctx.jobSignal.aborted) throw error;
    const message = errorMessage(error);
    if (error instanceof TaskFailedError) {
      ctx.log.info({ err: error }, 'task failed');
      await this.finish(task, token, 'failed', { error: message });
      return;
    }
    if (ctx.delivery.finalAttempt) {
      await this.finish(task, token, 'failed', { error: message });
    } else {
      const requeued = await this.tasks.requeue(task.id, token, message);
      if (requeued) this.hooks.announce(requeued);
    }
    throw error;
  }

  /** The task as stored now. */
  current(taskId: string): Promise<Task | null> {
    return this.tasks.findById(taskId);
  }

  private async finish(
    task: Task,
    token: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    outcome: { result?: TaskData; error?: string },
  ): Promise<void> {
    const finished = await this.tasks.finish(
      task.id,
      token,
      state,
      outcome,
      this.options.retentionMs,
    );
    if (!finished) return; // another run finished it first
    this.hooks.announce(finished);
    this.hooks.finished?.(finished);
  }

  private async reportProgress(id: string, token: string, fraction: number, log: Logger) {
    try {
      const task = await this.tasks.setProgress(id, token, fraction);
      if (task) this.hooks.announce(task);
    } catch (error) {
      log.warn({ err: error }, 'could not record task progress');
    }
  }

  private track(id: string, cancel: AbortController): void {
    this.running.set(id, cancel);
    this.watch ??= setInterval(() => void this.pollCancels(), this.cancelPollMs);
    this.watch.unref();
  }

  private untrack(id: string): void {
    this.running.delete(id);
    if (this.running.size === 0 && this.watch) {
      clearInterval(this.watch);
      this.watch = null;
    }
  }

  /** One indexed read per poll for every task this process runs. */
  private async pollCancels(): Promise<void> {
    try {
      for (const id of await this.tasks.cancelRequested([...this.running.keys()]))
        this.running.get(id)?.abort(new TaskCancelledError());
    } catch (error) {
      this.logger.warn({ err: error }, 'could not check tasks for cancel requests');
    }
  }
}

/** Leading and trailing throttle: the first report goes at once, then at most one per interval. */
class ProgressReporter {
  private lastSent = 0;
  private pending: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly intervalMs: number,
    private readonly send: (fraction: number) => Promise<void>,
  ) {}

  report(fraction: number): void {
    if (this.stopped) return;
    this.pending = Math.min(1, Math.max(0, fraction));
    if (this.timer) return;
    const wait = this.lastSent + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  /** No more reports; resolves once the one being written (if any) is done. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.inFlight;
  }

  private flush(): void {
    this.timer = null;
    if (this.pending === null || this.stopped) return;
    const fraction = this.pending;
    this.pending = null;
    this.lastSent = Date.now();
    this.inFlight = this.send(fraction);
  }
}
