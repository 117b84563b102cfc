import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '../infra/duplicate-key.js';

export type RunOutcome = 'running' | 'succeeded' | 'failed';

export interface JobRun {
  id: string;
  name: string;
  scheduledAt: Date;
  trigger: 'cron' | 'manual';
  startedAt: Date;
  finishedAt: Date | null;
  outcome: RunOutcome;
  counts: Record<string, number | string | null>;
  error: string | null;
}

interface JobRunDoc extends Omit<JobRun, 'id'> {
  _id: string;
}

/**
 * `jobruns` collection: one document per (job, scheduled time). Its `_id` is that pair, so when
 * several schedulers fire the same tick exactly one insert wins — the lock is the unique key.
 * Index: `name, startedAt desc` for the operators' "recent runs" view. Runs expire after 30 days.
 */
export class JobRunsRepository {
  private readonly runs: Collection<JobRunDoc>;

  constructor(db: Db) {
    this.runs = db.collection<JobRunDoc>('jobruns');
  }

  async ensureIndexes(): Promise<void> {
    await this.runs.createIndexes([
      { key: { name: 1, startedAt: -1 }, name: 'recent_by_name' },
      { key: { startedAt: -1 }, name: 'recent' },
      { key: { finishedAt: 1 }, name: 'expire', expireAfterSeconds: 30 * 24 * 3600 },
    ]);
  }

  /** Starts the run for this tick, or returns null when another process already has it. */
  async tryStart(
    id: string,
    name: string,
    scheduledAt: Date,
    trigger: JobRun['trigger'],
  ): Promise<JobRun | null> {
    const doc: JobRunDoc = {
      _id: id,
      name,
      scheduledAt,
      trigger,
      startedAt: new Date(),
      finishedAt: null,
      outcome: 'running',
      counts: {},
      error: null,
    };
    try {
      await this.runs.insertOne(doc);
      return toRun(doc);
    } catch (error) {
      if (isDuplicateKeyError(error)) return null;
      throw error;
    }
  }

  async finish(
    id: string,
    outcome: RunOutcome,
    counts: JobRun['counts'],
    error: string | null,
  ): Promise<void> {
    await this.runs.updateOne(
      { _id: id },
      { $set: { outcome, counts, error, finishedAt: new Date() } },
    );
  }

  async recent(limit: number, name?: string): Promise<JobRun[]> {
    const docs = await this.runs
      .find(name ? { name } : {})
      .sort({ startedAt: -1 })
      .limit(limit)
      .toArray();
    return docs.map(toRun);
  }
}

function toRun(doc: JobRunDoc): JobRun {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}
