import type { QueuesResult } from '../../contracts/automessages.js';
import type { QueueName, QueueSummary } from '../../contracts/queues.js';
import type { ParkedJob, Rabbit } from '../../infra/rabbit.js';

/** What the service needs of each queue: depths and its parking queue. */
export type OwnedQueue = Pick<Rabbit, 'queueStats' | 'parked' | 'requeueParked' | 'discardParked'>;

/** Operators' view of every queue Parley owns (SPEC §13): depths and parked jobs. */
export class QueuesService {
  constructor(private readonly queues: Readonly<Record<QueueName, OwnedQueue>>) {}

  async overview(): Promise<QueuesResult> {
    const [main, media] = await Promise.all([
      this.queues.message_sending_queue.queueStats(),
      this.queues.media_processing_queue.queueStats(),
    ]);
    const summary = (name: QueueName, stats: typeof main): QueueSummary => ({
      name,
      ready: stats.main.ready,
      unacknowledged: stats.main.unacknowledged,
      consumers: stats.main.consumers,
      parked: stats.dead.ready,
    });
    return {
      ...main,
      media,
      queues: [summary('message_sending_queue', main), summary('media_processing_queue', media)],
    };
  }

  parked(queue: QueueName, limit: number): Promise<ParkedJob[]> {
    return this.queues[queue].parked(limit);
  }

  requeue(queue: QueueName, ids?: readonly string[]): Promise<number> {
    return this.queues[queue].requeueParked(ids);
  }

  discard(queue: QueueName, ids?: readonly string[]): Promise<number> {
    return this.queues[queue].discardParked(ids);
  }
}
