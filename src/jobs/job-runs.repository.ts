import { randomUUID } from 'node:crypto';
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
  /** The process running it now; only the owner renews the lease or records the outcome. */
  owner: string;
  /** A running run whose lease has passed is taken over by the next scheduler to fire it. */
  leaseUntil: Date;
  takeovers: number;
}

interface JobRunDoc extends Omit<JobRun, 'id'> {
  _id: string;
}

/** Default lease of a run: renewed every third of it while the run is alive. */
export const DEFAULT_JOB_LEASE_MS = 60_000;

/**
 * `jobruns` collection: one document per (job, scheduled time). Its `_id` is that pair, so when
 * several schedulers fire the same tick exactly one insert wins — the lock is the unique key.
 * The lock is a lease: its owner renews `leaseUntil` while it runs; if the owner dies, the run
 * stays `running` only until the lease passes; then a live scheduler's sweep (or the next to
 * fire that tick) takes it over — the jobs themselves are idempotent per run id.
 * Indexes: `name, startedAt desc` for the operators' "recent runs" view; `outcome, leaseUntil`
 * for the schedulers' sweep of expired runs. Runs expire after 30 days.
 */
export class JobRunsRepository {
  private readonly runs: Collection<JobRunDoc>;

  constructor(
    db: Db,
    readonly leaseMs = DEFAULT_JOB_LEASE_MS,
  ) {
    this.runs = db.collection<JobRunDoc>('jobruns');
  }

  async ensureIndexes(): Promise<void> {
    await this.runs.createIndexes([
      { key: { name: 1, startedAt: -1 }, name: 'recent_by_name' },
      { key: { startedAt: -1 }, name: 'recent' },
      { key: { finishedAt: 1 }, name: 'expire', expireAfterSeconds: 30 * 24 * 3600 },
      { key: { outcome: 1, leaseUntil: 1 }, name: 'expired_leases' },
    ]);
  }

  /**
   * Starts the run for this tick, or takes it over when its owner's lease has expired.
   * Returns null while another live process holds it, or once it has finished.
   */
  async tryStart(
    id: string,
    name: string,
    scheduledAt: Date,
    trigger: JobRun['trigger'],
  ): Promise<JobRun | null> {
    const now = new Date();
    const owner = randomUUID();
    const doc: JobRunDoc = {
      _id: id,
      name,
      scheduledAt,
      trigger,
      startedAt: now,
      finishedAt: null,
      outcome: 'running',
      counts: {},
      error: null,
      owner,
      leaseUntil: this.leaseFrom(now),
      takeovers: 0,
    };
    try {
      await this.runs.insertOne(doc);
      return toRun(doc);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    return this.takeOver(id, owner, now);
  }

  /** Moves an expired run (or one recorded before leases existed) to a new owner. */
  private async takeOver(id: string, owner: string, now: Date): Promise<JobRun | null> {
    const taken = await this.runs.findOneAndUpdate(
      {
        _id: id,
        outcome: 'running',
        $or: [{ leaseUntil: { $lt: now } }, { leaseUntil: { $exists: false } }],
      },
      { $set: { owner, leaseUntil: this.leaseFrom(now) }, $inc: { takeovers: 1 } },
      { returnDocument: 'after' },
    );
    return taken ? toRun(taken) : null;
  }

  /** Scheduled (cron) runs still `running` whose lease has passed: their owner died. */
  async expired(names: readonly string[], now: Date): Promise<JobRun[]> {
    const docs = await this.runs
      .find({ outcome: 'running', leaseUntil: { $lt: now }, name: { $in: [...names] } })
      .limit(100)
      .toArray();
    return docs.filter((d) => d.trigger === 'cron').map(toRun);
  }

  /** The owner's heartbeat. False when the run is no longer its own (taken over or finished). */
  async renew(id: string, owner: string): Promise<boolean> {
    const result = await this.runs.updateOne(
      { _id: id, owner, outcome: 'running' },
      { $set: { leaseUntil: this.leaseFrom(new Date()) } },
    );
    return result.matchedCount === 1;
  }

  /** Records the outcome, unless another process has taken the run over meanwhile. */
  async finish(
    id: string,
    owner: string,
    outcome: RunOutcome,
    counts: JobRun['counts'],
    error: string | null,
  ): Promise<void> {
    await this.runs.updateOne(
      { _id: id, owner },
      { $set: { outcome, counts, error, finishedAt: new Date() } },
    );
  }

  private leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.leaseMs);
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
