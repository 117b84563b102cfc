import { FINISHED_STATES, type TaskListQuery, type TaskView } from '../../contracts/tasks.js';
import type { Notifier } from '../../contracts/socket.js';
import { errors } from '../../errors.js';
import type { Task, TaskData, TasksRepository } from './tasks.repository.js';

export interface TasksServiceOptions {
  /** How long finished tasks are kept (TASK_RETENTION). */
  retentionMs: number;
}

/**
 * The task store's public side (SPEC §12): any background work creates a task here, owners (and
 * admins) read and cancel it. Every state change reaches the owner as `task_updated`.
 */
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly notifier: Notifier,
    private readonly isAdmin: (userId: string) => Promise<boolean>,
    readonly options: TasksServiceOptions,
  ) {}

  async create(type: string, ownerId: string, input: TaskData): Promise<TaskView> {
    const task = await this.tasks.create(type, ownerId, input);
    this.announce(task);
    return presentTask(task);
  }

  async get(userId: string, id: string): Promise<TaskView> {
    return presentTask(await this.requireVisible(userId, id));
  }

  async list(userId: string, query: TaskListQuery) {
    if (query.all && !(await this.isAdmin(userId))) throw errors.forbidden('Administrators only');
    const states =
      query.state === 'active'
        ? (['queued', 'running'] as const)
        : query.state
          ? [query.state]
          : undefined;
    const rows = await this.tasks.list({
      ...(query.all ? {} : { ownerId: userId }),
      ...(states ? { states } : {}),
      ...(query.cursor ? { before: query.cursor } : {}),
      limit: query.limit + 1,
    });
    const items = rows.slice(0, query.limit).map(presentTask);
    const nextCursor = rows.length > query.limit ? (items.at(-1)?.id ?? null) : null;
    return { items, nextCursor };
  }

  /**
   * Queued: cancelled at once. Running: flagged; the worker running it aborts the work's signal
   * within a second and records `cancelled` once its partial output is removed. Finished: 409.
   */
  async cancel(userId: string, id: string): Promise<TaskView> {
    const task = await this.requireVisible(userId, id);
    if (FINISHED_STATES.includes(task.state))
      throw errors.conflict(`Task already ${task.state}`, { state: task.state });
    const cancelled =
      (await this.tasks.cancelQueued(task.id, this.options.retentionMs)) ??
      (await this.tasks.requestCancel(task.id));
    if (cancelled) {
      this.announce(cancelled);
      return presentTask(cancelled);
    }
    // It changed state between the read and the update: answer with what it is now.
    const now = await this.tasks.findById(task.id);
    if (!now || FINISHED_STATES.includes(now.state))
      throw errors.conflict(`Task already ${now?.state ?? 'finished'}`);
    return this.cancel(userId, id);
  }

  /**
   * Fails tasks whose work never reached a worker (the broker refused the job): the owner hears
   * it at once instead of a task that stays queued for ever. A task already picked up (its job
   * was confirmed after all) is left to its run.
   */
  async failQueued(ids: readonly string[], error: string): Promise<void> {
    for (const id of ids) {
      const failed = await this.tasks.failQueued(id, error, this.options.retentionMs);
      if (failed) this.announce(failed);
    }
  }

  /** `task_updated` to the owner's sockets, wherever they are connected. */
  announce(task: Task): void {
    this.notifier.toUsers([task.ownerId], 'task_updated', { task: presentTask(task) });
  }

  private async requireVisible(userId: string, id: string): Promise<Task> {
    const task = await this.tasks.findById(id);
    if (!task) throw errors.notFound('Task');
    if (task.ownerId !== userId && !(await this.isAdmin(userId))) throw errors.notFound('Task');
    return task;
  }
}

export function presentTask(task: Task): TaskView {
  return {
    id: task.id,
    type: task.type,
    state: task.state,
    progress: task.progress,
    ownerId: task.ownerId,
    ...(task.result ? { result: task.result } : {}),
    ...(task.error !== undefined ? { error: task.error } : {}),
    ...(task.cancelRequested && task.state === 'running' ? { cancelRequested: true } : {}),
    createdAt: task.createdAt.toISOString(),
    ...(task.startedAt ? { startedAt: task.startedAt.toISOString() } : {}),
    ...(task.finishedAt ? { finishedAt: task.finishedAt.toISOString() } : {}),
  };
}
