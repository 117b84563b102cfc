import {
  domainEvent,
  noWake,
  OUTBOX_INDEX,
  outboxPush,
  type OutboxFields,
  type OutboxWritten,
} from '../events/outbox.js';
import { ObjectId, type Collection, type Db, type Filter } from 'mongodb';
import type { TaskState } from '../../contracts/tasks.js';
import { parseObjectId } from '../../infra/ids.js';

export type TaskData = Record<string, unknown>;

interface TaskDoc extends OutboxFields {
  _id: ObjectId;
  type: string;
  state: TaskState;
  progress: number;
  ownerId: string;
  /** What the work needs (e.g. the attachment id); never shown to clients. */
  input: TaskData;
  result?: TaskData;
  error?: string;
  cancelRequested: boolean;
  /** Who runs it now: set by each claim, so a superseded run can neither report nor finish. */
  runToken: string | null;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  /** Finished tasks are removed by the TTL index at this time (finish + retention). */
  expireAt?: Date;
}

/** A task as services see it: the stored fields without storage bookkeeping, `_id` as `id`. */
export type Task = Omit<
  TaskDoc,
  '_id' | keyof OutboxFields | 'runToken' | 'updatedAt' | 'expireAt'
> & {
  id: string;
};

export interface TaskListFilter {
  ownerId?: string;
  states?: readonly TaskState[];
  /** Tasks older than this id (the previous page's cursor). */
  before?: string;
  limit: number;
}

/**
 * `tasks` collection, shared by every kind of background work. Indexes:
 * - `ownerId, state, _id desc`: a user's tasks in some states, newest first.
 * - `ownerId, _id desc`: a user's tasks in every state.
 * - `state, _id desc`: operators' view across users (`all=true`).
 * - `expireAt` (TTL 0): finished tasks disappear after the retention (TASK_RETENTION); the date
 *   is stored per task, so changing the retention never conflicts with the existing index.
 * The workers' cancel watch reads by `_id`.
 */
