import type { AutoMessageJob, AutoMessageLifecycle } from '../../contracts/automessages.js';
import { UnrecoverableJobError } from '../../infra/job-errors.js';
import type { JobRunner } from '../../jobs/job-runner.js';
import type { Logger } from '../../logger.js';
import { asError, errorMessage, errors } from '../../errors.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { UsersRepository } from '../users/users.repository.js';
import type {
  AutoMessage,
  AutoMessagesRepository,
  ClaimedAutoMessage,
  PlannedAutoMessage,
} from './automessages.repository.js';
import { pairUp, pickTemplate, randomDateBetween, shuffle } from './plan.js';

export const PLAN_JOB = 'auto-message-plan';
export const QUEUE_JOB = 'auto-message-queue';

/** The queue as the service sees it: publish with confirms, learn which were confirmed. */
export interface AutoMessageQueue {
  publishMany(jobs: readonly AutoMessageJob[]): Promise<{
    confirmed: AutoMessageJob[];
    failed: { payload: AutoMessageJob; error: Error }[];
  }>;
}

export interface AutoMessageSettings {
  /** A claimed-but-unconfirmed message is re-published after this long (its run died). */
  claimTimeoutMs: number;
  insertBatchSize: number;
  publishBatchSize: number;
}

const DEFAULT_SETTINGS: AutoMessageSettings = {
  claimTimeoutMs: 5 * 60_000,
  insertBatchSize: 1000,
  publishBatchSize: 1000,
};
const DAY_MS = 24 * 3600 * 1000;

/** What the service uses of each collaborator: narrow, so unit tests can pass in-memory fakes. */
export interface AutoMessagesServiceDeps {
  autos: Pick<
    AutoMessagesRepository,
    | 'insertBatch'
    | 'usersPlannedIn'
    | 'claimDue'
    | 'markQueued'
    | 'releaseClaims'
    | 'findById'
    | 'recordFailure'
    | 'markSent'
    | 'markSentMany'
  >;
  users: Pick<UsersRepository, 'activeUserIds' | 'findSummaries'>;
  messages: Pick<MessagesService, 'sendAuto' | 'sendAutoMany'>;
  runner: Pick<JobRunner, 'runManually'>;
}

/** The three stages of SPEC §6: plan (nightly), queue (every minute), deliver (worker). */
export class AutoMessagesService {
  private readonly settings: AutoMessageSettings;

  constructor(
    private readonly autos: AutoMessagesServiceDeps['autos'],
    private readonly users: AutoMessagesServiceDeps['users'],
    private readonly messages: AutoMessagesServiceDeps['messages'],
    private readonly queue: AutoMessageQueue,
    private readonly runner: AutoMessagesServiceDeps['runner'],
    private readonly logger: Logger,
    settings: Partial<AutoMessageSettings> = {},
  ) {
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
  }

  /** Operator trigger; `to <= now` makes every message due at once. */
  async planNow(window: { from?: Date; to?: Date } = {}) {
    const started = Date.now();
    const now = new Date();
    const to = window.to ?? new Date((window.from ?? now).getTime() + DAY_MS);
    const from = window.from ?? (to < now ? to : now);
    if (from > to)
      throw errors.validation(
        { sendDateFrom: from, sendDateTo: to },
        'sendDateFrom must not be after sendDateTo',
      );
    const { runId, counts } = await this.runner.runManually(PLAN_JOB, (id) =>
      this.plan(id, from, to),
    );
    return {
      runId,
      pairs: counts.pairs,
      unpairedUserId: counts.unpairedUserId,
      durationMs: Date.now() - started,
    };
  }

  /**
   * One planning run: stream active ids, shuffle, pair, insert in batches tagged with the run.
   * Idempotent per run id: a run taken over after its scheduler died (or simply repeated) pairs
   * only the users the run has not paired yet, so one night never gets a second set.
   */
  async plan(runId: string, from: Date, to: Date) {
    const done = await this.autos.usersPlannedIn(runId);
    const ids: string[] = [];
    for await (const id of this.users.activeUserIds()) if (!done.users.has(id)) ids.push(id);
    const { pairs, unpaired } = pairUp(shuffle(ids));
    const { insertBatchSize } = this.settings;
    for (let i = 0; i < pairs.length; i += insertBatchSize) {
      const batch: PlannedAutoMessage[] = pairs
        .slice(i, i + insertBatchSize)
        .map(([senderId, receiverId]) => ({
          senderId,
          receiverId,
          content: pickTemplate(),
          sendDate: randomDateBetween(from, to),
          runId,
        }));
      await this.autos.insertBatch(batch);
    }
    if (unpaired) this.logger.info({ runId, unpairedUserId: unpaired }, 'odd user out tonight');
    return {
      users: ids.length + done.users.size,
      pairs: pairs.length + done.pairs,
      unpairedUserId: unpaired,
    };
  }

  async queueNow() {
    const { runId, counts } = await this.runner.runManually(QUEUE_JOB, (id) => this.queueDue(id));
    return { runId, queued: counts.queued, failed: counts.failed };
  }

  /**
   * Claims due messages, publishes them with confirms, then marks them queued. A crash after
   * publishing leaves them claimed; they are re-published once the claim goes stale, and the
   * worker's unique autoMessageId turns that second copy into a no-op.
   */
  async queueDue(runId: string) {
    let queued = 0;
    let failed = 0;
    for (;;) {
      const now = new Date();
      const claimed = await this.autos.claimDue(
        now,
        new Date(now.getTime() - this.settings.claimTimeoutMs),
        runId,
        this.settings.publishBatchSize,
      );
      if (claimed.length === 0) break;
      const result = await this.publishClaimed(claimed, runId);
      queued += await this.autos.markQueued(
        result.confirmed.map((j) => j.autoMessageId),
        runId,
        new Date(),
      );
      if (result.failed.length > 0) {
        failed += result.failed.length;
        await this.autos.releaseClaims(
          result.failed.map((f) => f.payload.autoMessageId),
          runId,
        );
        this.logger.warn(
          { runId, failed: result.failed.length, err: result.failed[0]?.error },
          'publish not confirmed; will retry next run',
        );
        break;
      }
    }
    return { queued, failed };
  }

