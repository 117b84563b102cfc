import type { QueuesResult } from '../../contracts/automessages.js';
import type { QueueName, QueueSummary } from '../../contracts/queues.js';
import { errors } from '../../errors.js';
import type { ParkedJob, QueueOps } from '../../infra/rabbit.js';

/** One queue Parley owns, by its operator-facing name. */
export interface OwnedQueue {
  readonly name: QueueName;
  readonly queue: QueueOps;
}

/**
 * Operators' view of every queue Parley owns (SPEC §13): the job queues and each event
 * consumer's queue, with depths and parked jobs.
 */
export class QueuesService {
  private readonly byName: ReadonlyMap<QueueName, QueueOps>;

  /** `queues` in listing order; the first two are the auto-message and media job queues. */
  constructor(queues: readonly OwnedQueue[]) {
    this.byName = new Map(queues.map(({ name, queue }) => [name, queue]));
  }

  async overview(): Promise<QueuesResult> {
    const stats = await Promise.all(
      [...this.byName].map(async ([name, queue]) => ({ name, ...(await queue.queueStats()) })),
    );
    const [main, media] = stats;
    if (main === undefined) throw new Error('QueuesService owns no queue');
    const summary = ({ name, main, dead }: (typeof stats)[number]): QueueSummary => ({
      name,
      ready: main.ready,
      unacknowledged: main.unacknowledged,
      consumers: main.consumers,
      parked: dead.ready,
    });
    return {
      main: main.main,
      dead: main.dead,
      ...(media ? { media: { main: media.main, dead: media.dead } } : {}),
      queues: stats.map(summary),
    };
  }

  parked(queue: QueueName, limit: number): Promise<ParkedJob[]> {
    return this.queue(queue).parked(limit);
  }

  requeue(queue: QueueName, ids?: readonly string[]): Promise<number> {
    return this.queue(queue).requeueParked(ids);
  }

  discard(queue: QueueName, ids?: readonly string[]): Promise<number> {
    return this.queue(queue).discardParked(ids);
  }

  private queue(name: QueueName): QueueOps {
    const queue = this.byName.get(name);
    if (queue === undefined)
      throw errors.validation([{ in: 'params', path: 'queue', message: `no queue ${name}` }]);
    return queue;
  }
}