export class TasksRepository {
  private readonly tasks: Collection<TaskDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
  ) {
    this.tasks = db.collection<TaskDoc>('tasks');
  }

  async ensureIndexes(): Promise<void> {
    await this.tasks.createIndexes([
      { key: { ownerId: 1, state: 1, _id: -1 }, name: 'owner_state' },
      { key: { ownerId: 1, _id: -1 }, name: 'owner' },
      { key: { state: 1, _id: -1 }, name: 'state' },
      { key: { expireAt: 1 }, name: 'retention', expireAfterSeconds: 0 },
      OUTBOX_INDEX,
    ]);
  }

  async create(type: string, ownerId: string, input: TaskData): Promise<Task> {
    const now = new Date();
    const doc: TaskDoc = {
      _id: new ObjectId(),
      type,
      state: 'queued',
      progress: 0,
      ownerId,
      input,
      cancelRequested: false,
      runToken: null,
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.tasks.insertOne(doc);
    return toTask(doc);
  }

  async findById(id: string): Promise<Task | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const doc = await this.tasks.findOne({ _id });
    return doc ? toTask(doc) : null;
  }

  async list(filter: TaskListFilter): Promise<Task[]> {
    const query: Filter<TaskDoc> = {};
    if (filter.ownerId !== undefined) query.ownerId = filter.ownerId;
    if (filter.states) query.state = { $in: [...filter.states] };
    const before = filter.before ? parseObjectId(filter.before) : null;
    if (before) query._id = { $lt: before };
    const docs = await this.tasks.find(query).sort({ _id: -1 }).limit(filter.limit).toArray();
    return docs.map(toTask);
  }

  /** Queued → cancelled at once. Null when it was no longer queued. */
  async cancelQueued(id: string, retentionMs: number): Promise<Task | null> {
    return this.finishWhere({ _id: new ObjectId(id), state: 'queued' }, 'cancelled', retentionMs);
  }

  /** Queued → failed, for work that could not even be handed to a worker. Null when not queued. */
  async failQueued(id: string, error: string, retentionMs: number): Promise<Task | null> {
    return this.finishWhere({ _id: new ObjectId(id), state: 'queued' }, 'failed', retentionMs, {
      error,
    });
  }

  /** Flags a running task; its worker's cancel watch aborts the work. Null when not running. */
  async requestCancel(id: string): Promise<Task | null> {
    const doc = await this.tasks.findOneAndUpdate(
      { _id: new ObjectId(id), state: 'running' },
      { $set: { cancelRequested: true, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? toTask(doc) : null;
  }

  /**
   * Starts a run: queued → running, or (after the previous run's process died, `takeOver`)
   * running → running under a new token. Null when the task is finished or (without takeOver)
   * already running.
   */
  async claim(id: string, runToken: string, takeOver: boolean): Promise<Task | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const now = new Date();
    const doc = await this.tasks.findOneAndUpdate(
      { _id, state: { $in: takeOver ? ['queued', 'running'] : ['queued'] } },
      {
        $set: { state: 'running', runToken, updatedAt: now },
        $min: { startedAt: now },
        $inc: { attempts: 1 },
      },
      { returnDocument: 'after' },
    );
    return doc ? toTask(doc) : null;
  }

  /** Records progress of the current run only. */
  async setProgress(id: string, runToken: string, progress: number): Promise<Task | null> {
    const doc = await this.tasks.findOneAndUpdate(
      { _id: new ObjectId(id), runToken, state: 'running' },
      { $set: { progress, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? toTask(doc) : null;
  }

  /** A run that will be retried later: back to queued, progress reset. */
  async requeue(id: string, runToken: string, error: string): Promise<Task | null> {
    const doc = await this.tasks.findOneAndUpdate(
      { _id: new ObjectId(id), runToken, state: 'running' },
      { $set: { state: 'queued', progress: 0, error, runToken: null, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? toTask(doc) : null;
  }

  /**
   * The one transition to a final state, by the current run only: a second finish (a stale or
   * duplicate run) matches nothing and returns null, so a task finishes exactly once.
   */
  async finish(
    id: string,
    runToken: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    outcome: { result?: TaskData; error?: string },
    retentionMs: number,
  ): Promise<Task | null> {
    return this.finishWhere(
      { _id: new ObjectId(id), runToken, state: 'running' },
      state,
      retentionMs,
      outcome,
    );
  }

  /** Of these running tasks, the ids whose owner asked to cancel them. */
  async cancelRequested(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const docs = await this.tasks
      .find(
        { _id: { $in: ids.map((id) => new ObjectId(id)) }, cancelRequested: true },
        { projection: { _id: 1 } },
      )
      .toArray();
    return docs.map((d) => d._id.toHexString());
  }

  private async finishWhere(
    filter: Filter<TaskDoc>,
    state: 'succeeded' | 'failed' | 'cancelled',
    retentionMs: number,
    outcome: { result?: TaskData; error?: string } = {},
  ): Promise<Task | null> {
    // Type and owner never change: read them for the event, then finish conditionally.
    const task = await this.tasks.findOne(filter, { projection: { type: 1, ownerId: 1 } });
    if (!task) return null;
    const now = new Date();
    const taskId = task._id.toHexString();
    const finished = domainEvent('task.finished', taskId, task.ownerId, {
      taskId,
      type: task.type,
      ownerId: task.ownerId,
      state,
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    });
    const doc = await this.tasks.findOneAndUpdate(
      { ...filter, _id: task._id },
      {
        ...outboxPush([finished], now),
        $set: {
          state,
          runToken: null,
          updatedAt: now,
          finishedAt: now,
          expireAt: new Date(now.getTime() + retentionMs),
          ...(state === 'succeeded' ? { progress: 1 } : {}),
          ...(outcome.result ? { result: outcome.result } : {}),
          ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        },
        ...(state === 'succeeded' ? { $unset: { error: '' as const } } : {}),
      },
      { returnDocument: 'after' },
    );
    if (!doc) return null;
    this.written();
    return toTask(doc);
  }
}

function toTask(doc: TaskDoc): Task {
  return {
    id: doc._id.toHexString(),
    type: doc.type,
    state: doc.state,
    progress: doc.progress,
    ownerId: doc.ownerId,
    input: doc.input,
    cancelRequested: doc.cancelRequested,
    attempts: doc.attempts,
    createdAt: doc.createdAt,
    ...(doc.result ? { result: doc.result } : {}),
    ...(doc.error !== undefined ? { error: doc.error } : {}),
    ...(doc.startedAt ? { startedAt: doc.startedAt } : {}),
    ...(doc.finishedAt ? { finishedAt: doc.finishedAt } : {}),
  };
}