  /**
   * A publish that throws (no broker connection within the wait) gives the batch's claims back
   * at once; kept, they would hold the batch until the claim timeout (5 min by default). Should
   * part of it have reached the queue, the second copy is a no-op for the worker.
   */
  private async publishClaimed(claimed: ClaimedAutoMessage[], runId: string) {
    try {
      return await this.queue.publishMany(claimed.map(toJob));
    } catch (error) {
      await this.autos
        .releaseClaims(
          claimed.map((a) => a.id),
          runId,
        )
        .catch((e: unknown) => {
          this.logger.error({ err: e, runId }, 'could not release claims; they go stale instead');
        });
      throw error;
    }
  }

  /** Worker: create the message once, announce it, mark the auto message sent. Then it is acked. */
  async deliver(job: AutoMessageJob): Promise<void> {
    try {
      const { message } = await this.messages.sendAuto(job);
      await this.autos.markSent(
        {
          id: job.autoMessageId,
          messageId: message.id,
          senderId: job.senderId,
          receiverId: job.receiverId,
        },
        new Date(),
      );
    } catch (error) {
      await this.recordFailure(job, error);
      throw error;
    }
  }

  /**
   * Delivers a batch in a few bulk round trips. Returns one outcome per job (null = delivered).
   * A job whose sender or receiver no longer exists fails with `UnrecoverableJobError` (parked
   * at once: no retry can bring the user back). If the rest fails as a whole, each job is
   * retried alone, so one bad job fails only itself and the consumer retries or parks just it.
   */
  async deliverMany(jobs: readonly AutoMessageJob[]): Promise<(Error | null)[]> {
    const unrecoverable = await this.undeliverable(jobs);
    const deliverable = jobs.filter((_, i) => unrecoverable[i] === null);
    const delivered = deliverable.length > 0 ? await this.deliverBatch(deliverable) : [];
    let next = 0;
    return jobs.map((_, i) => unrecoverable[i] ?? delivered[next++] ?? null);
  }

  /** One error per job whose sender or receiver no longer exists (null for the others). */
  private async undeliverable(
    jobs: readonly AutoMessageJob[],
  ): Promise<(UnrecoverableJobError | null)[]> {
    const ids = [...new Set(jobs.flatMap((job) => [job.senderId, job.receiverId]))];
    const existing = new Set((await this.users.findSummaries(ids)).map((user) => user.id));
    return Promise.all(
      jobs.map(async (job) => {
        const gone = [job.senderId, job.receiverId].filter((id) => !existing.has(id));
        if (gone.length === 0) return null;
        const error = new UnrecoverableJobError(`user ${gone.join(' and ')} no longer exists`);
        await this.recordFailure(job, error);
        return error;
      }),
    );
  }

  private async deliverBatch(jobs: readonly AutoMessageJob[]): Promise<(Error | null)[]> {
    try {
      const results = await this.messages.sendAutoMany(jobs);
      await this.autos.markSentMany(
        results.map(({ message }, i) => {
          const job = jobs[i] as AutoMessageJob;
          return {
            id: job.autoMessageId,
            messageId: message.id,
            senderId: job.senderId,
            receiverId: job.receiverId,
          };
        }),
        new Date(),
      );
      return jobs.map(() => null);
    } catch (error) {
      this.logger.warn(
        { err: error, jobs: jobs.length },
        'batch delivery failed; delivering one by one',
      );
      return Promise.all(jobs.map((job) => this.deliver(job).then(() => null, asError)));
    }
  }

  /** Shown in the lifecycle (attempts, lastError); a failure to record it is only logged. */
  private async recordFailure(job: AutoMessageJob, error: unknown): Promise<void> {
    await this.autos.recordFailure(job.autoMessageId, errorMessage(error)).catch((e: unknown) => {
      this.logger.error({ err: e }, 'could not record delivery failure');
    });
  }

  async lifecycle(id: string): Promise<AutoMessageLifecycle> {
    const auto = await this.autos.findById(id);
    if (!auto) throw errors.notFound('Auto message');
    return { autoMessage: present(auto), lifecycle: lifecycleOf(auto) };
  }
}

function toJob(a: ClaimedAutoMessage): AutoMessageJob {
  return {
    autoMessageId: a.id,
    senderId: a.senderId,
    receiverId: a.receiverId,
    content: a.content,
  };
}

function present(a: AutoMessage): AutoMessageLifecycle['autoMessage'] {
  return {
    ...a,
    sendDate: a.sendDate.toISOString(),
    queuedAt: a.queuedAt?.toISOString() ?? null,
    sentAt: a.sentAt?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
  };
}

function lifecycleOf(a: AutoMessage): AutoMessageLifecycle['lifecycle'] {
  const state = a.isSent ? 'delivered' : a.isQueued ? 'queued' : 'planned';
  return {
    state,
    planned: a.createdAt.toISOString(),
    due: a.sendDate.toISOString(),
    queued: a.queuedAt?.toISOString() ?? null,
    delivered: a.sentAt?.toISOString() ?? null,
    attempts: a.attempts,
    lastError: a.lastError,
  };
}
